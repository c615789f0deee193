#!/usr/bin/env python3
"""Seed fuzz/corpus/<target>/ from real captures (run once; the result is committed).

    fuzz/make-seeds.py [PCAP ...]     (default: tests/pcaps/*.pcap, tests/crafted/*.pcap
                                       and a few ../shared/conformance captures)

For each capture (classic pcap; Ethernet, Linux SLL, raw IP) it writes, named by
the SHA-1 of their content as libFuzzer names corpus files:
  decode/    single frames and the first frames of each file (link byte + frames)
  ssh_stream/ each TCP connection's two byte streams, marker-separated, first 24 KiB
  kexinit/   every KEXINIT payload found in those streams
  hostkey/   every host key blob of a KEX reply (msg 31 / 33), and the blobs of
             tests/unit/data/hostkeys/*.pub
  pipeline/  the first 40 records of the capture as a pcap body, and as frames
Input formats: see the comment at the top of each fuzz/fuzz_<target>.c.
"""
import base64
import glob
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LINKS = [1, 1, 1, 1, 101, 101, 12, 14, 0, 108, 113, 276, 228, 229, 1, 65000]  # fuzz.h
MARKER = b"\xffKWDIR"
MAX_FILE = 200 * 1024


def link_selector(link):
    return LINKS.index(link) if link in LINKS else None


def read_pcap(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    off, recs = 24, []
    while off + 16 <= len(data):
        sec, frac, cap, wire = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + cap]
        if len(frame) < cap:
            break
        recs.append((sec, frac // 1000 if nsec else frac, wire, frame))
        off += 16 + cap
    return link, recs


def ip_of(link, f):
    """(ip bytes) of a frame, or None."""
    if link == 1:
        off, et = 12, None
        while off + 2 <= len(f):
            et = struct.unpack(">H", f[off:off + 2])[0]
            if et in (0x8100, 0x88A8):
                off += 4
                continue
            break
        return f[off + 2:] if et in (0x0800, 0x86DD) else None
    if link == 113:
        return f[16:]
    if link == 276:
        return f[20:]
    if link in (101, 12, 14, 228, 229):
        return f
    if link in (0, 108):
        return f[4:]
    return None


def tcp_of(ip):
    """(key, seq, flags, payload) or None."""
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        if ip[9] != 6 or struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return None
        src, dst, t = ip[12:16], ip[16:20], ip[ihl:tot]
    elif v == 6 and len(ip) >= 40:
        if ip[6] != 6:
            return None
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst, t = ip[8:24], ip[24:40], ip[40:40 + plen]
    else:
        return None
    if len(t) < 20:
        return None
    sp, dp, seq = struct.unpack(">HHI", t[:8])
    doff = (t[12] >> 4) * 4
    return (src, sp, dst, dp), seq, t[13], t[doff:]


def streams(link, recs):
    """{conn: [dir0 bytes, dir1 bytes]} by simple in-order reassembly."""
    segs = {}
    first = {}
    for _, _, _, f in recs:
        r = tcp_of(ip_of(link, f))
        if r is None:
            continue
        key, seq, flags, pay = r
        rkey = (key[2], key[3], key[0], key[1])
        conn = key if key in first or rkey not in first else rkey
        if conn not in first:
            first[conn] = key if not (flags & 0x12 == 0x12) else rkey
        d = 0 if key == first[conn] else 1
        segs.setdefault(conn, ([], []))[d].append((seq, flags, pay))
    out = {}
    for conn, dirs in segs.items():
        res = []
        for lst in dirs:
            isn = None
            for seq, flags, _ in lst:
                if flags & 0x02:
                    isn = (seq + 1) & 0xFFFFFFFF
            if isn is None and lst:
                isn = min(s for s, _, p in lst) if lst else 0
            buf, nxt = bytearray(), isn
            for seq, _, pay in sorted((s, f, p) for s, f, p in lst if p):
                rel = (seq - nxt) & 0xFFFFFFFF
                if rel >= 0x80000000:  # old bytes
                    skip = (nxt - seq) & 0xFFFFFFFF
                    if skip < len(pay):
                        buf += pay[skip:]
                        nxt = (nxt + len(pay) - skip) & 0xFFFFFFFF
                elif rel == 0:
                    buf += pay
                    nxt = (nxt + len(pay)) & 0xFFFFFFFF
                if len(buf) > 24 * 1024:
                    break
            res.append(bytes(buf[:24 * 1024]))
        out[conn] = res
    return out


def ssh_packets(stream):
    """Clear-text payloads after the identification line, up to NEWKEYS."""
    i = stream.find(b"SSH-")
    if i < 0:
        return
    nl = stream.find(b"\n", i)
    if nl < 0:
        return
    off = nl + 1
    while off + 5 <= len(stream):
        plen = struct.unpack(">I", stream[off:off + 4])[0]
        if plen < 5 or plen > 256 * 1024 or off + 4 + plen > len(stream):
            return
        pad = stream[off + 4]
        payload = stream[off + 5:off + 4 + plen - pad]
        yield payload
        if payload[:1] == b"\x15":
            return
        off += 4 + plen


def hostkey_of(payload):
    if payload[:1] not in (b"\x1f", b"\x21") or len(payload) < 5:
        return None
    n = struct.unpack(">I", payload[1:5])[0]
    blob = payload[5:5 + n]
    return blob if len(blob) == n and n > 8 else None


def save(target, data, stats):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if len(data) > MAX_FILE:
        return
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(d, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        stats[target] = stats.get(target, 0) + 1


def frames_blob(frames):
    return b"".join(struct.pack(">H", min(len(f), 65535)) + f[:65535] for f in frames)


def seed_capture(path, stats):
    link, recs = read_pcap(path)
    sel = link_selector(link) if link is not None else None
    if sel is None or not recs:
        return
    # decode: a few single frames (first ones of each connection) and a run of frames
    for _, _, _, f in recs[:6]:
        save("decode", bytes([sel]) + frames_blob([f]), stats)
    save("decode", bytes([sel]) + frames_blob([f for _, _, _, f in recs[:24]]), stats)
    # pipeline: pcap body of the first 40 records, and the frames form
    body = b"".join(struct.pack("<IIII", s, u, len(f), w) + f for s, u, w, f in recs[:40])
    save("pipeline", bytes([sel]) + body, stats)
    save("pipeline", bytes([sel | 0x40]) + body, stats)
    save("pipeline", bytes([sel | 0x80]) + frames_blob([f for _, _, _, f in recs[:40]]), stats)
    for conn, (a, b) in list(streams(link, recs).items())[:4]:
        if not (a or b):
            continue
        save("ssh_stream", bytes([0x04, 0x00]) + a + MARKER + b, stats)
        save("ssh_stream", bytes([0x00, 0x01]) + a[:3000] + MARKER + b[:3000], stats)
        for s in (a, b):
            for p in ssh_packets(s):
                if p[:1] == b"\x14":
                    save("kexinit", p, stats)
                hk = hostkey_of(p)
                if hk:
                    save("hostkey", hk, stats)


def main(argv):
    paths = argv[1:]
    if not paths:
        paths = sorted(glob.glob(os.path.join(ROOT, "tests/pcaps/*.pcap")))
        paths += sorted(glob.glob(os.path.join(ROOT, "tests/crafted/*.pcap")))
        shared = os.path.join(ROOT, "..", "shared", "conformance")
        for rel in ["tcpdump/tests/ssh.pcap", "suricata-verify/tests/ssh-hassh/input.pcap",
                    "suricata-verify/tests/vxlan-decoder-03/vxlan.pcap",
                    "suricata-verify/tests/bug-4663-03/icmp_and_ssh.pcap",
                    "suricata-verify/tests/bug-5633-gre-02/gre-sample.pcap",
                    "zeek/testing/btest/Traces/ssh/ssh_version_199.pcap",
                    "zeek/testing/btest/Traces/ssh/ssh1-ssh2-fingerprints.pcap",
                    "zeek/testing/btest/Traces/ssh/ssh_kex_dh_group18.pcap",
                    "zeek/testing/btest/Traces/tcp/ssh-dups.pcap"]:
            p = os.path.join(shared, rel)
            if os.path.exists(p):
                paths.append(p)
    stats = {}
    for p in paths:
        try:
            seed_capture(p, stats)
        except Exception as err:  # a capture this reader does not follow
            print("make-seeds: %s: %s" % (p, err), file=sys.stderr)
    for pub in glob.glob(os.path.join(ROOT, "tests/unit/data/hostkeys/*.pub")):
        parts = open(pub).read().split()
        if len(parts) >= 2:
            save("hostkey", base64.b64decode(parts[1]), stats)
    for t in ("decode", "ssh_stream", "kexinit", "hostkey", "pipeline"):
        os.makedirs(os.path.join(HERE, "corpus", t), exist_ok=True)
        print("make-seeds: %s: %d new" % (t, stats.get(t, 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

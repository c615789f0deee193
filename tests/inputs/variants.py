#!/usr/bin/env python3
"""ctest inputs.variants: the same real capture in every form kexwatch reads
gives the same records.

Takes an Ethernet capture of real logins (tests/pcaps), rewrites it into each
link type kexwatch decodes (raw IP, BSD loopback in both byte orders, Linux
cooked v1 and v2, 802.1Q, QinQ), into pcapng (editcap), big-endian and
nanosecond pcap, odd file headers, frames that straddle the read-ahead
blocks, gzip, standard input, read through a BPF filter, and two rotated
files cut in the middle of a connection; runs kexwatch on
each and requires the records to equal the original's, field by field, except
`pcap_filename` (which names the input) and `vlan` (which must then name the
tags). Exit 1 on any difference.
"""
import argparse
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

LINK_ETHERNET, LINK_NULL, LINK_RAW, LINK_LOOP, LINK_SLL, LINK_SLL2 = 1, 0, 101, 108, 113, 276


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append((sec, usec, data[off + 16:off + 16 + caplen], wirelen))
        off += 16 + caplen
    return link, frames


def write_pcap(path, link, frames, opener=open, endian="<", nsec=False, snaplen=262144,
               minor=4):
    with opener(path, "wb") as f:
        magic = 0xa1b23c4d if nsec else 0xa1b2c3d4
        f.write(struct.pack(endian + "IHHiIII", magic, 2, minor, 0, 0, snaplen, link))
        for sec, usec, body, wirelen in frames:
            # nanoseconds: a sub-microsecond remainder that must be dropped
            frac = usec * 1000 + 999 if nsec else usec
            f.write(struct.pack(endian + "IIII", sec, frac, len(body), wirelen))
            f.write(body)


def ip_of(frame):
    """The IP packet inside an Ethernet frame, and its ethertype."""
    return frame[14:], struct.unpack(">H", frame[12:14])[0]


def relink(frames, make):
    out = []
    for sec, usec, body, wirelen in frames:
        ip, etype = ip_of(body)
        new = make(ip, etype, body)
        out.append((sec, usec, new, wirelen - len(body) + len(new)))
    return out


def variants(frames):
    v6 = lambda et: et == 0x86DD
    return {
        "raw": (LINK_RAW, relink(frames, lambda ip, et, b: ip), None),
        "null-le": (LINK_NULL, relink(frames, lambda ip, et, b:
                                      struct.pack("<I", 30 if v6(et) else 2) + ip), None),
        "loop-be": (LINK_LOOP, relink(frames, lambda ip, et, b:
                                      struct.pack(">I", 24 if v6(et) else 2) + ip), None),
        "sll": (LINK_SLL, relink(frames, lambda ip, et, b:
                                 struct.pack(">HHH8sH", 0, 1, 6, b[6:12] + b"\0\0", et) + ip), None),
        "sll2": (LINK_SLL2, relink(frames, lambda ip, et, b:
                                   struct.pack(">HHIHBB8s", et, 0, 2, 1, 0, 6, b[6:12] + b"\0\0")
                                   + ip), None),
        "vlan": (LINK_ETHERNET, relink(frames, lambda ip, et, b:
                                       b[:12] + struct.pack(">HHH", 0x8100, 100, et) + ip), [100]),
        "qinq": (LINK_ETHERNET, relink(frames, lambda ip, et, b:
                                       b[:12] + struct.pack(">HHHHH", 0x88A8, 200, 0x8100, 100, et)
                                       + ip), [200, 100]),
    }


def run(kexwatch, args, stdin=None):
    p = subprocess.run([kexwatch, "-q", "--format", "json"] + args, input=stdin,
                       capture_output=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("kexwatch %s exited %d: %s" % (args, p.returncode, p.stderr.decode()))
    return [json.loads(line) for line in p.stdout.decode().splitlines()]


def normal(records, vlan):
    out = []
    for r in records:
        r = dict(r)
        r.pop("pcap_filename", None)
        got = r.pop("vlan", None)
        if got != vlan:
            raise ValueError("vlan %s, expected %s" % (got, vlan))
        out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("pcaps", nargs="+")
    args = ap.parse_args()
    failures = checks = 0
    tmp = tempfile.mkdtemp(prefix="kw-variants-")
    try:
        for pcap in args.pcaps:
            link, frames = read_pcap(pcap)
            if link != LINK_ETHERNET:
                print("skip %s: link type %d" % (pcap, link))
                continue
            want = normal(run(args.kexwatch, ["-r", pcap]), None)
            if not want:
                print("FAIL %s: no records from the original" % pcap)
                failures += 1
                continue
            cases = {}
            for name, (vlink, vframes, vlan) in variants(frames).items():
                path = os.path.join(tmp, name + ".pcap")
                write_pcap(path, vlink, vframes)
                cases[name] = (["-r", path], None, vlan)
            for name, endian, nsec in (("big-endian", ">", False), ("nanoseconds", "<", True),
                                       ("big-endian-nanoseconds", ">", True)):
                path = os.path.join(tmp, name + ".pcap")
                write_pcap(path, LINK_ETHERNET, frames, endian=endian, nsec=nsec)
                cases[name] = (["-r", path], None, None)
            # header forms kexwatch reads itself (snap length 0 means the
            # maximum) or leaves to libpcap (version 2.3, FCS bits in the link
            # type), and frames of 200,000 bytes that straddle the 4 MiB
            # windows of a mapped file and, gzipped, the 1 MiB read-ahead
            # blocks (all zeros: no IP, so no record of their own)
            odd = {"snaplen-0": dict(snaplen=0), "version-2.3": dict(minor=3)}
            for name, kw in odd.items():
                path = os.path.join(tmp, name + ".pcap")
                write_pcap(path, LINK_ETHERNET, frames, **kw)
                cases[name] = (["-r", path], None, None)
            path = os.path.join(tmp, "fcs-bits.pcap")
            write_pcap(path, LINK_ETHERNET | 0x10000000, frames)
            cases["fcs-bits"] = (["-r", path], None, None)
            path = os.path.join(tmp, "straddle.pcap")
            junk = [(frames[0][0], 0, bytes(200000), 200000)] * 48
            write_pcap(path, LINK_ETHERNET, junk + frames)
            cases["straddle"] = (["-r", path], None, None)
            path = os.path.join(tmp, "straddle.pcap.gz")
            write_pcap(path, LINK_ETHERNET, junk + frames, opener=gzip.open)
            cases["straddle-gzip"] = (["-r", path], None, None)
            # a BPF filter that keeps every frame of these captures
            cases["filter"] = (["-r", pcap, "-f", "tcp or icmp or icmp6"], None, None)
            gz = os.path.join(tmp, "orig.pcap.gz")
            write_pcap(gz, LINK_ETHERNET, frames, opener=gzip.open)
            cases["gzip"] = (["-r", gz], None, None)
            with open(pcap, "rb") as f:
                cases["stdin"] = (["-r", "-"], f.read(), None)
            cases["stdin-gzip"] = (["-r", "-"], open(gz, "rb").read(), None)
            if shutil.which("editcap"):
                ng = os.path.join(tmp, "orig.pcapng")
                subprocess.run(["editcap", "-F", "pcapng", pcap, ng], check=True)
                cases["pcapng"] = (["-r", ng], None, None)
            half = len(frames) // 2
            a, b = os.path.join(tmp, "part1.pcap"), os.path.join(tmp, "part2.pcap")
            write_pcap(a, LINK_ETHERNET, frames[:half])
            write_pcap(b, LINK_ETHERNET, frames[half:])
            cases["rotated"] = (["-r", a, "-r", b], None, None)
            for name, (kargs, stdin, vlan) in cases.items():
                checks += 1
                try:
                    got = normal(run(args.kexwatch, kargs, stdin), vlan)
                    ok = got == want
                    why = "" if ok else "records differ"
                except (RuntimeError, ValueError) as e:
                    ok, why = False, str(e)
                if not ok:
                    failures += 1
                    print("FAIL %s as %s: %s" % (os.path.basename(pcap), name, why))
            print("%s: %d forms checked against %d records" % (os.path.basename(pcap), len(cases),
                                                               len(want)))
    finally:
        shutil.rmtree(tmp)
    print("%d passed, %d failed" % (checks - failures, failures))
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

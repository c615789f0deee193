#!/usr/bin/env python3
"""Assert the one fact each crafted capture exists for (tests/crafted/, kw-craft.c).

    check_crafted.py --kexwatch BIN --crafted tests/crafted --case NAME

Runs kexwatch on tests/crafted/NAME.pcap (or .pcap.gz) as the golden tests do and
checks, independently of the expected records, what the scenario is about: the
golden comparison says "nothing changed", this says "what must be true". Every
case also requires a clean exit, valid JSON lines and no sanitizer report.
Exit 0 pass, 1 fail, 2 usage.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys

from checks import check, finish

BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
# kw-craft.c kex_client: the HASSH string is kex;enc c2s;mac c2s;comp c2s.
CLIENT_HASSH_STR = ("curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com;"
                    "chacha20-poly1305@openssh.com,aes128-ctr;hmac-sha2-256-etm@openssh.com;none")
CLIENT_HASSH = hashlib.md5(CLIENT_HASSH_STR.encode()).hexdigest()
# kw-craft.c kex_tail: ed25519 host key, public key bytes 0xa0..0xbf.
_blob = (b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(0xa0, 0xc0)))
HOSTKEY_FP = "SHA256:" + base64.b64encode(hashlib.sha256(_blob).digest()).decode().rstrip("=")


def anomalies(rec):
    return rec["ssh"].get("anomalies", [])


def run(kexwatch, crafted, case):
    for ext in (".pcap", ".pcap.gz"):
        if os.path.exists(os.path.join(crafted, case + ext)):
            capture = case + ext
            break
    else:
        print("FAIL no capture for %s in %s" % (case, crafted))
        sys.exit(1)
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    p = subprocess.run([os.path.abspath(kexwatch), "-r", capture, "--format", "json", "--record", "full"],
                       cwd=crafted, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=240)
    err = p.stderr.decode("utf-8", "replace")
    sys.stderr.write(err)
    check(p.returncode == 0, "kexwatch exits 0 (got %d)" % p.returncode)
    check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report")
    recs = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    return sorted(recs, key=lambda r: r["src_port"]), err


def case_ooo_overlap_conflict(recs, _):
    check(len(recs) == 1, "one connection")
    srv = recs[0]["ssh"]["server"]
    # The first bytes to arrive for each sequence number are kept: neither the
    # later overlapping "EVIL" bytes nor the full conflicting retransmission.
    check(srv.get("banner") == BANNER,
          "server banner keeps the first bytes received: %r" % srv.get("banner"))
    # The server's KEXINIT meets the same rule: a flipped copy of part of it was
    # queued ahead first, so the flipped bytes are kept, and the conflict is an
    # anomaly (the old, wholly retransmitted flipped copy is ignored).
    check("tcp.overlap_conflict" in recs[0]["ssh"]["anomalies"],
          "conflicting overlaps flagged: %r" % recs[0]["ssh"]["anomalies"])
    check(recs[0]["ssh"]["tcp"].get("overlaps", 0) >= 2,
          "overlaps counted: %r" % recs[0]["ssh"]["tcp"].get("overlaps"))
    check(recs[0]["ssh"]["tcp"].get("retransmits_s2c", 0) >= 1,
          "the old conflicting copy counted as a retransmission")
    check(recs[0]["ssh"]["tcp"].get("out_of_order", 0) >= 1, "out-of-order segments counted")


def case_one_byte_segments(recs, _):
    check(len(recs) == 1, "one connection")
    s = recs[0]["ssh"]
    check(s["client"]["hassh"]["hash"] == CLIENT_HASSH, "client HASSH from one-byte segments")
    check(s["outcome"] == "established", "handshake established (%s)" % s["outcome"])
    check(s.get("host_key", {}).get("fingerprint") == HOSTKEY_FP,
          "host key fingerprint %s" % HOSTKEY_FP)
    check(s["tcp"]["max_segment_c2s"] == 1 and s["tcp"]["max_segment_s2c"] == 1,
          "every segment carried one byte")


def case_kexinit_split_every_offset(recs, _):
    check(len(recs) >= 300, "one connection per split point (%d)" % len(recs))
    hashes = {r["ssh"].get("client", {}).get("hassh", {}).get("hash") for r in recs}
    check(hashes == {CLIENT_HASSH}, "same client HASSH at every split point (%s)" % hashes)
    check(all(not anomalies(r) for r in recs), "no anomaly at any split point")


def case_ip_fragments(recs, _):
    check(len(recs) == 2, "two connections")
    rev, ovl = recs
    check(rev["ssh"]["client"].get("hassh", {}).get("hash") == CLIENT_HASSH,
          "KEXINIT reassembled from fragments in reverse order")
    check(rev["ssh"]["tcp"]["ip_fragments"] >= 5, "fragments counted")
    check("ip.fragment_overlap" not in anomalies(rev), "no overlap anomaly without overlap")
    check("ip_fragmented" in [d["code"] for d in rev["ssh"].get("diagnoses", [])],
          "ip_fragmented diagnosis")
    check("ip.fragment_overlap" in anomalies(ovl), "overlapping fragments flagged")


def case_packet_length_extremes(recs, _):
    check(len(recs) == 2, "two connections")
    check("server.packet_length" in anomalies(recs[0]),
          "packet_length 0 from the server: server.packet_length")
    check("client.packet_length" in anomalies(recs[1]),
          "packet_length 0xffffffff from the client: client.packet_length")
    check(all(r["ssh"]["outcome"] == "failed" for r in recs), "both reported failed")


def case_namelist_10000_names(recs, _):
    check(len(recs) == 1, "one connection")
    s = recs[0]["ssh"]
    kex = s["client"].get("kexinit", {}).get("kex_algorithms", [])
    # Parsed whole (the negotiation and HASSH see all 10,000), written cut to
    # 2048 bytes of whole names with the true length beside (record.md).
    true_len = len(",".join("k%d" % i for i in range(10000)))
    check(0 < len(kex) < 10000 and kex[0] == "k0" and len(",".join(kex)) <= 2048 and
          kex == ["k%d" % i for i in range(len(kex))],
          "the record keeps the first whole names within 2048 bytes (%d)" % len(kex))
    check(s["client"]["kexinit"].get("truncated", {}).get("kex_algorithms") == true_len,
          "kexinit.truncated gives the list's true length %d" % true_len)
    check(s.get("negotiated", {}).get("kex") == "k9999", "negotiated the one common name")
    check(not anomalies(recs[0]), "under namelist_max: no anomaly")


def case_namelist_100k(recs, _):
    check(len(recs) == 1, "one connection")
    check("client.namelist_too_long" in anomalies(recs[0]),
          "a 100 KB name-list is over namelist_max: client.namelist_too_long")
    # Our limit dropped the client's KEXINIT: what followed is unknown, not failed.
    s = recs[0]["ssh"]
    check(s["outcome"] == "incomplete" and
          [d["code"] for d in s.get("diagnoses", [])] == ["analysis_limited"],
          "outcome incomplete with analysis_limited only: %s %r"
          % (s["outcome"], [d["code"] for d in s.get("diagnoses", [])]))


def case_namelist_1mb(recs, _):
    check(len(recs) == 1, "one connection")
    check("client.packet_length" in anomalies(recs[0]),
          "a 1 MB name-list's packet is over max_packet: client.packet_length")


def case_banner_100k_no_newline(recs, _):
    check(len(recs) == 1, "one connection")
    check("server.banner_too_long" in anomalies(recs[0]), "server.banner_too_long")
    check(len(recs[0]["ssh"].get("server", {}).get("banner", "")) <= 8192 * 4,
          "no 100 KB banner in the record")


def case_tcp_bad_options(recs, _):
    check(len(recs) == 4, "four connections, none lost to a bad option")
    for r in recs:
        check("tcp.bad_option" in anomalies(r), "port %d: tcp.bad_option" % r["src_port"])
        check(r["ssh"].get("server", {}).get("banner") == BANNER,
              "port %d: banners still read after the bad SYN" % r["src_port"])


def case_snaplen_100(recs, _):
    check(len(recs) == 1, "one connection")
    a = anomalies(recs[0])
    check("capture.snaplen" in a, "capture.snaplen")
    check("client.stream_gap" in a, "lost bytes stop the client parser: client.stream_gap")
    check(recs[0]["ssh"]["client"].get("banner") == BANNER, "banner within the snap length read")


def case_zero_length_frames(recs, err):
    check(len(recs) == 1, "one connection, the damaged frames make none")
    check(recs[0]["ssh"]["outcome"] == "established", "handshake around them established")
    check(recs[0]["ssh"]["client"]["hassh"]["hash"] == CLIENT_HASSH, "client HASSH")
    check("13 malformed frames" in err, "damaged frames counted as malformed")


def case_tunnels(recs, _):
    check(len(recs) == 2, "two connections: %d" % len(recs))
    by = {r.get("tunnel", {}).get("type"): r for r in recs}
    vx, gre = by.get("vxlan"), by.get("gre")
    check(vx is not None and gre is not None, "one VXLAN and one GRE connection: %r" % list(by))
    if vx is None or gre is None:
        return
    for r in (vx, gre):
        t = r["tunnel"]
        check(t.get("src_ip") == "192.0.2.1" and t.get("dest_ip") == "192.0.2.2",
              "tunnel endpoints from the outer header: %r" % t)
        check(t.get("vlan") == [100], "the underlay's tag is the tunnel's: %r" % t.get("vlan"))
        check(r["ssh"]["outcome"] == "established", "handshake through the tunnel")
        check(r["src_ip"].startswith("10.0.0."), "inner addresses: %r" % r["src_ip"])
    check(vx["tunnel"].get("vni") == 4242, "VXLAN VNI: %r" % vx["tunnel"])
    check(vx.get("vlan") == [7], "vlan holds only the inner frame's tag: %r" % vx.get("vlan"))
    check(gre["tunnel"].get("key") == 0x1234, "GRE key: %r" % gre["tunnel"])
    check("vlan" not in gre, "no inner frame, no vlan: %r" % gre.get("vlan"))


def case_tso_zero_length(recs, err):
    check(len(recs) == 1, "one connection")
    ssh = recs[0]["ssh"]
    check(ssh["outcome"] == "established", "KEX data in TSO frames read: established")
    check(ssh["client"]["hassh"]["hash"] == CLIENT_HASSH, "client HASSH from a TSO frame")
    check(ssh.get("host_key", {}).get("fingerprint", "").startswith("SHA256:"),
          "host key from the server's TSO frame")
    check(ssh["tcp"]["max_segment_s2c"] == ssh["tcp"]["bytes_s2c"] - len(BANNER) - 2,
          "the server's KEX data whole, from its one TSO frame")
    check("0 malformed frames; 2 TSO frames" in err, "counted as TSO frames, not malformed")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--crafted", required=True)
    ap.add_argument("--case", required=True)
    a = ap.parse_args(argv)
    fn = globals().get("case_" + a.case.replace("-", "_"))
    if fn is None:
        print("FAIL no check for crafted case %s: add one to %s" % (a.case, __file__))
        return 1
    recs, err = run(a.kexwatch, a.crafted, a.case)
    fn(recs, err)
    return finish(a.case)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

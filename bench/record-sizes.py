#!/usr/bin/env python3
"""record-sizes.py: how many bytes a record costs, per profile, beside EVE and Zeek.

usage: bench/record-sizes.py KEXWATCH CAPTURE [CAPTURE ...]
       [--zeek-traces DIR --zeek-baselines DIR]

For every established connection in the captures: the median size of its
line in --record compact (the default) and --record full, and of the EVE
`ssh` event Suricata 7 would write for it with hassh enabled, built here
from the same connection's values in EVE's layout (timestamp, flow_id,
pcap_cnt, event_type, src/dest, proto, pkt_src, community_id, host, and
ssh.client/server with proto_version, software_version, hassh hash and
string): Suricata itself is not in this machine's package index, so this
is the layout's size, not a measured Suricata run. With --zeek-*, the
median ssh.log line of Zeek's own baselines for the traces, beside
kexwatch's compact records of the same traces. Prints a Markdown table.
"""
import glob
import json
import os
import statistics
import subprocess
import sys


def records(kw, capture, profile):
    out = subprocess.run([kw, "-q", "--format", "json", "--record", profile, "-r", capture,
                          "--sensor-name", "sensor-1"], capture_output=True, check=True).stdout
    return out.decode().splitlines()


def eve_line(full):
    r = json.loads(full)
    s = r["ssh"]
    eve = {"timestamp": r["timestamp"], "flow_id": r["flow_id"], "pcap_cnt": 12,
           "event_type": "ssh", "src_ip": r["src_ip"], "src_port": r["src_port"],
           "dest_ip": r["dest_ip"], "dest_port": r["dest_port"], "proto": "TCP",
           "pkt_src": "wire/pcap", "community_id": r["community_id"], "host": r["host"],
           "ssh": {}}
    for side in ("client", "server"):
        d = s.get(side, {})
        o = {k: d[k] for k in ("proto_version", "software_version") if k in d}
        if "hassh" in d:
            o["hassh"] = d["hassh"]
        eve["ssh"][side] = o
    return json.dumps(eve, separators=(",", ":"))


def median(xs):
    return int(statistics.median(xs)) if xs else 0


def main(argv):
    args, zt, zb = [], None, None
    it = iter(argv[1:])
    for a in it:
        if a == "--zeek-traces":
            zt = next(it)
        elif a == "--zeek-baselines":
            zb = next(it)
        else:
            args.append(a)
    kw, captures = args[0], args[1:]
    comp, full, eve = [], [], []
    for cap in captures:
        c, f = records(kw, cap, "compact"), records(kw, cap, "full")
        for lc, lf in zip(c, f):
            if json.loads(lc)["ssh"].get("outcome") != "established":
                continue
            comp.append(len(lc) + 1)
            full.append(len(lf) + 1)
            eve.append(len(eve_line(lf)) + 1)
    print("| established connections | compact | full | EVE ssh event (layout) |")
    print("|---|---|---|---|")
    print("| %d | %d | %d | %d |" % (len(comp), median(comp), median(full), median(eve)))
    if zt and zb:
        zeek, ours = [], []
        for log in sorted(glob.glob(os.path.join(zb, "*", "ssh.log"))):
            zeek += [len(l) for l in open(log) if not l.startswith("#")]
        for pcap in sorted(glob.glob(os.path.join(zt, "ssh", "*.pcap"))):
            ours += [len(l) + 1 for l in records(kw, pcap, "compact")]
        print()
        print("| Zeek ssh.log lines (its baselines) | kexwatch compact, the same traces |")
        print("|---|---|")
        print("| %d lines, median %d bytes | %d records, median %d bytes |" % (
            len(zeek), median(zeek), len(ours), median(ours)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""robustness.analysis_limited: a limit reached is not a failed handshake.

    limited.py --kexwatch BIN --pcaps tests/pcaps

tests/pcaps/fail-big-hostcert.pcap holds a real OpenSSH session whose server
KEX reply carries a large host certificate (about 9 KB). Read with the
defaults it is established. Read with --limit stream_buf=8192, or with
--limit max_packet=4096 as docs/limits.md suggests for small sensors, the
parser stops at that reply: the record must say incomplete, give the
warning analysis_limited naming the limit, and no error diagnosis (before,
it said failed with closed_during_kex). Exit 0 pass, 1 fail.
"""
import argparse
import json
import os
import subprocess
import sys

from checks import check, finish


def records(kexwatch, capture, *extra):
    p = subprocess.run([kexwatch, "-q", "-r", capture, "--format", "json", "--sensor-name", "t",
                        *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    sys.stderr.write(err)
    check(p.returncode == 0, "%s: exit 0 (got %d)" % (" ".join(extra) or "defaults", p.returncode))
    check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report")
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--pcaps", required=True)
    a = ap.parse_args()
    capture = os.path.join(a.pcaps, "fail-big-hostcert.pcap")
    base = records(a.kexwatch, capture)
    check(len(base) == 1 and base[0]["ssh"]["outcome"] == "established",
          "defaults: established")
    for limit, name, anomaly, value in (
            ("stream_buf=8192", "stream_buf", "server.record_too_large", 8192),
            ("max_packet=4096", "max_packet", "server.packet_over_limit", 4096)):
        for profile in ("compact", "full"):
            recs = records(a.kexwatch, capture, "--limit", limit, "--record", profile)
            if len(recs) != 1:
                check(False, "%s: one record (got %d)" % (limit, len(recs)))
                continue
            s = recs[0]["ssh"]
            diags = s.get("diagnoses", [])
            lim = [d for d in diags if d["code"] == "analysis_limited"]
            check(s["outcome"] == "incomplete", "%s %s: outcome incomplete (got %s)"
                  % (limit, profile, s["outcome"]))
            check(len(lim) == 1 and lim[0]["severity"] == "warning" and
                  lim[0]["evidence"].get("limit") == name and
                  lim[0]["evidence"].get("value") == value and
                  lim[0]["evidence"].get("side") == "server",
                  "%s %s: analysis_limited names %s=%d on the server's side"
                  % (limit, profile, name, value))
            errors = [d["code"] for d in diags if d["severity"] == "error"]
            check(not errors, "%s %s: no error diagnosis (got %s)" % (limit, profile, errors))
            check(anomaly in s.get("anomalies", []), "%s %s: anomaly %s" % (limit, profile, anomaly))
            if profile == "full":
                check(bool(lim) and "limit" in lim[0].get("summary", "") and lim[0].get("hint"),
                      "%s full: summary and hint" % limit)
    return finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""robustness.eviction: a full flow table gives one record per connection.

    eviction.py --kexwatch BIN --craft KW_CRAFT

kw-craft concurrent opens 2,000 connections at once, sends their banners and
three rounds of ACKs round-robin, then closes them all; kexwatch reads it with
--limit max_flows=1024, so about a thousand connections are evicted while
they keep sending. Asserts (docs/limits.md, max_flows; DESIGN.md section 5):
exactly one record per connection, evicted ones with ssh.close.kind
"evicted" and a close object, as many of them as the summary's evictions,
and the later packets of evicted connections counted in the summary, not
recorded. Exit 0 pass, 1 fail, 77 skip (no kw-craft).
"""
import argparse
import json
import os
import re
import subprocess
import sys

from checks import check, finish

NCONN = 2000
ROUNDS = 3
MAX_FLOWS = 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--craft", required=True)
    a = ap.parse_args()
    if not os.access(a.craft, os.X_OK):
        print("SKIP: %s not built (libnet missing)" % a.craft)
        return 77
    cap = subprocess.run([a.craft, "concurrent", "-", str(NCONN), str(ROUNDS)],
                         stdout=subprocess.PIPE, check=True, timeout=120).stdout
    p = subprocess.run([a.kexwatch, "-r", "-", "--format", "json", "--sensor-name", "t",
                        "--limit", "max_flows=%d" % MAX_FLOWS],
                       input=cap, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    err = p.stderr.decode("utf-8", "replace")
    sys.stderr.write(err)
    check(p.returncode == 0, "kexwatch exits 0 (got %d)" % p.returncode)
    check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report")
    lines = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    recs = [r for r in lines if r.get("event_type") == "ssh"]
    check(len(recs) == NCONN, "%d records for %d connections" % (len(recs), NCONN))
    keys = {(r["src_ip"], r["src_port"]) for r in recs}
    check(len(keys) == len(recs), "no connection has two records (%d distinct)" % len(keys))
    evicted = [r for r in recs if "flow.evicted" in r["ssh"].get("anomalies", [])]
    check(len(evicted) > 0, "%d records of evicted connections" % len(evicted))
    check(all(r["ssh"].get("close", {}).get("kind") == "evicted" for r in evicted),
          "every evicted record has close.kind evicted")
    check(all(r["ssh"]["close"].get("initiator") == "none" for r in evicted),
          "an evicted close has no initiator")
    fin = [r for r in recs if r["ssh"].get("close", {}).get("kind") == "fin"]
    check(len(fin) + len(evicted) == NCONN,
          "the others closed with FIN (%d fin + %d evicted)" % (len(fin), len(evicted)))
    summary = [l for l in err.splitlines() if l.startswith("kexwatch: ")]
    check(len(summary) == 1 and (" %d evicted" % len(evicted)) in summary[-1],
          "the summary counts %d evictions" % len(evicted))
    # Each evicted connection still sends its client banner or ACKs and its FIN exchange.
    m = re.search(r"(\d+) evicted \((\d+) later packets counted\)", summary[-1] if summary else "")
    later = int(m.group(2)) if m else -1
    check(later >= len(evicted) * (ROUNDS + 3),
          "the summary counts %d later packets of evicted connections" % later)
    return finish()


if __name__ == "__main__":
    sys.exit(main())

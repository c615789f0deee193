#!/usr/bin/env python3
"""Judge kexwatch's ssh.auth inference against what the clients said
(tests/pcaps/auth-*.pcap and their truth files, made by tests/pcaps/make-auth.sh),
and the auth_guessing diagnosis on the guessing bursts.

    python3 tests/auth/check.py --kexwatch build/kexwatch --pcaps tests/pcaps [--markdown]

For every connection of every auth-* capture, prints one row: case, connection,
method, confidence, inferred (result/failures), truth (result/failures), and
whether they agree. Then the accuracy per method and confidence.

Asserted (exit status 1 otherwise):
  - every connection whose inference claims high confidence is right: result and
    number of failed attempts both equal the client's account of them;
  - high confidence only ever comes with method packet_lengths;
  - each auth-burst-* capture (15 failed attempts within seconds from one address)
    carries auth_guessing on the connection that reaches the threshold (10) and on
    every later one, with attempts, window_s and connections in its evidence, and
    no connection of any other auth-* capture carries it;
  - every auth-* capture has a truth file, and every truth connection a record.
Exit 2 on bad usage.
"""

import argparse
import glob
import json
import os
import subprocess
import sys


def load_truth(path):
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    return t["connections"] if isinstance(t, dict) and "connections" in t else [t]


def run(kexwatch, pcap):
    out = subprocess.run([kexwatch, "-q", "--format", "json", "-r", pcap],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError("%s: kexwatch exit %d: %s" % (pcap, out.returncode, out.stderr))
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def match(truths, recs):
    """Pair truth connections with records by client port when known, else in order."""
    recs = sorted(recs, key=lambda r: r.get("timestamp", ""))
    pairs = []
    for i, t in enumerate(truths):
        pairs.append((t, recs[i] if i < len(recs) else None))
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--pcaps", required=True)
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()

    pcaps = sorted(glob.glob(os.path.join(args.pcaps, "auth-*.pcap")))
    if not pcaps:
        print("FAIL: no auth-*.pcap in %s" % args.pcaps)
        return 1
    rows, problems = [], []
    for pcap in pcaps:
        case = os.path.basename(pcap)[:-len(".pcap")]
        tpath = os.path.join(args.pcaps, case + ".truth.json")
        if not os.path.exists(tpath):
            problems.append("%s: no truth file" % case)
            continue
        truths = load_truth(tpath)
        recs = run(args.kexwatch, pcap)
        if len(recs) != len(truths):
            problems.append("%s: %d records for %d connections" % (case, len(recs), len(truths)))
        burst = case.startswith("auth-burst-")
        guessing_seen = 0
        for k, (t, r) in enumerate(match(truths, recs)):
            if r is None:
                problems.append("%s #%d: no record" % (case, k + 1))
                continue
            a = r.get("ssh", {}).get("auth") or {}
            inferred = (a.get("result"), a.get("failures"))
            truth = (t.get("auth_result"), t.get("auth_failures"))
            ok = inferred == truth
            rows.append({"case": case, "conn": k + 1, "method": a.get("method"),
                         "confidence": a.get("confidence"), "inferred": inferred,
                         "truth": truth, "ok": ok, "caveats": a.get("caveats", [])})
            if a.get("confidence") == "high" and not ok:
                problems.append("%s #%d: high confidence but inferred %s/%s, truth %s/%s"
                                % (case, k + 1, inferred[0], inferred[1], truth[0], truth[1]))
            if a.get("confidence") == "high" and a.get("method") != "packet_lengths":
                problems.append("%s #%d: high confidence from %s" % (case, k + 1, a.get("method")))
            diags = [d for d in r["ssh"].get("diagnoses", []) if d.get("code") == "auth_guessing"]
            if diags:
                guessing_seen += 1
                ev = diags[0].get("evidence", {})
                for key in ("attempts", "window_s", "connections"):
                    if key not in ev:
                        problems.append("%s #%d: auth_guessing without %s" % (case, k + 1, key))
                if not burst:
                    problems.append("%s #%d: auth_guessing outside a burst" % (case, k + 1))
        if burst:
            # 3 failed attempts per connection: the 4th connection reaches 10.
            want = max(0, len(truths) - 3)
            if guessing_seen < want:
                problems.append("%s: auth_guessing on %d connections, expected at least %d"
                                % (case, guessing_seen, want))

    w = "| {:<26} | {:>2} | {:<14} | {:<10} | {:<13} | {:<13} | {:<5} |"
    if args.markdown:
        print(w.format("case", "#", "method", "confidence", "inferred", "truth", "right"))
        print("|" + "|".join("-" * n for n in (28, 4, 16, 12, 15, 15, 7)) + "|")
    else:
        print("%-26s %2s  %-14s %-10s %-13s %-13s %s" % ("case", "#", "method", "confidence",
                                                          "inferred", "truth", "right"))
    for x in rows:
        cells = (x["case"], x["conn"], x["method"] or "-", x["confidence"] or "-",
                 "%s/%s" % x["inferred"], "%s/%s" % x["truth"], "yes" if x["ok"] else "NO")
        if args.markdown:
            print(w.format(*cells))
        else:
            print("%-26s %2s  %-14s %-10s %-13s %-13s %s" % cells)
    print()
    print("accuracy (result and failed attempts both right):")
    for method in ("packet_lengths", "segment_sizes"):
        for conf in ("high", "medium", "low"):
            sel = [x for x in rows if x["method"] == method and x["confidence"] == conf]
            if sel:
                right = sum(1 for x in sel if x["ok"])
                res = sum(1 for x in sel if x["inferred"][0] == x["truth"][0])
                print("  %-14s %-6s %3d/%-3d right, result alone %d/%d"
                      % (method, conf, right, len(sel), res, len(sel)))
    right = sum(1 for x in rows if x["ok"])
    print("  all                   %3d/%-3d right" % (right, len(rows)))
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("PASS: every high-confidence inference is right; auth_guessing on the bursts")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""ctest golden.evidence_files: --evidence-pcap with -r.

Reads every golden failure capture (tests/pcaps/fail-*.pcap) in one run
with --evidence-pcap, then reads the evidence file
back: it must hold exactly the connections whose records carry an error
diagnosis, and give the same failing records (addresses, ports, outcome,
phase, diagnosis codes). tcpdump must read it too, it must be much smaller
than the inputs, and with filters (--only established --port 2022) the
evidence holds the selected connections instead. Standard input works as
an input (its link type is read before the evidence file is opened).

Usage: from_files.py KEXWATCH PCAP_DIR WORK_DIR
"""
import glob
import json
import os
import shutil
import subprocess
import sys

kw, pcaps, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def run(args, stdin=None):
    p = subprocess.run([kw, "-q", "--sensor-name", "golden", "--format", "json"] + args,
                       capture_output=True, timeout=300, stdin=stdin)
    if p.returncode != 0:
        fail(f"{args}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]


def key(r):
    return (r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"], r["ssh"]["outcome"],
            r["ssh"].get("phase"),
            tuple(d["code"] for d in r["ssh"].get("diagnoses", []) if d["severity"] == "error"))


def has_error(r):
    return any(d["severity"] == "error" for d in r["ssh"].get("diagnoses", []))


# The cap-* captures are cut from one demo run and share its connections;
# read together as one link they would continue each other.
inputs = sorted(glob.glob(f"{pcaps}/fail-*.pcap"))
if len(inputs) < 20:
    fail(f"only {len(inputs)} captures")
ev = os.path.join(work, "evidence.pcapng")
for f in glob.glob(ev + "*"):
    os.unlink(f)
args = []
for i in inputs:
    args += ["-r", i]
orig = run(args + ["--evidence-pcap", ev])
want = sorted(key(r) for r in orig if has_error(r))
if not os.path.exists(ev):
    fail("no evidence file written")
back = run(["-r", ev])
got = sorted(key(r) for r in back)
if got != want:
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    fail(f"evidence gives {len(got)} records, want {len(want)}\n missing {missing}\n extra {extra}")
checks = 1
size_in = sum(os.path.getsize(i) for i in inputs)
if not 0 < os.path.getsize(ev) < size_in:
    fail(f"evidence {os.path.getsize(ev)} bytes for {size_in} bytes of input")
checks += 1
if shutil.which("tcpdump"):
    p = subprocess.run(["tcpdump", "-nn", "-r", ev], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or len(p.stdout.splitlines()) < len(want) * 2:
        fail(f"tcpdump: exit {p.returncode}, {len(p.stdout.splitlines())} lines: {p.stderr}")
    checks += 1

# With filters, the selected connections are kept, errors or not.
demo = f"{pcaps}/demo.pcap"
os.unlink(ev)
orig = run(["-r", demo, "--only", "established", "--port", "2022", "--evidence-pcap", ev])
back = run(["-r", ev])
if len(orig) != 1 or [key(r) for r in back] != [key(r) for r in orig]:
    fail(f"filtered evidence: {len(orig)} selected, {len(back)} read back")
checks += 1

# Standard input as the input.
os.unlink(ev)
with open(demo, "rb") as f:
    orig = run(["-r", "-", "--evidence-pcap", ev], stdin=f)
back = run(["-r", ev])
if sorted(key(r) for r in back) != sorted(key(r) for r in orig if has_error(r)) or not back:
    fail("evidence from standard input")
checks += 1
print(f"golden.evidence_files: {checks} checks passed ({len(want)} failing connections)")

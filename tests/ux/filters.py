#!/usr/bin/env python3
"""ctest ux.filters: --only, --diagnosis, --severity, --host and --port.

Reads a set of golden captures once without filters, then with each filter
(and a combination), and checks that the filtered records are exactly the
unfiltered records the filter's documented meaning selects, computed here
from the JSON independently of kexwatch; that the end-of-run summary on
standard error (the statistics) is the same with and without filters; that
the text table's summary counts only the selected connections; and that a
bad filter value is a usage error (exit 2, one line and the hint).

Usage: filters.py KEXWATCH PCAP_DIR
"""
import ipaddress
import json
import subprocess
import sys

kw, pcaps = sys.argv[1], sys.argv[2]
CAPTURES = ["demo", "fail-maxstartups", "fail-ip-fragments-client", "fail-drop",
            "fail-nocommon-hostkey", "fail-logingrace", "dbclient-to-openssh-v4"]
args = []
for c in CAPTURES:
    args += ["-r", f"{pcaps}/{c}.pcap"]


def run(extra, fmt="json"):
    p = subprocess.run([kw, "--sensor-name", "golden", "--format", fmt] + args + extra,
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit(f"FAIL: {extra}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout, p.stderr


def records(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


base_out, base_err = run([])
base = records(base_out)
assert len(base) >= 10, f"only {len(base)} records"


def diags(r):
    return r.get("ssh", {}).get("diagnoses", [])


def in_net(addr, net):
    return ipaddress.ip_address(addr) in ipaddress.ip_network(net, strict=False)


CASES = [
    (["--only", "failed"], lambda r: r["ssh"]["outcome"] == "failed"),
    (["--only", "established"], lambda r: r["ssh"]["outcome"] == "established"),
    (["--only", "incomplete"], lambda r: r["ssh"]["outcome"] == "incomplete"),
    (["--diagnosis", "closed_before_server_banner,tcp_no_answer"],
     lambda r: any(d["code"] in ("closed_before_server_banner", "tcp_no_answer")
                   for d in diags(r))),
    (["--severity", "error"], lambda r: any(d["severity"] == "error" for d in diags(r))),
    (["--severity", "warning"],
     lambda r: any(d["severity"] in ("error", "warning") for d in diags(r))),
    (["--host", "2001:db8::/32"],
     lambda r: in_net(r["src_ip"], "2001:db8::/32") or in_net(r["dest_ip"], "2001:db8::/32")),
    (["--host", "198.18.0.1"], lambda r: "198.18.0.1" in (r["src_ip"], r["dest_ip"])),
    (["--port", "2022"], lambda r: 2022 in (r["src_port"], r["dest_port"])),
    (["--only", "failed", "--host", "198.18.0.0/15", "--port", "22"],
     lambda r: r["ssh"]["outcome"] == "failed" and 22 in (r["src_port"], r["dest_port"])
     and (in_net(r["src_ip"], "198.18.0.0/15") or in_net(r["dest_ip"], "198.18.0.0/15"))),
]

checks = 0
for extra, pred in CASES:
    out, err = run(extra)
    got = [r["flow_id"] for r in records(out)]
    want = [r["flow_id"] for r in base if pred(r)]
    if got != want:
        sys.exit(f"FAIL: {extra}: {len(got)} records, expected {len(want)}")
    if extra[0] != "--only" or extra[1] != "incomplete":
        assert 0 < len(want) < len(base), f"{extra} selects {len(want)} of {len(base)}: weak case"
    # Statistics stay true: the summary on stderr counts every connection.
    if err != base_err:
        sys.exit(f"FAIL: {extra}: the end-of-run summary changed:\n{err}\n{base_err}")
    checks += 1

# The text summary counts the selected connections and says of how many.
out, _ = run(["--only", "failed"], fmt="text")
nfailed = sum(1 for r in base if r["ssh"]["outcome"] == "failed")
want = f"{nfailed} connections: 0 established, {nfailed} failed"
if want not in out or f"of {len(base)} analysed" not in out:
    sys.exit(f"FAIL: text summary under --only failed:\n{out}")
if "established encrypted" in out or " established " in out.split("\n\n")[0]:
    sys.exit("FAIL: an established row in the text table under --only failed")
checks += 1

for bad in (["--only", "ok"], ["--diagnosis", "no_such_code"], ["--severity", "info"],
            ["--host", "198.18.0.1/33"], ["--host", "example"], ["--port", "0"]):
    p = subprocess.run([kw] + args[:2] + bad, capture_output=True, text=True, timeout=60)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 2 or p.stdout or len(lines) != 2 or "--help" not in lines[1]:
        sys.exit(f"FAIL: {bad}: exit {p.returncode}, stderr {p.stderr!r}")
    checks += 1
print(f"ux.filters: {checks} checks passed")

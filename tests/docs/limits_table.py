#!/usr/bin/env python3
"""docs.limits: docs/limits.md lists every limit that `kexwatch --list-limits`
prints, with the same default and the same owning module, and no limit that
kexwatch does not have.

Usage: limits_table.py KEXWATCH DOCS_LIMITS_MD
"""
import re
import subprocess
import sys


def main():
    kexwatch, doc = sys.argv[1], sys.argv[2]
    out = subprocess.run([kexwatch, "--list-limits"], capture_output=True, text=True,
                         check=True).stdout
    actual, owner = {}, {}
    for line in out.splitlines():
        m = re.match(r"^\s+([a-z_]+)\s+(\d+)\s.*\[([a-z_/.]+)\]$", line)
        if m:
            actual[m.group(1)] = int(m.group(2))
            owner[m.group(1)] = m.group(3)
    documented, doc_owner = {}, {}
    for line in open(doc, encoding="utf-8"):
        m = re.match(r"^\| `([a-z_]+)` \| (\d+).*\| `([a-z_/.]+)` \|$", line)
        if m:
            documented[m.group(1)] = int(m.group(2))
            doc_owner[m.group(1)] = m.group(3)
    failures = 0
    if len(actual) < 10:
        print("FAIL: --list-limits printed %d limits: %r" % (len(actual), out[:300]))
        return 1
    for name, value in sorted(actual.items()):
        if name not in documented:
            print("FAIL: %s (default %d) is not in %s" % (name, value, doc))
            failures += 1
        elif documented[name] != value:
            print("FAIL: %s: default %d, %s says %d" % (name, value, doc, documented[name]))
            failures += 1
        elif doc_owner[name] != owner[name]:
            print("FAIL: %s is %s's; %s says %s's" % (name, owner[name], doc, doc_owner[name]))
            failures += 1
    for name in sorted(set(documented) - set(actual)):
        print("FAIL: %s says there is a limit %s; kexwatch has none" % (doc, name))
        failures += 1
    if failures == 0:
        print("ok   %d limits, each documented with its default" % len(actual))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""kwlive.py: reading kexwatch output in the live tests.

load(path) -> Output: the ssh records, the stats records, and every line
that is not a whole JSON object (a split or torn record).
"""
import json
import sys


class Output:
    def __init__(self):
        self.ssh = []
        self.stats = []
        self.bad = []


def parse_lines(lines, out=None):
    out = out or Output()
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            out.bad.append((n, line[:200]))
            continue
        if not isinstance(rec, dict):
            out.bad.append((n, line[:200]))
        elif rec.get("event_type") == "ssh":
            out.ssh.append(rec)
        elif rec.get("event_type") == "stats":
            out.stats.append(rec)
        else:
            out.bad.append((n, line[:200]))
    return out


def load(*paths):
    out = Output()
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if text and not text.endswith("\n"):
            out.bad.append((0, "%s does not end with a newline" % p))
        parse_lines(text.splitlines(), out)
    return out


def codes(rec):
    return [d["code"] for d in rec.get("ssh", {}).get("diagnoses", [])]


class Checker:
    def __init__(self, name):
        self.name = name
        self.failed = 0

    def ok(self, cond, what):
        print("%s %s" % ("ok  " if cond else "FAIL", what), file=sys.stderr)
        if not cond:
            self.failed += 1
        return cond

    def done(self):
        sys.exit(1 if self.failed else 0)

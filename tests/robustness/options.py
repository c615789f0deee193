#!/usr/bin/env python3
"""robustness.options: wrong command-line use is a one-line message, a usage
hint and exit 2, never a silent wrong setting.

    options.py --kexwatch BIN --pcap tests/pcaps/demo.pcap

- --syslog udp://127.0.0.1:99999 used to be accepted and sent to port 34463
  (99999 mod 65536); port 0 too;
- a malformed --syslog target and a -f filter that does not compile exited 1.
Also a default: without --workers, one packet loop per CPU the process may
use, so pinned to one CPU (taskset) it runs one, however many are online.
Exit 0 pass, 1 fail.
"""
import argparse
import os
import shutil
import subprocess
import sys

from checks import check, finish


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--pcap", required=True)
    a = ap.parse_args()
    cases = [
        (["--syslog", "udp://127.0.0.1:99999"], "out of range"),
        (["--syslog", "tcp://127.0.0.1:0"], "out of range"),
        (["--syslog", "udp://127.0.0.1"], "PORT"),
        (["--syslog", "ftp://host:21"], "udp://HOST:PORT"),
        (["-f", "tcp and bogus("], "syntax error"),
    ]
    for extra, says in cases:
        p = subprocess.run([a.kexwatch, "-q", "-r", a.pcap] + extra, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        lines = [l for l in err.splitlines() if l.strip()]
        what = " ".join(extra)
        check(p.returncode == 2, "%s: exit 2 (got %d)" % (what, p.returncode))
        check(len(lines) == 2 and says in lines[0] and "--help" in lines[1],
              "%s: one line saying %r and the usage hint (got %r)" % (what, says, lines))
        check(p.stdout == b"", "%s: no record written" % what)
    # KW_STAGE_CPU lists each worker's CPU time after "workers".
    if shutil.which("taskset"):
        cpu = min(os.sched_getaffinity(0))
        p = subprocess.run(["taskset", "-c", str(cpu), a.kexwatch, "-q", "-r", a.pcap, "-w",
                            os.devnull], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, KW_STAGE_CPU="1"), timeout=60)
        line = [l for l in p.stderr.decode("utf-8", "replace").splitlines()
                if "stage cpu" in l]
        n = len(line[0].split(" workers ")[1].split()) if line else -1
        check(p.returncode == 0 and n == 1,
              "pinned to one CPU: one worker by default (got %d, exit %d)" % (n, p.returncode))
    else:
        print("# taskset absent: the default worker count is not checked")
    return finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Run kexwatch on one golden capture and judge or save its records.

This is the one place that says how kexwatch is run for golden tests, so the
regenerated expected records and the tested output are made the same way: from
inside the capture directory with the capture's relative name (pcap_filename is then
just the file name), `--format json`, TZ=UTC and LC_ALL=C (the machine's zone and
locale must not leak into a record).

    # golden.<case>: output must equal the expected records (tests/golden/compare.py)
    run_golden.py --kexwatch BIN --pcap-dir tests/pcaps --capture CASE.pcap \
                  --expected tests/pcaps/CASE.expected.jsonl [--output ACTUAL.jsonl]
    # golden.<case>.truth: output, and the expected records if present, must agree
    # with what the real software said (tests/golden/truth.py)
    run_golden.py ... --truth tests/pcaps/CASE.truth.json [--expected ...]
    # tests/golden/regen.sh: write the output as the new expected records
    run_golden.py ... --write tests/pcaps/CASE.expected.jsonl

Every mode fails (exit 1) when kexwatch exits non-zero, is killed, times out or
prints anything on stdout that is not one JSON object per line. Exit 2: bad usage.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import truth  # noqa: E402
from kwjson import JsonlError, load_jsonl, parse_jsonl  # noqa: E402


class RunError(Exception):
    pass


def run_kexwatch(kexwatch, pcap_dir, capture, timeout):
    """kexwatch's stdout (bytes), checked to be valid JSONL from a clean exit."""
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    # A fixed sensor name: the records' host and flow_id stay the same anywhere.
    cmd = [os.path.abspath(kexwatch), "-r", capture, "--format", "json", "--sensor-name", "golden"]
    try:
        proc = subprocess.run(cmd, cwd=pcap_dir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError("kexwatch timed out after %ss on %s" % (timeout, capture))
    except OSError as err:
        raise RunError("cannot run %s: %s" % (kexwatch, err))
    sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
    if proc.returncode != 0:
        if proc.returncode < 0:
            try:
                how = "was killed by " + signal.Signals(-proc.returncode).name
            except ValueError:
                how = "was killed by signal %d" % -proc.returncode
        else:
            how = "exited with status %d" % proc.returncode
        raise RunError("kexwatch %s on %s (command: %s, in %s)" % (
            how, capture, " ".join(cmd), pcap_dir))
    try:
        parse_jsonl(proc.stdout, "kexwatch stdout for " + capture)
    except JsonlError as err:
        raise RunError(str(err))
    return proc.stdout


def write_file(path, data):
    """Write atomically: a failed run never leaves a half-written file behind."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--pcap-dir", required=True, help="directory holding the capture")
    ap.add_argument("--capture", required=True, help="capture file name inside --pcap-dir")
    ap.add_argument("--expected", help="expected records (compare, or also judge with --truth)")
    ap.add_argument("--truth", help="CASE.truth.json to judge the records with")
    ap.add_argument("--write", help="save the output here (regeneration)")
    ap.add_argument("--output", help="also keep the output here for inspection")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args(argv)
    if not (args.expected or args.truth or args.write):
        ap.error("give --expected, --truth or --write")
    if args.write and (args.expected or args.truth):
        ap.error("--write regenerates; it does not judge")

    try:
        out = run_kexwatch(args.kexwatch, args.pcap_dir, args.capture, args.timeout)
    except RunError as err:
        print("FAIL: %s" % err)
        if args.output and os.path.exists(args.output):
            os.unlink(args.output)  # never leave an earlier run's output looking current
        return 1

    if args.write:
        write_file(args.write, out)
        print("wrote %s (%d records)" % (args.write, out.count(b"\n")))
        return 0

    output = args.output
    if output:
        write_file(output, out)
    else:
        fd, output = tempfile.mkstemp(prefix="kexwatch-golden-", suffix=".jsonl")
        with os.fdopen(fd, "wb") as f:
            f.write(out)
    failed = False
    try:
        if args.truth:
            try:
                truths = truth.load_truth(args.truth)
            except (OSError, ValueError) as err:
                print("FAIL: %s: %s" % (args.truth, err))
                return 1
            judged = [("kexwatch output", output)]
            if args.expected and os.path.exists(args.expected):
                judged.append(("expected records " + args.expected, args.expected))
            for what, path in judged:
                try:
                    problems = truth.check(load_jsonl(path), truths)
                except JsonlError as err:
                    problems = [str(err)]
                for line in problems:
                    print("%s: %s" % (what, line))
                failed = failed or bool(problems)
        elif args.expected:
            problems = compare.compare_files(args.expected, output)
            for line in problems:
                print(line)
            if problems:
                failed = True
                print("kexwatch output%s differs from %s.\nIf the change is intended, "
                      "run tests/golden/regen.sh and review git diff tests/pcaps/ "
                      "(see tests/golden/README.md)." % (
                          " (kept in %s)" % output if args.output else "", args.expected))
    finally:
        if not args.output:
            os.unlink(output)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

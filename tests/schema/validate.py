#!/usr/bin/env python3
"""Validate every record kexwatch produces for the test captures against
docs/schema/ssh-record.schema.json (ctest: schema.records).

Usage: validate.py --kexwatch BIN --schema FILE [--captures-in DIR ...]
                   [--shared DIR] [PCAP ...]
Runs kexwatch on each capture (PCAP arguments, every capture under each
--captures-in folder, and every capture under DIR/conformance when that
folder exists) and checks each output line against the schema with
python3-jsonschema (Debian's package), formats included. A kexwatch run that
fails or writes a line that is not one JSON object is an error too. Exits 1
when any record is invalid, listing every error found.

tests/docs/record_fields.py imports find_captures() and run_records() so
that both tests read the same captures the same way.
"""
import argparse
import json
import os
import subprocess
import sys

import jsonschema

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import kwjson  # noqa: E402  (strict JSONL reading shared with the golden tests)

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".pcap.gz")


def find_captures(directory):
    """Every capture (.pcap, .pcapng, .pcap.gz) under directory, sorted."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(CAPTURE_SUFFIXES)]
    return found


def shared_captures(shared):
    """The conformance corpus's captures, or [] when the shared folder is absent."""
    corpus = os.path.join(shared, "conformance") if shared else None
    return find_captures(corpus) if corpus and os.path.isdir(corpus) else []


def run_records(kexwatch, capture, profile, timeout=300):
    """The records kexwatch writes for one capture in one --record profile;
    raises RuntimeError when it fails or its output is not strict JSONL."""
    out = subprocess.run([kexwatch, "-q", "--format", "json", "--record", profile, "-r", capture],
                         capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("kexwatch exited with status %d on %s: %s" % (
            out.returncode, capture, out.stderr.decode("utf-8", "replace")[-2000:]))
    try:
        return kwjson.parse_jsonl(out.stdout, capture)
    except kwjson.JsonlError as err:
        raise RuntimeError(str(err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--captures-in", action="append", default=[], metavar="DIR")
    ap.add_argument("--shared", help="the shared folder; its conformance captures "
                    "are validated too when it exists")
    ap.add_argument("pcaps", nargs="*")
    args = ap.parse_args()
    with open(args.schema) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    pcaps = list(args.pcaps)
    for directory in args.captures_in:
        pcaps += find_captures(directory)
    pcaps += shared_captures(args.shared)
    records = bad = 0
    for pcap in pcaps:
        for profile in ("compact", "full"):
            try:
                lines = run_records(args.kexwatch, pcap, profile)
            except RuntimeError as err:
                print("FAIL: %s" % err)
                bad += 1
                continue
            for n, record in enumerate(lines, 1):
                records += 1
                errors = sorted(validator.iter_errors(record), key=str)
                for e in errors:
                    bad += 1
                    path = "/".join(str(p) for p in e.absolute_path)
                    print("%s record %d (%s): %s: %s" % (pcap, n, profile, path or "(root)",
                                                         e.message))
    print("%d records (both profiles) from %d captures, %d schema errors" % (
        records, len(pcaps), bad))
    return 1 if bad or records == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Validate every record kexwatch produces for the golden captures against
docs/schema/ssh-record.schema.json (ctest: schema.records).

Usage: validate.py --kexwatch BIN --schema FILE PCAP...
Runs kexwatch on each capture and checks each output line against the schema
with python3-jsonschema (Debian's package), formats included. Exits 1 on the
first capture with an invalid record, listing every error found in it.
"""
import argparse
import json
import subprocess
import sys

import jsonschema


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("pcaps", nargs="+")
    args = ap.parse_args()
    with open(args.schema) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    records = bad = 0
    for pcap in args.pcaps:
        out = subprocess.run([args.kexwatch, "-q", "--format", "json", "-r", pcap],
                             capture_output=True, text=True, timeout=120)
        for n, line in enumerate(out.stdout.splitlines(), 1):
            records += 1
            errors = sorted(validator.iter_errors(json.loads(line)), key=str)
            for e in errors:
                bad += 1
                path = "/".join(str(p) for p in e.absolute_path)
                print("%s record %d: %s: %s" % (pcap, n, path or "(root)", e.message))
    print("%d records from %d captures, %d schema errors" % (records, len(args.pcaps), bad))
    return 1 if bad or records == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

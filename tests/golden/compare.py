#!/usr/bin/env python3
"""Compare two kexwatch JSONL outputs record by record (golden tests).

    python3 tests/golden/compare.py EXPECTED.jsonl ACTUAL.jsonl

Records are matched by flow_id (order of lines does not matter; each flow_id must be
unique in each file), the record counts must be equal, and every field is compared
recursively with its JSON type (true is not 1, 1.0 is not 1). Each difference is
printed as one line naming the flow and the path, e.g.
    flow 2: ssh.negotiated.cipher_c2s: expected "aes128-ctr", got "aes256-ctr"
Exit status: 0 identical, 1 on any difference or unreadable/invalid JSONL, 2 on bad
usage.

Only the fields in VARYING may legitimately differ between two runs on the same
capture, and each is normalised rather than ignored. Everything else must be equal:
an offline capture fixes every time (timestamps and timings come from the packets),
and tests/golden/run_golden.py runs kexwatch the same way (TZ=UTC, from inside
tests/pcaps) for regeneration and for the test.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kwjson import JsonlError, load_jsonl  # noqa: E402

# Top-level field -> (normalisation, why it may differ).
VARYING = {
    "pcap_filename": (
        os.path.basename,
        "the path kexwatch was given depends on the directory it was run from and on "
        "the machine; the capture's file name does not, so only the basename is compared",
    ),
}


def show(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def json_type(value):
    """The JSON type of a decoded value; bool is kept apart from number."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def diff(expected, actual, path, out):
    """Append (path, message) for every difference between two JSON values."""
    te, ta = json_type(expected), json_type(actual)
    if te != ta:
        out.append((path, "expected %s %s, got %s %s" % (te, show(expected), ta, show(actual))))
    elif te == "object":
        for key in sorted(set(expected) | set(actual)):
            sub = "%s.%s" % (path, key) if path else key
            if key not in actual:
                out.append((sub, "expected %s, absent" % show(expected[key])))
            elif key not in expected:
                out.append((sub, "not expected, got %s" % show(actual[key])))
            else:
                diff(expected[key], actual[key], sub, out)
    elif te == "array":
        for i in range(min(len(expected), len(actual))):
            diff(expected[i], actual[i], "%s[%d]" % (path, i), out)
        if len(expected) != len(actual):
            out.append((path, "expected %d elements, got %d (extra: %s)" % (
                len(expected), len(actual),
                show(expected[len(actual):] if len(expected) > len(actual)
                     else actual[len(expected):]))))
    elif expected != actual:
        out.append((path, "expected %s, got %s" % (show(expected), show(actual))))


def normalise(record):
    record = dict(record)
    for key, (fn, _) in VARYING.items():
        if isinstance(record.get(key), str):
            record[key] = fn(record[key])
    return record


def by_flow_id(records, name, problems):
    """{flow_id: record}; a missing, non-integer or repeated flow_id is a problem."""
    table = {}
    for number, rec in enumerate(records, 1):
        fid = rec.get("flow_id")
        if json_type(fid) != "integer":
            problems.append("%s record %d: flow_id is %s, not an integer" % (name, number, show(fid)))
        elif fid in table:
            problems.append("%s record %d: flow_id %d appears twice" % (name, number, fid))
        else:
            table[fid] = rec
    return table


def compare_files(expected_path, actual_path):
    """All differences between two JSONL files, as printable lines."""
    problems = []
    try:
        expected = load_jsonl(expected_path)
        actual = load_jsonl(actual_path)
    except JsonlError as err:
        return [str(err)]
    if len(expected) != len(actual):
        problems.append("record count: expected %d, got %d" % (len(expected), len(actual)))
    exp_ids = by_flow_id(expected, "expected", problems)
    act_ids = by_flow_id(actual, "actual", problems)
    for fid in sorted(set(exp_ids) - set(act_ids)):
        problems.append("flow %d: expected, absent from actual" % fid)
    for fid in sorted(set(act_ids) - set(exp_ids)):
        problems.append("flow %d: in actual, not expected" % fid)
    for fid in sorted(set(exp_ids) & set(act_ids)):
        out = []
        diff(normalise(exp_ids[fid]), normalise(act_ids[fid]), "", out)
        problems += ["flow %d: %s: %s" % (fid, path or "(record)", msg) for path, msg in out]
    return problems


def main(argv):
    if len(argv) != 2 or argv[0].startswith("-"):
        print("usage: compare.py EXPECTED.jsonl ACTUAL.jsonl", file=sys.stderr)
        return 2
    problems = compare_files(argv[0], argv[1])
    for line in problems:
        print(line)
    if problems:
        print("%d problem(s) comparing %s with %s" % (len(problems), argv[0], argv[1]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

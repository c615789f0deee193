"""Strict reading of kexwatch's JSON lines, shared by the golden-test scripts.

compare.py, truth.py and run_golden.py import this so that "valid output" means the
same thing everywhere: UTF-8, one JSON object per newline-terminated line, no NaN or
Infinity, no duplicate keys. It only reads; it knows nothing about record fields.
"""

import json


class JsonlError(Exception):
    """The text is not valid kexwatch JSONL; the message names the line."""


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate key %r" % key)
        obj[key] = value
    return obj


def parse_object(line):
    """One line -> dict; raises ValueError when it is not exactly one JSON object."""
    value = json.loads(line, parse_constant=_reject_constant,
                       object_pairs_hook=_no_duplicate_keys)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def parse_jsonl(data, name):
    """bytes or str of JSONL -> list of dicts. An empty input is zero records."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise JsonlError("%s: not UTF-8: %s" % (name, err))
    if data == "":
        return []
    if not data.endswith("\n"):
        raise JsonlError("%s: last line is not terminated by a newline" % name)
    records = []
    for number, line in enumerate(data[:-1].split("\n"), 1):
        try:
            records.append(parse_object(line))
        except ValueError as err:
            raise JsonlError("%s:%d: not a JSON object (%s): %.100r" % (name, number, err, line))
    return records


def load_jsonl(path):
    try:
        with open(path, "rb") as f:
            return parse_jsonl(f.read(), path)
    except OSError as err:
        raise JsonlError("%s: %s" % (path, err.strerror or err))


def dig(record, path, default=None):
    """Value at a dotted path ("ssh.client.banner"); default when missing or null."""
    node = record
    for step in path.split("."):
        if not isinstance(node, dict) or node.get(step) is None:
            return default
        node = node[step]
    return node

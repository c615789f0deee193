#!/usr/bin/env python3
"""Check kexwatch records against what the real SSH software said (golden truth).

    python3 tests/golden/truth.py RECORDS.jsonl CASE.truth.json

tests/pcaps/<case>.truth.json is written when the capture is made
(tests/pcaps/make-captures.sh and tests/pcaps/truth.py), from the client's and
server's own logs (ssh -vv, sshd DEBUG1, paramiko) and ssh-keygen -lf, not from
kexwatch. It holds one connection object, a list of them, or {"case": ...,
"connections": [...]} for a capture with several connections; null means "unknown,
not checked". This is the independent check that a golden .expected.jsonl is right: the
golden test proves kexwatch still prints the same records, this proves those records
agree with the software at both ends.

Each truth object is matched to a record by SSH roles (ssh.roles_reversed honoured):
the record's SSH client address is client_ip, its SSH server address and port are
server_ip and server_port. When several records match (repeated connections), the
objects are paired with records one to one, preferring records that agree fully.
Every non-null value in TRUTH_FIELDS is then compared; the keys in NOT_CHECKED are
named with the reason they are not; any other key is an error, so no truth value is
silently left unchecked.

Exit status: 0 all agree, 1 on any disagreement, missing connection, unknown key or
unreadable input, 2 on bad usage.
"""

import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kwjson import JsonlError, dig, load_jsonl  # noqa: E402

KEY_FIELDS = ("client_ip", "server_ip", "server_port")
# Keys present in truth files that are deliberately not compared, and why.
NOT_CHECKED = {
    "case": "names the capture; nothing in a record to compare it with",
    "order": "position of the connection in a merged capture; connections are matched "
             "by address and values instead",
    "auth_result": "kexwatch's authentication result is a heuristic judged in its own "
                   "tests, not here",
    "auth_failures": "judged with auth_result by tests/auth/check.py, which reports the "
                     "accuracy of the inference",
    "client_exit_status": "a property of the client process, not of the wire",
    "client_error": "the client's message; matching it to diagnoses[].client_symptom is "
                    "the diagnosis tests' job",
    "truth_sources": "provenance of the truth values",
    "evidence": "provenance of the truth values (the log lines used)",
}
INFO_FIELDS = tuple(NOT_CHECKED)

# truth key -> record path, compared exactly (ints compared as ints).
TRUTH_FIELDS = {
    "client_banner": "ssh.client.banner",
    "server_banner": "ssh.server.banner",
    "kex": "ssh.negotiated.kex",
    "host_key_alg": "ssh.negotiated.host_key",
    "cipher_c2s": "ssh.negotiated.cipher_c2s",
    "cipher_s2c": "ssh.negotiated.cipher_s2c",
    "mac_c2s": "ssh.negotiated.mac_c2s",
    "mac_s2c": "ssh.negotiated.mac_s2c",
    "compression_c2s": "ssh.negotiated.compression_c2s",
    "compression_s2c": "ssh.negotiated.compression_s2c",
    "host_key_fp": "ssh.host_key.fingerprint",
    "host_key_bits": "ssh.host_key.bits",
    "host_key_type": "ssh.host_key.type",
    "outcome": "ssh.outcome",
    # Compared by special rules in check_value():
    "client_software": "ssh.client",
    "server_software": "ssh.server",
    "family": "src_ip",
}
# The compact record leaves out a value that repeats another field
# (docs/record.md, Profiles): where truth key's path is absent, it reads this one.
COMPACT_REPEATS = {
    "cipher_s2c": "ssh.negotiated.cipher_c2s",
    "mac_s2c": "ssh.negotiated.mac_c2s",
    "compression_s2c": "ssh.negotiated.compression_c2s",
    "host_key_alg": "ssh.host_key.type",
}
# The sizes a key type fixes: compact leaves them out of ssh.host_key.bits.
FIXED_BITS = {"ssh-ed25519": 256, "ssh-ed448": 456, "ecdsa-sha2-nistp256": 256,
              "ecdsa-sha2-nistp384": 384, "ecdsa-sha2-nistp521": 521}
FAMILY_NAMES = {"ipv4": 4, "inet": 4, "4": 4, "v4": 4, "af_inet": 4,
                "ipv6": 6, "inet6": 6, "6": 6, "v6": 6, "af_inet6": 6}


def show(value):
    return "<absent>" if value is None else json.dumps(value, ensure_ascii=False)


def ip(text):
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return str(text)


def ssh_endpoints(rec):
    """((ip, port) of the SSH client, (ip, port) of the SSH server) of a record."""
    src = (ip(rec.get("src_ip")), rec.get("src_port"))
    dest = (ip(rec.get("dest_ip")), rec.get("dest_port"))
    if dig(rec, "ssh.roles_reversed", rec.get("roles_reversed")) is True:
        return dest, src
    return src, dest


def key_matches(truth, rec, swapped=False):
    """Does the record describe this truth object's connection (swapped: with the
    SSH roles the other way round)?"""
    client, server = ssh_endpoints(rec)
    if swapped:
        client, server = server, client
    return ((truth.get("client_ip") is None or ip(truth["client_ip"]) == client[0])
            and (truth.get("server_ip") is None or ip(truth["server_ip"]) == server[0])
            and (truth.get("server_port") is None or truth["server_port"] == server[1]))


def truth_outcome_without_banner(rec):
    """A connection that failed before any identification line was sent."""
    return dig(rec, "ssh.outcome") == "failed" and dig(rec, "ssh.phase") in ("syn", "tcp_established")


def check_value(key, wanted, rec):
    """(ok, got) for one truth value."""
    path = TRUTH_FIELDS[key]
    if key in ("client_software", "server_software"):
        # The software's name ("openssh", "dropbear", "paramiko") must begin the
        # banner's software_version ("OpenSSH_9.2p1", "dropbear_2022.83"), ignoring
        # case; an exact version ("OpenSSH_9.2p1", or with the comments) also matches.
        version = dig(rec, path + ".software_version")
        comments = dig(rec, path + ".comments")
        if version is None and dig(rec, path + ".banner") is None and \
                truth_outcome_without_banner(rec):
            # The software never reached its identification line (a refused or
            # unanswered connection): nothing on the wire can name it.
            return True, None
        full = version if not comments else "%s %s" % (version, comments)
        if not isinstance(version, str) or not isinstance(wanted, str):
            return False, full
        return (wanted in (version, full)
                or version.lower().startswith(wanted.lower())), full
    if key == "family":
        family = FAMILY_NAMES.get(str(wanted).lower())
        addr = ip(rec.get("src_ip"))
        got = getattr(addr, "version", None)
        if family is None:
            return False, "cannot read family %s (use ipv4 or ipv6)" % show(wanted)
        return family == got, "ipv%s" % got
    got = dig(rec, path)
    if got is None and key in COMPACT_REPEATS and dig(rec, "ssh.negotiated") is not None:
        got = dig(rec, COMPACT_REPEATS[key])
    if got is None and key == "host_key_bits":
        got = FIXED_BITS.get(dig(rec, "ssh.host_key.type"))
    if key == "host_key_bits" and isinstance(wanted, str) and wanted.isdigit():
        wanted = int(wanted)
    if isinstance(wanted, bool) or isinstance(got, bool):
        return type(wanted) is type(got) and wanted == got, got
    return wanted == got, got


def disagreements(truth, rec):
    out = []
    for key, wanted in truth.items():
        if wanted is None or key in KEY_FIELDS or key in INFO_FIELDS:
            continue
        ok, got = check_value(key, wanted, rec)
        if not ok:
            out.append("%s: truth %s, record %s" % (key, show(wanted), show(got)))
    return out


def load_truth(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, dict) and isinstance(doc.get("connections"), list):
        objects = doc["connections"]
    elif isinstance(doc, list):
        objects = doc
    else:
        objects = [doc]
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict):
            raise ValueError("entry %d is not an object" % i)
        unknown = set(obj) - set(TRUTH_FIELDS) - set(KEY_FIELDS) - set(INFO_FIELDS)
        if unknown:
            raise ValueError("entry %d: unknown key(s) %s; teach truth.py how to check them"
                             % (i, ", ".join(sorted(unknown))))
    return objects


def label(truth):
    return "%s -> %s:%s" % (truth.get("client_ip") or "?", truth.get("server_ip") or "?",
                            truth.get("server_port") if truth.get("server_port") is not None else "?")


def check(records, truths):
    """Printable problems; empty when every truth object agrees with a record."""
    problems, used = [], set()
    # Objects with the fewest candidate records are paired first.
    order = sorted(range(len(truths)),
                   key=lambda i: sum(key_matches(truths[i], r) for r in records))
    for i in order:
        truth = truths[i]
        where = "truth %d (%s)" % (i, label(truth))
        candidates = [n for n, r in enumerate(records) if n not in used and key_matches(truth, r)]
        if not candidates:
            swapped = [r for r in records if key_matches(truth, r, swapped=True)]
            if swapped:
                problems.append("%s: record flow_id %s has the SSH roles the other way round"
                                % (where, swapped[0].get("flow_id")))
            else:
                problems.append("%s: no record for this connection" % where)
            continue
        best = min(candidates, key=lambda n: len(disagreements(truth, records[n])))
        used.add(best)
        for line in disagreements(truth, records[best]):
            problems.append("%s, flow_id %s: %s" % (where, records[best].get("flow_id"), line))
    return problems


def main(argv):
    if len(argv) != 2 or argv[0].startswith("-"):
        print("usage: truth.py RECORDS.jsonl CASE.truth.json", file=sys.stderr)
        return 2
    try:
        records = load_jsonl(argv[0])
        truths = load_truth(argv[1])
    except (JsonlError, OSError, ValueError) as err:
        print("truth: %s" % err)
        return 1
    problems = check(records, truths)
    for line in problems:
        print(line)
    checked = sum(1 for t in truths for k, v in t.items()
                  if v is not None and k not in KEY_FIELDS and k not in INFO_FIELDS)
    print("%s: %d truth value(s) in %d connection(s), %d problem(s)" % (
        os.path.basename(argv[1]), checked, len(truths), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Judge kexwatch against the external conformance corpus (ctest: conformance.upstream).

For every capture named in SHARED/conformance/expected.jsonl this runs
`kexwatch -r CAPTURE --format json`, then checks each row of expected.jsonl (one row
per capture, connection and upstream project) against the record kexwatch wrote for
that connection. Only values the upstream project asserts are compared (null = not
asserted); see SHARED/conformance/README.md, "Read before asserting".

    python3 tests/conformance/conformance.py --kexwatch build/kexwatch \
        --shared ../shared [--verbose] [--xref] [--timeout SECONDS]

Output: one line per disagreement (pcap, connection, field, expected, got), then
"N/M values agree". Exit status: 0 when every value agrees or its disagreement is in
tests/conformance/known-differences.json; 1 on any other disagreement or on a
kexwatch run that fails (non-zero exit, a stdout line that is not a JSON object);
2 on a harness error (bad arguments, unreadable corpus or allow-list); 77 (ctest
SKIP_RETURN_CODE) when the shared folder is absent.

How rows are read (decisions that are not obvious from the row itself):

* Connection matching. A row gives client_addr/port and server_addr/port; where they
  are null (suricata-verify rows, some Zeek rows) the gaps are filled from
  conn_key_observed, which the corpus took from the same packets. A record matches
  when {src, dest} equals {client, server} in either orientation; the SSH client of a
  record is dest when ssh.roles_reversed is true, else src, and that must be the
  row's client (checked as field "roles" when both endpoints are fully known). When
  several records match (port reuse), the one that agrees with most values is used.
  Connections are named "CLIENT:PORT-SERVER:PORT" ("[v6]:PORT" for IPv6, "?" for an
  unknown part); known-differences.json uses the same names.
* Every connection row that expects SSH also checks that a record exists (field
  "record"), so rows that assert nothing else (ssh-dups, NEWKEYS in one segment)
  still test something.
* expect_ssh false ("gives no SSH handshake"): no matching record (no record in the
  whole file for granularity "file") may show an SSH handshake, meaning: an
  identification line starting "SSH-" from either side, a KEXINIT, a host key, or
  outcome "established". A record as such is allowed: a SYN scan of port 22 may well
  be reported as a refused or unanswered connection, and HTTP on port 22 as not_ssh
  or banner_invalid; neither is an SSH handshake.
* software_version: suricata-verify stops at the first space (README note 5), as
  kexwatch's software_version does; Zeek and the others assert everything after
  "SSH-x.y-", which is kexwatch's software_version plus " " plus comments.
* hassh: upstream values are lower-cased (nDPI prints upper case, README note 4);
  kexwatch's must already be lower case, so ours is compared exactly.
* host_key_fp: Zeek keeps only 32 base64 characters (README note 1), so the asserted
  value must be a prefix of kexwatch's full fingerprint.
* cipher_alg/mac_alg/compression_alg are Zeek's single values; compared with the
  client-to-server direction.
* auth_success/auth_attempts are Zeek guesses (README note 3), tracked elsewhere:
  counted as skipped, never compared.
* Some caveats change what a row means; CAVEAT_RULES below lists them with reasons.
"""

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys

EXIT_OK, EXIT_FAIL, EXIT_HARNESS, EXIT_SKIP = 0, 1, 2, 77

# Row key -> (record path, comparison). Comparisons are explained in the docstring.
FIELDS = [
    ("client_version", "ssh.client.banner", "exact"),
    ("server_version", "ssh.server.banner", "exact"),
    ("client_proto_version", "ssh.client.proto_version", "exact"),
    ("server_proto_version", "ssh.server.proto_version", "exact"),
    ("client_software_version", "ssh.client", "software"),
    ("server_software_version", "ssh.server", "software"),
    ("hassh", "ssh.client.hassh.hash", "hassh"),
    ("hassh_server", "ssh.server.hassh.hash", "hassh"),
    ("kex_alg", "ssh.negotiated.kex", "exact"),
    ("host_key_alg", "ssh.negotiated.host_key", "exact"),
    ("cipher_alg", "ssh.negotiated.cipher_c2s", "exact"),
    ("mac_alg", "ssh.negotiated.mac_c2s", "exact"),
    ("compression_alg", "ssh.negotiated.compression_c2s", "exact"),
    ("host_key_fp", "ssh.host_key.fingerprint", "prefix"),
]
SKIPPED_FIELDS = {
    "auth_success": "authentication heuristics are judged elsewhere (README note 3)",
    "auth_attempts": "authentication heuristics are judged elsewhere (README note 3)",
}
# Projects whose software_version is the text up to the first space, like kexwatch's.
SOFTWARE_VERSION_UNTIL_SPACE = {"suricata-verify"}

# Caveats that change what a row asserts: (text found in the caveat, rule, reason).
CAVEAT_RULES = [
    ("NOT real SSH transport", "not_ssh",
     "Zeek's Spicy test feeds UDP payload to its TCP SSH analyzer; kexwatch reads "
     "SSH over TCP only, so this must give no SSH handshake and the banners Zeek "
     "asserts are not compared"),
    ("baseline only asserts that SSH was seen on this host:port", "ssh_seen",
     "Zeek's known_services says SSH ran on this host:port: the record must show an "
     "SSH handshake"),
    ("no common algorithm exists (negotiation fails)", "negotiation_failed",
     "the KEXINITs share no algorithm, so the handshake cannot succeed: outcome must "
     "be \"failed\""),
]
# extra keys of file-granularity rows that assert a count of SSH records.
FILE_COUNT_RULES = {
    "ssh_events_with_dest_port_22": ("dest_port", 22),
}

class _Marker:
    """A printable placeholder that can never equal a JSON value."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


ABSENT = _Marker("<absent>")        # the record lacks the field (or it is null)
NO_RECORD = _Marker("<no record>")  # no record for the connection at all
ALLOWED_ENTRY_KEYS = {"pcap", "connection", "field", "reason", "expected", "got"}


class HarnessError(Exception):
    """The corpus, the allow-list or the command line is unusable (exit 2)."""


# ---------------------------------------------------------------- JSON helpers


def _reject_constant(name):
    raise ValueError("not JSON: %s" % name)


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate key %r" % key)
        obj[key] = value
    return obj


def parse_json_object(line):
    """Parse one JSONL line strictly (no NaN, no duplicate keys); must be an object."""
    value = json.loads(line, parse_constant=_reject_constant,
                       object_pairs_hook=_no_duplicate_keys)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def dig(record, path):
    """Value at a dotted path, or ABSENT when a step is missing or null."""
    node = record
    for step in path.split("."):
        if not isinstance(node, dict) or node.get(step) is None:
            return ABSENT
        node = node[step]
    return node


def show(value):
    if isinstance(value, _Marker):
        return value.text
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- endpoints


def norm_ip(text):
    if text is None:
        return None
    try:
        return ipaddress.ip_address(str(text).strip("[]"))
    except ValueError:
        return str(text)


def parse_endpoint(text):
    """'1.2.3.4:22' or '[2001:db8::1]:22' -> (ip, port)."""
    if not text:
        return (None, None)
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    return (norm_ip(host), int(port) if port else None)


def endpoint_name(ep):
    ip, port = ep
    if ip is None:
        host = "?"
    elif isinstance(ip, ipaddress.IPv6Address):
        host = "[%s]" % ip
    else:
        host = str(ip)
    return "%s:%s" % (host, "?" if port is None else port)


def ep_matches(actual, wanted):
    """actual is a record endpoint; wanted may have None parts (wildcards)."""
    return ((wanted[0] is None or actual[0] == wanted[0])
            and (wanted[1] is None or actual[1] == wanted[1]))


def ep_known(ep):
    return ep[0] is not None and ep[1] is not None


def record_endpoints(record):
    """(tcp_src, tcp_dest, ssh_client, ssh_server) of a record."""
    src = (norm_ip(record.get("src_ip")), record.get("src_port"))
    dest = (norm_ip(record.get("dest_ip")), record.get("dest_port"))
    reversed_ = dig(record, "ssh.roles_reversed")
    if reversed_ is ABSENT:
        reversed_ = record.get("roles_reversed", False)
    if reversed_ is True:
        return src, dest, dest, src
    return src, dest, src, dest


def row_endpoints(row):
    """The row's client and server endpoints; null parts filled from conn_key_observed."""
    observed = row.get("conn_key_observed") or {}
    obs_c = parse_endpoint(observed.get("client"))
    obs_s = parse_endpoint(observed.get("server"))

    def pick(value, fallback):
        return fallback if value is None else value

    client = (pick(norm_ip(row.get("client_addr")), obs_c[0]),
              pick(row.get("client_port"), obs_c[1]))
    server = (pick(norm_ip(row.get("server_addr")), obs_s[0]),
              pick(row.get("server_port"), obs_s[1]))
    return client, server


def matching_records(records, client, server):
    found = []
    for rec in records:
        src, dest, _, _ = record_endpoints(rec)
        if ((ep_matches(src, client) and ep_matches(dest, server))
                or (ep_matches(src, server) and ep_matches(dest, client))):
            found.append(rec)
    return found


# ---------------------------------------------------------------- SSH evidence


def ssh_evidence(record):
    """Why a record shows an SSH handshake; empty list when it does not."""
    why = []
    for side in ("client", "server"):
        banner = dig(record, "ssh.%s.banner" % side)
        if isinstance(banner, str) and banner.startswith("SSH-"):
            why.append("%s banner %s" % (side, json.dumps(banner)))
        if dig(record, "ssh.%s.kexinit" % side) is not ABSENT:
            why.append("%s KEXINIT" % side)
    if dig(record, "ssh.host_key") is not ABSENT:
        why.append("host key")
    if dig(record, "ssh.outcome") == "established":
        why.append("outcome established")
    return why


# ---------------------------------------------------------------- comparisons


def compare_value(how, expected, record, path, project):
    """Return (ok, got, expected_as_compared)."""
    if how == "software":
        got = dig(record, path + ".software_version")
        if project not in SOFTWARE_VERSION_UNTIL_SPACE and got is not ABSENT:
            comments = dig(record, path + ".comments")
            if isinstance(comments, str) and comments:
                got = "%s %s" % (got, comments)
        return got == expected, got, expected
    got = dig(record, path)
    if got is ABSENT and path == "ssh.negotiated.host_key" and \
            dig(record, "ssh.negotiated") is not ABSENT:
        # Compact leaves out the algorithm that is the key's own type
        # (docs/record.md, Profiles): absent reads ssh.host_key.type.
        got = dig(record, "ssh.host_key.type")
    if how == "hassh":
        expected = expected.lower()  # upstream case does not matter; ours must be lower
        return got == expected, got, expected
    if how == "prefix":
        ok = isinstance(got, str) and got.startswith(expected)
        return ok, got, expected
    return got == expected, got, expected


class Check:
    """One compared value: a row field, or a check derived from the row."""

    def __init__(self, pcap, conn, field, expected, got, ok, line):
        self.pcap, self.conn, self.field = pcap, conn, field
        self.expected, self.got, self.ok, self.line = expected, got, ok, line
        self.allowed_by = None
        self.caveats = []  # the row's caveats, printed under its first disagreement

    def text(self):
        return "pcap=%s conn=%s field=%s expected=%s got=%s (expected.jsonl line %s)" % (
            self.pcap, self.conn, self.field, show(self.expected), show(self.got),
            self.line)


def row_value_checks(row, line, conn, record):
    """Checks for the asserted row fields against one record (or None)."""
    checks = []
    for key, path, how in FIELDS:
        expected = row.get(key)
        if expected is None:
            continue
        if record is None:
            checks.append(Check(row["pcap"], conn, key, expected, NO_RECORD, False, line))
            continue
        ok, got, compared = compare_value(how, expected, record, path, row["project"])
        checks.append(Check(row["pcap"], conn, key, compared, got, ok, line))
    return checks


def xref_checks(row, line, conn, record):
    """Optional (--xref): corelight/hassh values recorded for the same 5-tuple."""
    checks = []
    xref = row.get("xref") or {}
    for key, path in (("hassh", "ssh.client.hassh.hash"),
                      ("hassh_server", "ssh.server.hassh.hash")):
        expected = xref.get(key)
        if expected is None:
            continue
        got = NO_RECORD if record is None else dig(record, path)
        checks.append(Check(row["pcap"], conn, "xref." + key, expected.lower(), got,
                            got == expected.lower(), line))
    return checks


def caveat_rules(row):
    rules = []
    for caveat in row.get("caveats") or []:
        for needle, rule, reason in CAVEAT_RULES:
            if needle in caveat:
                rules.append((rule, reason))
    return rules


def judge_row(row, line, records, args, notes):
    """All checks and skipped values for one expected.jsonl row."""
    pcap = row["pcap"]
    checks, skipped = [], []
    rules = dict(caveat_rules(row))
    for key, reason in SKIPPED_FIELDS.items():
        if row.get(key) is not None:
            skipped.append((pcap, key, reason))

    if row["granularity"] == "file":
        return with_caveats(judge_file_row(row, line, records, rules), row), skipped
    if row["granularity"] != "connection":
        raise HarnessError("line %d: unknown granularity %r" % (line, row["granularity"]))

    client, server = row_endpoints(row)
    conn = "%s-%s" % (endpoint_name(client), endpoint_name(server))
    if not any(part is not None for part in client + server):
        raise HarnessError("line %d: connection row without any address or port" % line)
    found = matching_records(records, client, server)

    if row.get("expect_ssh") is False or "not_ssh" in rules:
        if "not_ssh" in rules:
            for key, _, _ in FIELDS:
                if row.get(key) is not None:
                    skipped.append((pcap, key, rules["not_ssh"]))
        shows = ["%s: %s" % (rec.get("flow_id"), ", ".join(ssh_evidence(rec)))
                 for rec in found if ssh_evidence(rec)]
        checks.append(Check(pcap, conn, "no_ssh", "no SSH handshake",
                            "; ".join(shows) if shows else "none", not shows, line))
        return with_caveats(checks, row), skipped

    # Pick the record that agrees with most asserted values.
    record = None
    if found:
        record = max(found, key=lambda r: sum(c.ok for c in row_value_checks(row, line, conn, r)))
        if len(found) > 1:
            notes.append("%s %s: %d records match, using flow_id %s" % (
                pcap, conn, len(found), record.get("flow_id")))
    checks.append(Check(pcap, conn, "record", "present",
                        "present" if record is not None else NO_RECORD,
                        record is not None, line))
    if record is not None and ep_known(client) and ep_known(server):
        _, _, ssh_client, ssh_server = record_endpoints(record)
        ok = ssh_client == client and ssh_server == server
        checks.append(Check(pcap, conn, "roles", "client=" + endpoint_name(client),
                            "client=" + endpoint_name(ssh_client), ok, line))
    checks += row_value_checks(row, line, conn, record)
    if args.xref:
        checks += xref_checks(row, line, conn, record)
    if "ssh_seen" in rules:
        why = ssh_evidence(record) if record is not None else []
        checks.append(Check(pcap, conn, "ssh_seen", "SSH handshake",
                            ", ".join(why) if why else (NO_RECORD if record is None else "none"),
                            bool(why), line))
    if "negotiation_failed" in rules:
        got = NO_RECORD if record is None else dig(record, "ssh.outcome")
        checks.append(Check(pcap, conn, "outcome", "failed", got, got == "failed", line))
    return with_caveats(checks, row), skipped


def with_caveats(checks, row):
    for check in checks:
        check.caveats = row.get("caveats") or []
    return checks


def judge_file_row(row, line, records, rules):
    """Rows that speak about the whole capture rather than one connection."""
    pcap, checks = row["pcap"], []
    if row.get("expect_ssh") is False or "not_ssh" in rules:
        shows = ["%s: %s" % (rec.get("flow_id"), ", ".join(ssh_evidence(rec)))
                 for rec in records if ssh_evidence(rec)]
        checks.append(Check(pcap, "*", "no_ssh", "no SSH handshake",
                            "; ".join(shows) if shows else "none", not shows, line))
    for key, (rec_key, value) in FILE_COUNT_RULES.items():
        wanted = (row.get("extra") or {}).get(key)
        if wanted is None:
            continue
        count = sum(1 for rec in records if rec.get(rec_key) == value and ssh_evidence(rec))
        checks.append(Check(pcap, "*", key, wanted, count, count == wanted, line))
    if not checks:
        raise HarnessError("line %d: file row asserts nothing this harness knows" % line)
    return checks


# ---------------------------------------------------------------- running kexwatch


def describe_status(returncode):
    if returncode < 0:
        try:
            return "killed by %s" % signal.Signals(-returncode).name
        except ValueError:
            return "killed by signal %d" % -returncode
    return "exit status %d" % returncode


def run_kexwatch(kexwatch, capture, timeout):
    """Run kexwatch on one capture: (records, problems)."""
    cmd = [kexwatch, "-r", capture, "--format", "json", "--record", "full"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], ["timed out after %ss" % timeout]
    except OSError as err:
        raise HarnessError("cannot run %s: %s" % (kexwatch, err))
    problems, records = [], []
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        problems.append("%s%s" % (describe_status(proc.returncode),
                                  (": " + stderr[-1]) if stderr else ""))
    try:
        text = proc.stdout.decode("utf-8")
    except UnicodeDecodeError as err:
        return [], problems + ["stdout is not UTF-8: %s" % err]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        problems.append("last line not terminated by a newline")
    for number, line in enumerate(lines, 1):
        try:
            records.append(parse_json_object(line))
        except ValueError as err:
            problems.append("stdout line %d is not a JSON object (%s): %.80r" % (
                number, err, line))
    return records, problems


# ---------------------------------------------------------------- allow-list


def load_allow_list(path, pcaps):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise HarnessError("%s: %s" % (path, err))
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise HarnessError("%s: expected an object with an \"entries\" list" % path)
    known_fields = ({k for k, _, _ in FIELDS} | {"record", "roles", "no_ssh", "ssh_seen",
                                                  "outcome", "run"}
                    | {"xref." + k for k in ("hassh", "hassh_server")}
                    | set(FILE_COUNT_RULES))
    for i, entry in enumerate(entries):
        where = "%s: entry %d" % (path, i)
        if not isinstance(entry, dict):
            raise HarnessError(where + ": not an object")
        missing = {"pcap", "connection", "field", "reason"} - set(entry)
        if missing:
            raise HarnessError(where + ": missing " + ", ".join(sorted(missing)))
        if set(entry) - ALLOWED_ENTRY_KEYS:
            raise HarnessError(where + ": unknown keys " + ", ".join(sorted(set(entry) - ALLOWED_ENTRY_KEYS)))
        if not str(entry["reason"]).strip():
            raise HarnessError(where + ": empty reason")
        if entry["pcap"] not in pcaps:
            raise HarnessError(where + ": pcap %r is not in expected.jsonl" % entry["pcap"])
        if entry["field"] not in known_fields:
            raise HarnessError(where + ": unknown field %r" % entry["field"])
        entry["_used"] = 0
    return entries


def allowed(check, entries):
    for entry in entries:
        if (entry["pcap"] == check.pcap and entry["field"] == check.field
                and entry["connection"] in ("*", check.conn)
                and ("expected" not in entry or entry["expected"] == check.expected)
                and ("got" not in entry or entry["got"] == check.got)):
            entry["_used"] += 1
            return entry
    return None


# ---------------------------------------------------------------- main


def load_rows(path):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    row = parse_json_object(line)
                    for key in ("pcap", "project", "granularity"):
                        if not row.get(key):
                            raise ValueError("line %d: no %s" % (number, key))
                    rows.append((number, row))
    except (OSError, ValueError) as err:
        raise HarnessError("%s: %s" % (path, err))
    return rows


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kexwatch", required=True, help="the kexwatch binary")
    ap.add_argument("--shared", required=True, help="the shared/ folder beside the checkout")
    ap.add_argument("--known", default=os.path.join(here, "known-differences.json"),
                    help="allow-list of explained differences (default: %(default)s)")
    ap.add_argument("--verbose", action="store_true",
                    help="also print agreements, skipped values, notes and the caveats "
                         "of rows that disagree")
    ap.add_argument("--xref", action="store_true",
                    help="also compare the corelight/hassh cross-reference HASSH values")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per capture")
    args = ap.parse_args(argv)

    corpus = os.path.join(args.shared, "conformance")
    expected_path = os.path.join(corpus, "expected.jsonl")
    if not os.path.isfile(expected_path):
        print("conformance: %s not found; shared folder absent, skipping" % expected_path)
        return EXIT_SKIP
    if not os.access(args.kexwatch, os.X_OK):
        raise HarnessError("%s is not an executable" % args.kexwatch)

    rows = load_rows(expected_path)
    pcaps = []
    for _, row in rows:
        if row["pcap"] not in pcaps:
            pcaps.append(row["pcap"])
    entries = load_allow_list(args.known, set(pcaps))

    checks, skipped, notes = [], [], []
    for pcap in pcaps:
        capture = os.path.join(corpus, pcap)
        if not os.path.isfile(capture):
            raise HarnessError("capture %s is missing" % capture)
        records, problems = run_kexwatch(args.kexwatch, capture, args.timeout)
        if args.verbose:
            print("ran kexwatch on %s: %d records" % (pcap, len(records)))
        for problem in problems:
            checks.append(Check(pcap, "*", "run", "clean run", problem, False, "-"))
        for line, row in rows:
            if row["pcap"] == pcap:
                row_checks, row_skipped = judge_row(row, line, records, args, notes)
                checks += row_checks
                skipped += row_skipped

    agree = allowed_count = 0
    caveats_shown = set()
    for check in checks:
        if check.ok:
            agree += 1
            if args.verbose:
                print("ok      " + check.text())
            continue
        check.allowed_by = allowed(check, entries)
        if check.allowed_by is not None:
            allowed_count += 1
            print("KNOWN   %s -- %s" % (check.text(), check.allowed_by["reason"]))
        else:
            print("DIFFER  " + check.text())
            if args.verbose and check.line not in caveats_shown:
                caveats_shown.add(check.line)
                for caveat in check.caveats:
                    print("        caveat: " + caveat)
    if args.verbose:
        for pcap, key, reason in skipped:
            print("skipped %s %s: %s" % (pcap, key, reason))
        for note in notes:
            print("note    " + note)
    for entry in entries:
        if entry["_used"] == 0:
            print("warning: known difference not seen (remove it?): %s %s %s" % (
                entry["pcap"], entry["connection"], entry["field"]))

    total = len(checks)
    unexplained = total - agree - allowed_count
    print("%d/%d values agree (%d known differences, %d unexplained, %d values skipped)" % (
        agree, total, allowed_count, unexplained, len(skipped)))
    return EXIT_OK if unexplained == 0 else EXIT_FAIL


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except HarnessError as err:
        print("conformance: error: %s" % err, file=sys.stderr)
        sys.exit(EXIT_HARNESS)

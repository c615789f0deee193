#!/usr/bin/env python3
"""golden.profiles: the two record profiles and the join keys, on every golden
and crafted capture.

For each connection, run with --record compact (the default) and --record full:
- every value of the compact record is in the full one, at the same place and
  equal, except ssh.server.host_key_algorithms (compact only), which must be
  the full record's server_host_key_algorithms list joined with commas, and
  ssh.auth.caveats, where compact drops "segment_sizes" that repeats the method;
- the full record has both KEXINITs' ten name-lists wherever a side sent one,
  and each diagnosis its summary and hint; the compact record has the lists
  only when the negotiation failed (ssh.negotiated.no_match), no summary and
  no hint, no zero counters and no empty objects;
- compact leaves out exactly the values that repeat another field or the
  normal case (docs/record.md, Profiles), and keeps each of these keys
  otherwise: see repeats();
- flow_id is the same when the same file is read again, and another with
  another --sensor-name; community_id and host are there.

usage: profiles.py KEXWATCH DIR [DIR ...]
"""
import glob
import json
import os
import subprocess
import sys

failures = []


def fail(msg):
    failures.append(msg)


def run(kw, path, *extra):
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    p = subprocess.run([kw, "-q", "--format", "json", "-r", os.path.basename(path)] + list(extra),
                       cwd=os.path.dirname(path), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        fail("%s: kexwatch %s exited %d: %s" % (path, " ".join(extra), p.returncode,
                                                  p.stderr.decode(errors="replace")[-300:]))
    return [json.loads(line) for line in p.stdout.decode().splitlines()]


def leaves(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from leaves(v, path + "." + k if path else k)
    elif isinstance(o, list) and o and all(isinstance(x, dict) for x in o):
        for i, x in enumerate(o):
            yield from leaves(x, "%s[%d]" % (path, i))
    else:
        yield path, o


def get(o, path):
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(o, list) or i >= len(o):
                return KeyError
            o = o[i]
        else:
            if not isinstance(o, dict) or part not in o:
                return KeyError
            o = o[part]
    return o


def empty_objects(o, path=""):
    if isinstance(o, dict):
        if not o:
            yield path
        for k, v in o.items():
            yield from empty_objects(v, path + "." + k)
    elif isinstance(o, list):
        for x in o:
            yield from empty_objects(x, path + "[]")


COUNTERS = ("retransmits_c2s", "retransmits_s2c", "out_of_order", "overlaps", "gaps",
            "ip_fragments")


FIXED_BITS = {"ssh-ed25519": 256, "ssh-ed448": 456, "ecdsa-sha2-nistp256": 256,
              "ecdsa-sha2-nistp384": 384, "ecdsa-sha2-nistp521": 521}


def repeats(f):
    """{path: True if compact must leave it out, False if it must keep it} for
    the keys compact writes only when they say something new, read from the
    full record f."""
    s = f["ssh"]
    out = {}
    neg = s.get("negotiated", {})
    for k in ("cipher", "mac", "compression"):
        if k + "_s2c" in neg:  # absent reads "the same as c2s"
            out["ssh.negotiated.%s_s2c" % k] = neg[k + "_s2c"] == neg.get(k + "_c2s")
    for k, v in neg.get("ext_info", {}).items():  # absent reads false
        out["ssh.negotiated.ext_info." + k] = v is False
    if "roles_from" in s:  # absent reads kex_messages
        out["ssh.roles_from"] = s["roles_from"] == "kex_messages"
    if "phase" in s.get("close", {}):  # absent reads ssh.phase
        out["ssh.close.phase"] = s["close"]["phase"] == s.get("phase")
    key = s.get("host_key", {})
    if "host_key" in neg:  # absent reads ssh.host_key.type
        out["ssh.negotiated.host_key"] = neg["host_key"] == key.get("type")
    if "bits" in key:  # absent reads the size the type fixes
        out["ssh.host_key.bits"] = FIXED_BITS.get(key["type"]) == key["bits"]
    return out


def check_pair(where, c, f):
    for path, left_out in repeats(f).items():
        if left_out and get(c, path) is not KeyError:
            fail("%s: compact writes %s, which repeats (full: %r)" % (where, path, get(f, path)))
        if not left_out and get(c, path) is KeyError:
            fail("%s: compact lacks %s = %r, which is no repeat" % (where, path, get(f, path)))
    s_c, s_f = c["ssh"], f["ssh"]
    for path, value in leaves(c):
        if path == "ssh.server.host_key_algorithms":
            lists = get(f, "ssh.server.kexinit.server_host_key_algorithms")
            if lists is KeyError or ",".join(lists) != value:
                fail("%s: host_key_algorithms %r is not the server's offer %r" % (where, value, lists))
            continue
        got = get(f, path)
        if path == "ssh.auth.caveats" and get(f, "ssh.auth.method") == "segment_sizes":
            # Compact drops the caveat that repeats the method.
            got = [x for x in got if x != "segment_sizes"]
        if got != value:
            fail("%s: compact %s = %r, full has %r" % (where, path, value, got))
    failed_negotiation = "no_match" in s_f.get("negotiated", {})
    for side in ("client", "server"):
        has_kex = "hassh" in s_f.get(side, {})
        kexinit = {k: v for k, v in s_f.get(side, {}).get("kexinit", {}).items()
                   if k != "truncated"}  # the marker of cut lists (record.md)
        if has_kex and len(kexinit) != 11:
            fail("%s: full record without the %s's ten name-lists" % (where, side))
        if "kexinit" in s_c.get(side, {}) and not failed_negotiation:
            fail("%s: compact record has the %s's name-lists, negotiation fine" % (where, side))
        if failed_negotiation and has_kex and "kexinit" not in s_c.get(side, {}):
            fail("%s: compact record lacks the %s's offer of a failed negotiation" % (where, side))
    for d in s_f.get("diagnoses", []):
        if not d.get("summary") or not d.get("hint"):
            fail("%s: full diagnosis %s without summary or hint" % (where, d.get("code")))
    for d in s_c.get("diagnoses", []):
        if "summary" in d or "hint" in d:
            fail("%s: compact diagnosis %s with its texts" % (where, d.get("code")))
    for k in COUNTERS:
        if s_c.get("tcp", {}).get(k, 1) == 0:
            fail("%s: compact record writes the zero counter %s" % (where, k))
    for rec, name in ((c, "compact"), (f, "full")):
        for p in empty_objects(rec):
            fail("%s: %s record has an empty object at %s" % (where, name, p))
        for k in ("community_id", "host", "flow_id"):
            if k not in rec:
                fail("%s: %s record without %s" % (where, name, k))


def main(argv):
    kw = os.path.abspath(argv[1])
    captures = []
    for d in argv[2:]:
        for pat in ("*.pcap", "*.pcapng", "*.pcap.gz"):
            captures += sorted(glob.glob(os.path.join(d, pat)))
    records = 0
    for path in captures:
        compact = run(kw, path, "--sensor-name", "a")
        full = run(kw, path, "--sensor-name", "a", "--record", "full")
        again = run(kw, path, "--sensor-name", "a")
        other = run(kw, path, "--sensor-name", "b")
        if not (len(compact) == len(full) == len(again) == len(other)):
            fail("%s: record counts differ between runs" % path)
            continue
        for i, (c, f, a, o) in enumerate(zip(compact, full, again, other)):
            where = "%s record %d" % (os.path.basename(path), i + 1)
            check_pair(where, c, f)
            if a["flow_id"] != c["flow_id"]:
                fail("%s: flow_id changed on a second read" % where)
            if o["flow_id"] == c["flow_id"]:
                fail("%s: flow_id the same for another sensor" % where)
            records += 1
    for m in failures[:40]:
        print("FAIL:", m)
    print("%d captures, %d records: %d failures" % (len(captures), records, len(failures)))
    return 1 if failures or records == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/bin/sh
# tests/robustness/memcap.sh KEXWATCH BUILD_DIR SOURCE_DIR   (ctest robustness.memcap)
#
# The global memory budget (--limit memory, docs/limits.md) holds against
# handshakes whose KEXINIT name-lists are long but legal. Input (kw-craft
# hostile, streamed through a pipe, never stored): 10,000 clients that each
# send one KEXINIT with four 60,000-byte name-lists (about 600 KB of buffers
# and copies each without a budget: 6 GB), all left open. Under the default
# limits it asserts:
#   - peak RSS (/usr/bin/time -f %M) at most 300 MB;
#   - one record per connection, every connection the budget refused marked
#     client.memcap_reached with analysis_limited (limit "memory") and
#     outcome incomplete, and the summary counting them;
#   - no record longer than 16 KiB (name-lists cut in the record, with their
#     true lengths in kexinit.truncated / hassh.string_len).
# RSS is measured on a plain build (ASan measures itself, see memory.sh);
# the ASan build reads a tenth of the input for sanitizer reports.
# Skips (77) without /usr/bin/time or kw-craft (libnet).
set -eu
kexwatch=$1
build=$2
src=$3
craft="$build/kw-craft"
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (apt-get install time)"; exit 77; }
[ -x "$craft" ] || { echo "SKIP: $craft not built (libnet missing)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kw-memcap.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT   # dash runs an INT/TERM trap and goes on: leave, through EXIT
trap 'exit 143' TERM
NCONN=10000
LISTLEN=60000
LIMIT_KB=292968 # 300 MB
fail=0

. "$(dirname "$0")/plain.sh"
plain=$(plain_kexwatch "$kexwatch" "$build" "$src") || { echo "FAIL: no plain build"; exit 1; }

"$craft" hostile - $NCONN $LISTLEN |
    /usr/bin/time -f %M -o "$work/peak" "$plain" -r - --format json >"$work/records.jsonl" \
        2>"$work/stderr.txt" || { echo "FAIL: kexwatch exited non-zero"; cat "$work/stderr.txt"; exit 1; }
peak=$(tail -n 1 "$work/peak")
cat "$work/stderr.txt"
if [ "$peak" -gt $LIMIT_KB ]; then
    echo "FAIL: peak RSS ${peak} KiB over 300 MB (${LIMIT_KB} KiB)"; fail=1
else
    echo "ok   peak RSS ${peak} KiB, at most 300 MB"
fi
python3 - "$work/records.jsonl" "$work/stderr.txt" $NCONN <<'PY' || fail=1
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
err = open(sys.argv[2]).read()
n = int(sys.argv[3])
bad = []
def check(c, what):
    print(("ok   " if c else "FAIL ") + what)
    if not c:
        bad.append(what)
check(len(recs) == n, "%d records for %d connections" % (len(recs), n))
capped = [r for r in recs if "client.memcap_reached" in r["ssh"].get("anomalies", [])]
check(len(capped) > n // 2, "%d connections refused by the budget" % len(capped))
ok = all(r["ssh"]["outcome"] == "incomplete" and any(
    d["code"] == "analysis_limited" and d["evidence"].get("limit") == "memory"
    for d in r["ssh"].get("diagnoses", [])) for r in capped)
check(ok, "each of them incomplete with analysis_limited naming memory")
m = re.search(r"(\d+) memcap reached", err)
check(m is not None and int(m.group(1)) == len(capped), "the summary counts them (%s)"
      % (m.group(1) if m else "absent"))
longest = max(len(json.dumps(r, separators=(",", ":"))) for r in recs)
check(longest <= 16384, "longest record %d bytes (at most 16 KiB)" % longest)
cut = [r for r in recs if r["ssh"].get("client", {}).get("hassh", {}).get("string_len")]
check(len(cut) > 0 and all(r["ssh"]["client"]["hassh"]["string_len"] > 100000 for r in cut),
      "%d HASSH strings cut, with their true length" % len(cut))
sys.exit(1 if bad else 0)
PY

if [ "$plain" != "$kexwatch" ]; then
    "$craft" hostile - $((NCONN / 10)) $LISTLEN |
        "$kexwatch" -r - --limit memory=32 >/dev/null 2>"$work/asan.txt" || {
        echo "FAIL: ASan kexwatch exited non-zero"; tail -n 40 "$work/asan.txt"; exit 1; }
    if grep -q 'Sanitizer\|runtime error' "$work/asan.txt"; then
        echo "FAIL: sanitizer report"; tail -n 40 "$work/asan.txt"; fail=1
    else
        echo "ok   ASan build: clean run, $(grep -o '[0-9]* memcap reached' "$work/asan.txt")"
    fi
fi
exit $fail

#!/bin/bash
# tests/robustness/malformed.sh KEXWATCH CRAFTED_DIR   (ctest robustness.malformed)
#
# Damaged capture files and failing outputs (DESIGN.md section 3: "Exit status 0
# when every input was read to its end, non-zero otherwise (records already
# produced are still written). Errors are one line on stderr naming the input."):
#   an empty file, wrong magic, truncated file header, truncated last record, a record whose
#   caplen is larger than the snap length (and than libpcap accepts), a missing
#   file, a directory: exit status non-zero (never a signal), exactly one
#   "kexwatch: <file>: ..." error line, the records before the damage written;
#   a closed stdout (kexwatch -r big.pcap | head -c 10): no crash, no sanitizer
#   report, the statistics still on stderr, and a quiet end: status 0, no
#   error line (the reader wanted no more);
#   a full disk (-w on a 1 MB tmpfs; root only, otherwise that part is skipped):
#   the failure is reported on stderr as an error line naming the output file
#   and the reason, the run goes on to the end of the input (all connections
#   counted in the summary), and the file holds only whole JSON lines (a
#   record that does not fit must not be left half-written for the SIEM).
# Exit 0 pass, 1 fail, 77 when nothing could run.
set -u
kexwatch=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
crafted=$(cd "$2" && pwd)
big=$crafted/kexinit-split-every-offset.pcap   # 303 connections, 444 KB, ~1.2 MB of full records
work=$(mktemp -d "${TMPDIR:-/tmp}/kw-malformed.XXXXXX")
mnt=""
cleanup() { [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export TZ=UTC LC_ALL=C
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
[ -r "$big" ] || { echo "SKIP: $big missing"; exit 77; }
total=$("$kexwatch" -r "$big" 2>/dev/null | wc -l)
[ "$total" -ge 300 ] || { echo "FAIL: $big gives $total records"; exit 1; }

# expect_damaged NAME FILE MIN_RECORDS: non-zero exit, one error line naming FILE, records kept.
expect_damaged() {
    local name=$1 file=$2 min=$3 rc errlines
    (cd "$work" && "$kexwatch" -r "$file" --format json >"$work/$name.out" 2>"$work/$name.err")
    rc=$?
    errlines=$(grep -c "^kexwatch: $file: " "$work/$name.err")
    records=$(wc -l <"$work/$name.out")
    if [ $rc -eq 0 ] || [ $rc -ge 126 ]; then
        bad "$name: exit status $rc (want 1..125)"
    elif [ "$errlines" -ne 1 ]; then
        bad "$name: $errlines error lines naming $file, want 1:"; cat "$work/$name.err"
    elif grep -q 'Sanitizer\|runtime error' "$work/$name.err"; then
        bad "$name: sanitizer report"; cat "$work/$name.err"
    elif [ "$records" -lt "$min" ]; then
        bad "$name: $records records written, want at least $min"
    elif ! python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$work/$name.out"; then
        bad "$name: output is not whole JSON lines"
    else
        ok "$name: exit $rc, $records records, '$(grep "^kexwatch: $file: " "$work/$name.err")'"
    fi
}

# Wrong magic: four bytes of the file header changed.
{ printf 'XKWX'; tail -c +5 "$big"; } >"$work/wrong-magic.pcap"
expect_damaged wrong-magic wrong-magic.pcap 0
# An empty file.
: >"$work/empty.pcap"
expect_damaged empty empty.pcap 0
# Truncated file header (10 of 24 bytes).
head -c 10 "$big" >"$work/short-header.pcap"
expect_damaged short-header short-header.pcap 0
# Truncated last record: the file cut in the middle of a frame, half-way through.
size=$(wc -c <"$big")
python3 - "$big" "$work/truncated-record.pcap" "$work/huge-caplen.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, recs = 24, []
while off + 16 <= len(data):
    cap = struct.unpack("<I", data[off + 8:off + 12])[0]
    recs.append(off)
    off += 16 + cap
mid = recs[len(recs) // 2]
cap = struct.unpack("<I", data[mid + 8:mid + 12])[0]
# cut 5 bytes before the end of the middle record's frame
open(sys.argv[2], "wb").write(data[:mid + 16 + cap - 5])
# caplen 8 MiB (> snaplen 262144) in the middle record's header
bad = bytearray(data)
bad[mid + 8:mid + 12] = struct.pack("<I", 8 << 20)
open(sys.argv[3], "wb").write(bad)
PY
expect_damaged truncated-record truncated-record.pcap 100
expect_damaged caplen-over-snaplen huge-caplen.pcap 100
expect_damaged missing-file no-such-file.pcap 0
mkdir "$work/a-directory.pcap"
expect_damaged directory a-directory.pcap 0

# A damaged file does not stop the next input (another capture, other addresses).
other=$crafted/../pcaps/openssh-default-v4.pcap
if [ -r "$other" ]; then
    first=$(wc -l <"$work/truncated-record.out")
    next=$("$kexwatch" -r "$other" 2>/dev/null | wc -l)
    (cd "$work" && "$kexwatch" -r truncated-record.pcap -r "$other" >"$work/two.out" 2>"$work/two.err")
    rc=$?
    n=$(wc -l <"$work/two.out")
    if [ $rc -ne 0 ] && [ $rc -lt 126 ] && [ "$n" -eq $((first + next)) ]; then
        ok "damaged first input: exit $rc, the next input still read ($first + $next records)"
    else
        bad "damaged first input: exit $rc, $n records (want non-zero and $first + $next)"
    fi
fi

# Closed stdout: the reader goes away after 10 bytes.
"$kexwatch" -r "$big" --format json 2>"$work/epipe.err" | head -c 10 >/dev/null
rc=${PIPESTATUS[0]}
if [ $rc -ge 126 ]; then
    bad "closed stdout: kexwatch died (status $rc)"; cat "$work/epipe.err"
elif grep -q 'Sanitizer\|runtime error' "$work/epipe.err"; then
    bad "closed stdout: sanitizer report"; cat "$work/epipe.err"
elif ! grep -q '^kexwatch: .* connections' "$work/epipe.err"; then
    bad "closed stdout: no statistics on stderr"; cat "$work/epipe.err"
elif grep -q 'output closed\|could not be written\|Broken pipe' "$work/epipe.err" || [ $rc -ne 0 ]; then
    bad "closed stdout: not a quiet end (status $rc)"; cat "$work/epipe.err"
else
    ok "closed stdout: status $rc, statistics on stderr"
fi

# Full disk: a 1 MB tmpfs, full records (~1.2 MB) written to it with -w.
if [ "$(id -u)" -ne 0 ]; then
    echo "skip full disk: needs root to mount a tmpfs"
    [ $fail -eq 0 ] && exit 77
    exit $fail
fi
mnt="$work/full"
mkdir "$mnt"
if ! mount -t tmpfs -o size=1m kw-full "$mnt" 2>"$work/mount.err"; then
    echo "skip full disk: cannot mount a tmpfs ($(cat "$work/mount.err"))"
    mnt=""
    exit $fail
fi
"$kexwatch" -r "$big" -w "$mnt/records.jsonl" --format json --record full 2>"$work/full.err"
rc=$?
written=$(wc -l <"$mnt/records.jsonl")
if [ $rc -ge 126 ] || grep -q 'Sanitizer\|runtime error' "$work/full.err"; then
    bad "full disk: kexwatch crashed (status $rc)"; cat "$work/full.err"
else
    ok "full disk: no crash (status $rc)"
fi
if grep -q "^kexwatch: $mnt/records.jsonl: No space left on device" "$work/full.err"; then
    ok "full disk: reported as 'kexwatch: $mnt/records.jsonl: No space left on device'"
else
    bad "full disk: no error line naming $mnt/records.jsonl and ENOSPC; stderr was:"
    cat "$work/full.err"
fi
if grep -q "^kexwatch: $total connections" "$work/full.err"; then
    ok "full disk: the run went on to the end ($total connections in the summary)"
else
    bad "full disk: the run did not go on to the end (want $total connections in the summary)"
fi
if [ "$written" -lt 1 ]; then
    bad "full disk: nothing written before the disk filled"
elif python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n"), "last line cut: %r" % data[-60:]
[json.loads(l) for l in data.splitlines()]' "$mnt/records.jsonl" 2>"$work/json.err"; then
    ok "full disk: $written whole records written, no partial line"
else
    bad "full disk: the file holds a partial record: $(tail -n 1 "$work/json.err")"
fi
exit $fail

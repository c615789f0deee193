#!/bin/sh
# tests/robustness/memory.sh KEXWATCH BUILD_DIR SOURCE_DIR   (ctest robustness.memory)
#
# Memory stays bounded by the limits whatever the input (DESIGN.md section 5).
# Input (tests/tools/kw-craft flood, streamed through a pipe, never stored):
# 1,000,000 unanswered SYNs from distinct sources, then 10,000 connections
# that each send a banner line of 8 x 1448 bytes without a newline,
# round-robin, so all of them hold an unfinished line at once.
# Limits: max_flows=16384 (the SYN flood overflows the table; the 10,000
# banner connections fit, so all of them buffer at once), stream_buf=16384,
# ooo_bytes=4096, ooo_segments=4, banner_max=8192. Records are written as
# --format text: building a million JSON records costs ~85 us each (jansson),
# which would put the test over its time budget without changing the bound
# (a record is built, written and freed one at a time).
#
# Asserts, on peak RSS from /usr/bin/time -v (formulas: docs/limits.md):
#   peak <= B0 + 7 MiB (I/O buffers) + N * 5 MiB (rings, spare flows)
#           + 72 * buckets (tables, recently evicted sets)
#           + (max_flows + N) * (2 * (sizeof(struct flow) + 64) + 2 * (stream_buf + 64 + 64))
#   with N = 2 workers (max_flows divided among them; a reported flow is held
#   twice until the merger writes it),
#   (a flow that never passed the banners holds its state and one line buffer
#   per direction; B0 is the RSS of the same binary on an empty capture),
# that the summary reports the evictions (>= 1,000,000 + 10,000 - 16384), and
# that every flow was reported (no record lost to eviction).
#
# Why not under ASan: ASan's shadow memory, redzones and quarantine make RSS
# measure the sanitizer, not kexwatch. When KEXWATCH is an ASan build (as in
# ./test.sh) this script measures RSS on a plain Release kexwatch built from
# SOURCE_DIR (plain.sh: one build shared with memcap.sh, kept up to date),
# and still runs the ASan binary on the same input (a tenth of the SYNs, for
# time), checking for a clean exit, no sanitizer report and the evictions.
# Skips (77) without /usr/bin/time or kw-craft (libnet).
set -eu
kexwatch=$1
build=$2
src=$3
craft="$build/kw-craft"
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (apt-get install time)"; exit 77; }
[ -x "$craft" ] || { echo "SKIP: $craft not built (libnet missing)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kw-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT   # dash runs an INT/TERM trap and goes on: leave, through EXIT
trap 'exit 143' TERM

NSYN=1000000
NBANNER=10000
ROUNDS=8
MAX_FLOWS=16384
STREAM_BUF=16384
WORKERS=2
LIMITS="--format text --workers $WORKERS --limit max_flows=$MAX_FLOWS --limit stream_buf=$STREAM_BUF --limit ooo_bytes=4096
        --limit ooo_segments=4 --limit banner_max=8192"
fail=0

. "$(dirname "$0")/plain.sh"
plain=$(plain_kexwatch "$kexwatch" "$build" "$src") || { echo "FAIL: no plain build"; exit 1; }

# sizeof(struct flow), from the headers being tested.
cat >"$work/sz.c" <<'C'
#include <stdio.h>
#include "flow.h"
int main(void) { printf("%zu\n", sizeof(struct flow)); return 0; }
C
cc -I"$src/dissect" -I"$src/common" "$work/sz.c" -o "$work/sz"
flow_size=$("$work/sz")

peak_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

# B0: the same binary, same limits, on a capture with no packet.
"$craft" flood "$work/empty.pcap" 0 0 0
/usr/bin/time -v "$plain" -r "$work/empty.pcap" $LIMITS >/dev/null 2>"$work/b0.txt"
b0=$(peak_kb "$work/b0.txt")

# Each worker's table: max_flows / N flows, buckets a power of two, at least 1024.
per=$(( (MAX_FLOWS + WORKERS - 1) / WORKERS ))
buckets=1024
while [ "$buckets" -lt "$per" ]; do buckets=$((buckets * 2)); done
bound_kb=$(( b0 + 7168 + WORKERS * 5120 + (WORKERS * buckets * 72
    + (MAX_FLOWS + WORKERS) * (2 * (flow_size + 64) + 2 * (STREAM_BUF + 128))) / 1024 ))

start=$(date +%s)
"$craft" flood - $NSYN $NBANNER $ROUNDS |
    /usr/bin/time -v "$plain" -r - $LIMITS >"$work/records.txt" 2>"$work/plain.txt" || {
    echo "FAIL: plain kexwatch exited non-zero"; cat "$work/plain.txt"; exit 1; }
peak=$(peak_kb "$work/plain.txt")
summary=$(grep '^kexwatch: ' "$work/plain.txt" | tail -n 1)
echo "memory: $summary"
echo "memory: sizeof(struct flow)=$flow_size B0=${b0} KiB; peak RSS ${peak} KiB, bound ${bound_kb} KiB" \
     "($(( $(date +%s) - start )) s)"
if [ "$peak" -gt "$bound_kb" ]; then
    echo "FAIL: peak RSS ${peak} KiB is over the bound ${bound_kb} KiB"
    fail=1
else
    echo "ok   peak RSS under the bound ($(( peak * 100 / bound_kb ))% of it)"
fi

evicted=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) evicted.*/\1/p')
want=$(( NSYN + NBANNER - MAX_FLOWS ))
if [ -z "$evicted" ] || [ "$evicted" -lt "$want" ]; then
    echo "FAIL: summary reports '${evicted:-no}' evictions, expected at least $want"
    fail=1
else
    echo "ok   $evicted evictions reported (>= $want)"
fi
records=$(grep -c ':22 ' "$work/records.txt" || true)
if [ "$records" -lt $((NSYN + NBANNER)) ]; then
    echo "FAIL: $records records for $((NSYN + NBANNER)) connections"
    fail=1
else
    echo "ok   $records records for $((NSYN + NBANNER)) connections"
fi
# The banner connections alone, in JSON: each must say why its parser stopped.
"$craft" flood - 0 $NBANNER $ROUNDS | "$plain" -r - $(echo "$LIMITS" | sed 's/--format text/--format json/') \
    >"$work/banners.jsonl" 2>/dev/null
too_long=$(grep -c '"client.banner_too_long"' "$work/banners.jsonl" || true)
if [ "$too_long" -ne "$NBANNER" ]; then
    echo "FAIL: $too_long of $NBANNER endless banners flagged client.banner_too_long"
    fail=1
else
    echo "ok   all $NBANNER endless banners flagged client.banner_too_long"
fi

if [ "$plain" != "$kexwatch" ]; then
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=1
    export ASAN_OPTIONS
    # A tenth of the SYNs (ASan is ~5x slower); the banners all.
    "$craft" flood - $((NSYN / 10)) $NBANNER $ROUNDS |
        "$kexwatch" -r - $LIMITS >/dev/null 2>"$work/asan.txt" || {
        echo "FAIL: ASan kexwatch exited non-zero"; tail -n 40 "$work/asan.txt"; exit 1; }
    if grep -q 'Sanitizer\|runtime error' "$work/asan.txt"; then
        echo "FAIL: sanitizer report"; tail -n 40 "$work/asan.txt"; fail=1
    else
        echo "ok   ASan build: clean run, $(grep -o '[0-9]* evicted' "$work/asan.txt")"
    fi
fi
exit $fail

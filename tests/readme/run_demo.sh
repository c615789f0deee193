#!/usr/bin/env bash
# ctest readme.run_demo: the README's first command, as a new user runs it.
# ./run.sh with no arguments must build kexwatch and print the demo capture's
# table and summary; with arguments it must pass them to kexwatch.
# Usage: run_demo.sh SOURCE_DIR
set -euo pipefail
src=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*"; sed -n '1,40p' "$out"; exit 1; }

"$src/run.sh" >"$out" 2>&1 || fail "./run.sh exited $?"
grep -q '^time  *client  *server  *outcome' "$out" || fail "no table header"
[ "$(grep -c ' established \| failed ' "$out")" -ge 9 ] || fail "fewer than 9 connections in the table"
grep -q 'no_common_algorithm: ' "$out" || fail "the key-exchange mismatch is not diagnosed"
grep -q 'tcp_refused: ' "$out" || fail "the refused connection is not diagnosed"
grep -q '^9 connections: 7 established, 2 failed' "$out" || fail "summary line"
grep -q '^by diagnosis:' "$out" || fail "summary by diagnosis"
grep -q 'kexwatch: 9 connections' "$out" || fail "statistics on stderr"

"$src/run.sh" --explain tcp_refused >"$out" 2>&1 || fail "./run.sh --explain exited $?"
grep -q 'Connection refused' "$out" || fail "arguments are passed to kexwatch"
"$src/run.sh" --no-such-option >"$out" 2>&1 && fail "a bad option must fail"
grep -q "Try 'kexwatch --help'" "$out" || fail "usage hint"
echo "readme: ./run.sh shows the demo; 10 checks passed"

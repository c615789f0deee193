#!/usr/bin/env bash
# ctest ux.table: the text table fits the terminal. At 80 and 132 columns no
# line of the table or the summary is wider than the terminal, for every
# golden capture (width from COLUMNS, into a pipe) and on a real
# pseudo-terminal whose size is set with stty (TIOCGWINSZ, colour on); a
# failed connection is explained under its row: the client's symptom, the
# server's text and the hint, the error in red.
# Usage: table.sh KEXWATCH PCAP_DIR
set -euo pipefail
kw=$1 dir=$2
command -v script >/dev/null || { echo "skipped: script(1) missing (bsdutils)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
checks=0
# widest: the longest line of standard input once ANSI colour codes are removed.
widest() { sed 's/\x1b\[[0-9;]*m//g; s/\r$//' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }

for w in 80 132; do
	n=0
	for p in "$dir"/*.pcap; do
		got=$(COLUMNS=$w "$kw" -q --format text -r "$p" | widest)
		[ "$got" -le "$w" ] || fail "$(basename "$p"): a line of $got columns at COLUMNS=$w"
		n=$((n + 1))
	done
	[ "$n" -gt 20 ] || fail "only $n captures found in $dir"
	checks=$((checks + 1))
	# A real terminal of that size, colour on (stty sets TIOCGWINSZ).
	out=$(script -qec "stty cols $w rows 50; env -u COLUMNS TERM=xterm $kw -q -r $dir/fail-maxstartups.pcap" /dev/null)
	got=$(printf '%s\n' "$out" | widest)
	[ "$got" -le "$w" ] || fail "terminal of $w columns: a line of $got columns"
	[ "$got" -ge $((w - 20)) ] || fail "terminal of $w columns: the table uses only $got"
	[[ $out == *$'\033[31m'"error closed_before_server_banner"* ]] || fail "the error is not red at $w"
	[[ $out == *"client sees: kex_exchange_identification: read: Connection reset by peer"* ]] ||
		fail "no client symptom under the row at $w"
	[[ $out == *'server said: "Exceeded MaxStartups"'* ]] || fail "no server text at $w"
	[[ $out == *"check: sshd refused the connection because too many"* ]] || fail "no hint at $w"
	checks=$((checks + 1))
done

# Wide rows carry the client's port and the phase; narrow ones do not.
out=$(COLUMNS=132 "$kw" -q --format text -r "$dir/demo.pcap")
[[ $out == *"198.18.0.1:46588"*"kexinit"*"no_common_algorithm"* ]] || fail "wide row lacks port or phase"
out=$(COLUMNS=80 "$kw" -q --format text -r "$dir/demo.pcap")
[[ $out != *"198.18.0.1:46588"* ]] || fail "narrow row keeps the client port"
# The summary keeps its per-server and per-diagnosis views.
[[ $out == *"by server (top 20):"*"198.18.0.2:22"*"by diagnosis:"*"no_common_algorithm"* ]] ||
	fail "summary views missing"
# A warning is yellow (ip_fragmented is one).
out=$(script -qec "stty cols 100; env -u COLUMNS TERM=xterm $kw -q -r $dir/fail-ip-fragments-client.pcap" /dev/null)
[[ $out == *$'\033[33m'"warning "* ]] || fail "a warning is not yellow"
# Piped: no colour whatever TERM says.
out=$(TERM=xterm COLUMNS=80 "$kw" -q --format text -r "$dir/fail-maxstartups.pcap")
[[ $out != *$'\033['* ]] || fail "colour into a pipe"
checks=$((checks + 4))
echo "ux.table: $checks checks passed"

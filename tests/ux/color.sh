#!/usr/bin/env bash
# ctest ux.color: the text table is coloured on a terminal that supports it
# and never otherwise (a pipe, TERM=dumb, NO_COLOR), and the progress line
# appears on a terminal only. A real pseudo-terminal comes from script(1).
# Usage: color.sh KEXWATCH DEMO_PCAP
set -euo pipefail
kw=$1 demo=$2
command -v script >/dev/null || { echo "skipped: script(1) missing (bsdutils)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
esc=$'\033['
tty() { script -qec "$1" /dev/null; }

out=$(tty "env TERM=xterm $kw -q -r $demo")
[[ $out == *"${esc}32mestablished"* ]] || fail "no colour on an xterm"
[[ $out == *"${esc}31mfailed"* ]] || fail "failed connections not red"
out=$(tty "env TERM=dumb $kw -q -r $demo")
[[ $out != *"$esc"* ]] || fail "colour on a dumb terminal"
out=$(tty "env TERM=xterm NO_COLOR=1 $kw -q -r $demo")
[[ $out != *"$esc"* ]] || fail "colour despite NO_COLOR"
out=$(TERM=xterm "$kw" -q --format text -r "$demo")
[[ $out != *"$esc"* ]] || fail "colour into a pipe"
[[ $out == *"established"* ]] || fail "no table into the pipe"
out=$(TERM=xterm "$kw" -q -r "$demo" 2>/dev/null | head -c 1)
[ "$out" = "{" ] || fail "a pipe gets JSON by default"
echo "ux.color: 7 checks passed"

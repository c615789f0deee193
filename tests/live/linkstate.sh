#!/usr/bin/env bash
# live.linkstate: an interface that goes down is said once on standard error
# ("link down"), and once when it comes back ("link up again"); capture goes
# on after it: a connection refused afterwards gives its record. Also -i any
# beside another -i warns that its packets are seen twice.
# Usage: linkstate.sh KEXWATCH
KW=$1
TEST_NAME=live.linkstate
. "$(dirname "$0")/lib.sh"
live_setup

start_kexwatch ls --stats-interval 0 --limit close_linger_ms=200
ip -n "$NSS" link set "$VS" down
wait_until 10 grep -q "$VS: link down" "$WORK/ls.err" || fail "link down not said: $(cat "$WORK/ls.err")"
sleep 2.5 # two more checks of the link: said once, not every second
[ "$(grep -c "$VS: link down" "$WORK/ls.err")" -eq 1 ] || fail "link down said more than once"
ip -n "$NSS" link set "$VS" up
netns_wait_up "$NSS" "$VS" || fail "veth did not come back up"
wait_until 10 grep -q "$VS: link up again" "$WORK/ls.err" || fail "link up not said: $(cat "$WORK/ls.err")"
netns_wait_up "$NSC" "$VC" || fail "peer veth not up"
in_c "$PY" -c 'import socket; socket.socket().connect_ex(("198.18.0.2", 22))'
wait_until 10 grep -q '"tcp_refused"' "$WORK/ls.stdout" || fail "no record after the link came back"
stop_kexwatch ls
[ "$(grep -c "$VS: link up again" "$WORK/ls.err")" -eq 1 ] || fail "link up said more than once"

log "-i any beside -i $VS"
ip netns exec "$NSS" "$KW" -i any -i "$VS" --stats-interval 0 >"$WORK/any.stdout" 2>"$WORK/any.err" &
KWPID=$!
PIDS+=("$KWPID")
wait_until 10 grep -q "capturing on" "$WORK/any.err" || fail "kexwatch -i any -i $VS did not start"
grep -q "warning: -i any already captures every interface" "$WORK/any.err" ||
	fail "no warning for -i any with another -i: $(cat "$WORK/any.err")"
stop_kexwatch any
pass

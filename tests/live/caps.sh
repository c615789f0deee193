#!/usr/bin/env bash
# live.caps: kexwatch started as a user that is not root, with only
# CAP_NET_RAW and CAP_NET_ADMIN (ambient, as systemd's AmbientCapabilities
# gives them; set here with setpriv from util-linux). It must capture on the
# veth and on "any" (Linux cooked frames, records naming the veth), give the capabilities up once the
# captures are open, and report. Without the capabilities it must fail
# with one clear line. Also: -r and -i together are a usage error.
# Usage: caps.sh KEXWATCH
KW=$1
TEST_NAME=live.caps
. "$(dirname "$0")/lib.sh"
live_setup
need setpriv util-linux
# A copy nobody can run, wherever the build tree is.
install -m 0755 "$KW" "$WORK/kexwatch"
KW="$WORK/kexwatch"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
CAPS=(--inh-caps=+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin)

log "usage: -r with -i"
set +e
"$KW" -r /dev/null -i "$VS" >"$WORK/usage.out" 2>"$WORK/usage.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "-r with -i: exit $rc, not 2"
grep -q "cannot be mixed" "$WORK/usage.err" || fail "-r with -i: no clear message"
[ ! -s "$WORK/usage.out" ] || fail "-r with -i wrote to standard output"

log "no capabilities: a clear failure"
set +e
ip netns exec "$NSS" "${AS_NOBODY[@]}" "$KW" -i "$VS" >"$WORK/nocap.out" 2>"$WORK/nocap.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "without capabilities: exit $rc, not 1"
grep -q "^kexwatch: $VS: .*CAP_NET_RAW" "$WORK/nocap.err" || fail "without capabilities: $(cat "$WORK/nocap.err")"

for iface in "$VS" any; do
	log "CAP_NET_RAW + CAP_NET_ADMIN as nobody, -i $iface"
	ip netns exec "$NSS" "${AS_NOBODY[@]}" "${CAPS[@]}" "$KW" -i "$iface" -B 16384 \
		--stats-interval 0 --limit close_linger_ms=200 >"$WORK/caps-$iface.out" 2>"$WORK/caps-$iface.err" &
	KWPID=$!
	PIDS+=("$KWPID")
	wait_until 10 grep -q "capturing on" "$WORK/caps-$iface.err" || fail "did not start with capabilities"
	status=$(cat "/proc/$KWPID/status")
	grep -Eq '^Uid:\s+65534' <<<"$status" || fail "not running as nobody"
	grep -Eq '^CapEff:\s+0+$' <<<"$status" || fail "effective capabilities kept"
	grep -Eq '^CapPrm:\s+0+$' <<<"$status" || fail "permitted capabilities kept"
	grep -Eq '^CapAmb:\s+0+$' <<<"$status" || fail "ambient capabilities kept"
	in_c "$PY" -c 'import socket; socket.socket().connect_ex(("198.18.0.2", 22))'
	wait_until 10 grep -q '"tcp_refused"' "$WORK/caps-$iface.out" || fail "no record with capabilities"
	stop_kexwatch "caps-$iface"
	# With "any", the record names the interface the frames crossed (cooked v2 index).
	kwpy - "$WORK/caps-$iface.out" "$VS" <<-'EOF' || fail "records"
		import sys, kwlive
		out = kwlive.load(sys.argv[1])
		c = kwlive.Checker("caps")
		c.ok(not out.bad and len(out.ssh) == 1, "one record")
		c.ok(out.ssh and out.ssh[0]["in_iface"] == sys.argv[2], "in_iface " + sys.argv[2])
		c.ok(out.ssh and "tcp_refused" in kwlive.codes(out.ssh[0]), "tcp_refused")
		c.done()
	EOF
done
pass

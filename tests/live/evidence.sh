#!/usr/bin/env bash
# live.evidence: the evidence capture of two interfaces of different link
# types (the veth: Ethernet; a point-to-point TUN link between the
# namespaces, joined by tunrelay.py: raw IP) reads back with kexwatch -r. A refused connection crosses each; each
# must land in the file of its interface's link type (FILE for the first,
# FILE.raw.pcapng for the tunnel), and each file must give back the record
# of its connection, with tcp_refused, when kexwatch reads it.
# Usage: evidence.sh KEXWATCH
KW=$1
TEST_NAME=live.evidence
. "$(dirname "$0")/lib.sh"
live_setup
TC="kwtc$$" TS="kwts$$" # the tunnel's ends
T4C=198.19.0.1 T4S=198.19.0.2

ip -n "$NSC" tuntap add mode tun name "$TC"
ip -n "$NSS" tuntap add mode tun name "$TS"
start_bg "$WORK/relay.log" "$PY" "$LIVE_DIR/tunrelay.py" "$NSC" "$TC" "$NSS" "$TS" 60
ip -n "$NSC" addr add "$T4C" peer "$T4S" dev "$TC"
ip -n "$NSS" addr add "$T4S" peer "$T4C" dev "$TS"
ip -n "$NSC" link set "$TC" up
ip -n "$NSS" link set "$TS" up

EV="$WORK/out/ev.pcapng"
start_kexwatch ev -i "$TS" --evidence-pcap "$EV" --stats-interval 0 \
	--limit close_linger_ms=200
# Nothing listens on port 22: one refusal over the veth, one through the tunnel.
in_c "$PY" -c 'import socket; socket.socket().connect_ex(("198.18.0.2", 22))'
in_c "$PY" -c 'import socket; socket.socket().connect_ex(("198.19.0.2", 22))'
wait_until 15 sh -c "[ \$(grep -c tcp_refused '$WORK/ev.stdout') -ge 2 ]" ||
	fail "two tcp_refused records expected: $(cat "$WORK/ev.stdout")"
stop_kexwatch ev

RAW="$WORK/out/ev.raw.pcapng"
[ -s "$EV" ] || fail "no $EV"
[ -s "$RAW" ] || fail "no file for the tunnel's link type: $(ls "$WORK/out")"
for f in "$EV" "$RAW"; do
	"$KW" -q -r "$f" >"$f.jsonl" 2>"$f.err" || fail "kexwatch -r $(basename "$f"): $(cat "$f.err")"
done
kwpy - "$WORK/ev.stdout" "$EV.jsonl" "$RAW.jsonl" <<-'EOF2' || fail "records"
	import sys, kwlive
	live = kwlive.load(sys.argv[1])
	eth, raw = kwlive.load(sys.argv[2]), kwlive.load(sys.argv[3])
	c = kwlive.Checker("evidence")
	c.ok(not live.bad and len(live.ssh) == 2, "two live records")
	for name, out, dest in (("Ethernet", eth, "198.18.0.2"), ("raw", raw, "198.19.0.2")):
	    c.ok(not out.bad and len(out.ssh) == 1, "%s file: one record (%d)" % (name, len(out.ssh)))
	    if out.ssh:
	        r = out.ssh[0]
	        c.ok(r["dest_ip"] == dest, "%s file: the connection to %s" % (name, dest))
	        c.ok("tcp_refused" in kwlive.codes(r), "%s file: tcp_refused read back" % name)
	c.done()
EOF2
if command -v tcpdump >/dev/null 2>&1; then
	for f in "$EV" "$RAW"; do
		n=$(tcpdump -nn -r "$f" 2>/dev/null | wc -l)
		[ "$n" -ge 2 ] || fail "tcpdump reads $n frames from $(basename "$f")"
	done
fi
pass

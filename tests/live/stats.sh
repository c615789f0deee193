#!/usr/bin/env bash
# live.stats: the statistics records count what the test sent. Phase one:
# four refused connections to port 22 (SYN + RST each: 8 packets, no
# payload, 4 records). SIGUSR1 asks for statistics. Phase two: three
# connections to a plain TCP server on port 2200 (not an SSH port, not SSH),
# each sending exactly 100 bytes. Then SIGTERM. The interval records come
# every second; every count must match what was sent, and libpcap's
# counters must agree with kexwatch's (the filter lets only this TCP
# through). Usage: stats.sh KEXWATCH
KW=$1
TEST_NAME=live.stats
. "$(dirname "$0")/lib.sh"
live_setup
start_bg "$WORK/server.log" timeout 60 ip netns exec "$NSS" "$PY" -c '
import socket
srv = socket.create_server(("198.18.0.2", 2200))
print("listening", flush=True)
for _ in range(3):
    conn, _ = srv.accept()
    while conn.recv(4096):
        pass
    conn.close()
'
wait_until 10 grep -q listening "$WORK/server.log" || fail "server did not start"
start_kexwatch kw -w "$WORK/out/records.jsonl" --stats-interval 1 --limit close_linger_ms=200

for _ in 1 2 3 4; do
	in_c "$PY" -c 'import socket; socket.socket().connect_ex(("198.18.0.2", 22))'
done
records() {
	kwpy -c 'import kwlive,sys; sys.exit(len(kwlive.load(sys.argv[1]).ssh) < 4)' \
		"$WORK/out/records.jsonl"
}
wait_until 10 records || fail "the refused connections were not reported"
kill -USR1 "$KWPID"
signal_stats() {
	kwpy -c 'import kwlive,sys; o=kwlive.load(sys.argv[1]); sys.exit(not any(s["stats"]["reason"] == "signal" for s in o.stats))' \
		"$WORK/out/records.jsonl"
}
wait_until 5 signal_stats || fail "no statistics after SIGUSR1"

in_c "$PY" -c '
import socket
for _ in range(3):
    s = socket.create_connection(("198.18.0.2", 2200), timeout=5)
    s.sendall(b"x" * 100)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
'
# The closes linger; wait for an interval record that has them all closed,
# and for at least three interval records in all (not a fixed time: a
# loaded CI runner can take seconds).
settled() {
	kwpy -c 'import kwlive,sys
iv = [s["stats"] for s in kwlive.load(sys.argv[1]).stats if s["stats"]["reason"] == "interval"]
sys.exit(not (len(iv) >= 3 and iv[-1]["connections"]["seen"] == 7 and iv[-1]["connections"]["open"] == 0))' \
		"$WORK/out/records.jsonl"
}
wait_until 15 settled || fail "the interval records did not show the closed connections"
stop_kexwatch kw

kwpy - "$WORK/out/records.jsonl" "$VS" "$(dirname "$0")/../../docs/schema/ssh-record.schema.json" <<'EOF' || fail "stats"
import sys, kwlive
out = kwlive.load(sys.argv[1])
c = kwlive.Checker("stats")
c.ok(not out.bad, "every line is one JSON record")
reasons = [s["stats"]["reason"] for s in out.stats]
c.ok(reasons.count("interval") >= 3, "interval records every second (%s)" % reasons)
c.ok(reasons.count("signal") == 1 and reasons[-1] == "exit", "one on SIGUSR1, one at exit")
c.ok(all("timestamp" in s for s in out.stats), "each with a timestamp")
sig = [s["stats"] for s in out.stats if s["stats"]["reason"] == "signal"][0]
end = out.stats[-1]["stats"]
cap = sig["capture"][0]
c.ok(cap["interface"] == sys.argv[2], "counters of interface " + sys.argv[2])
c.ok(sig["packets"] == 8 and sig["bytes"] == 0, "SIGUSR1: 8 packets, 0 bytes (%d, %d)"
     % (sig["packets"], sig["bytes"]))
c.ok(cap["ps_recv"] == 8 and cap["ps_drop"] == 0, "SIGUSR1: ps_recv 8, ps_drop 0 (%s)" % cap)
c.ok(sig["connections"]["seen"] == 4 and sig["connections"]["reported"] == 4,
     "SIGUSR1: 4 connections, 4 reported")
c.ok(sig["outcomes"]["failed"] == 4, "SIGUSR1: 4 failed")
c.ok(end["bytes"] == 300, "exit: 300 payload bytes (%d)" % end["bytes"])
c.ok(end["connections"]["seen"] == 7, "exit: 7 connections seen")
c.ok(end["connections"]["reported"] == 4 and end["connections"]["not_ssh"] == 3,
     "exit: 4 reported, 3 not SSH (%s)" % end["connections"])
c.ok(end["connections"]["open"] == 0 and end["connections"]["evicted"] == 0, "exit: none open, none evicted")
c.ok(end["connections"].get("records_lost") == 0 and end["connections"].get("records_unsorted") == 0,
     "exit: no record lost or out of order (%s)" % end["connections"])
c.ok(end["capture"][0]["ps_recv"] == end["packets"] == end["frames"],
     "exit: ps_recv = frames = packets = %d" % end["packets"])
c.ok(end["capture"][0]["ps_drop"] == 0 and end["capture"][0]["ps_ifdrop"] == 0, "exit: no drops")
c.ok(end["outputs"][0]["written"] == len(out.ssh) + len(out.stats) - 1,
     "exit: the file sink counted every record before it")
seq = [s["stats"]["packets"] for s in out.stats]
c.ok(seq == sorted(seq), "counters never go back")
# Every record, stats and ssh alike, validates against the published schema.
import json, jsonschema
schema = json.load(open(sys.argv[3]))
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
errs = [str(e.message) for rec in out.stats + out.ssh for e in v.iter_errors(rec)]
c.ok(not errs, "every record validates against docs/schema (%s)" % errs[:3])
c.done()
EOF
pass

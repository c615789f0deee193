#!/usr/bin/env bash
# live.sigterm: SIGTERM while connections are still open. Three `ssh -N`
# sessions (established, not yet reported: established_report_ms is a
# minute) and two connections held open after the banner (incomplete
# handshakes). After SIGTERM every one of them is written exactly once,
# closed as capture_end, followed by the final statistics, and kexwatch
# exits 0. Usage: sigterm.sh KEXWATCH
KW=$1
TEST_NAME=live.sigterm
. "$(dirname "$0")/lib.sh"
live_setup
sshd_setup
sshd_start
start_kexwatch kw -Z nobody -w "$WORK/out/records.jsonl" --stats-interval 0

log "three ssh -N sessions, two half-open handshakes"
for i in 1 2 3; do
	start_bg "$WORK/ssh-n$i.log" timeout 60 ip netns exec "$NSC" ssh "${SSH_OPTS[@]}" -v -N root@"$S4"
done
start_bg "$WORK/held.log" timeout 60 ip netns exec "$NSC" "$PY" -c '
import socket, sys, time
held = []
for _ in range(2):
    s = socket.create_connection(("198.18.0.2", 22), timeout=10)
    s.sendall(b"SSH-2.0-kexwatch-live-test\r\n")
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held), flush=True)
time.sleep(55)
'
established() {
	[ "$(ip netns exec "$NSC" ss -Htn state established "( dport = :22 )" | wc -l)" -ge 5 ]
}
authenticated() { [ "$(cat "$WORK"/ssh-n?.log | grep -c '^Authenticated to')" -ge 3 ]; }
wait_until 20 established || fail "the five connections did not open"
# Past NEWKEYS for certain once the clients say so (not after a fixed time:
# a loaded CI runner can take seconds).
wait_until 30 authenticated || fail "the three ssh sessions did not authenticate"
ip netns exec "$NSC" ss -Htn state established "( dport = :22 )" |
	awk '{ n = split($3, a, ":"); print a[n] }' | sort -n >"$WORK/ports.txt"
[ "$(wc -l <"$WORK/ports.txt")" -eq 5 ] || fail "expected 5 client ports"
[ ! -s "$WORK/out/records.jsonl" ] || fail "records written before SIGTERM"

stop_kexwatch kw

kwpy - "$WORK/out/records.jsonl" "$WORK/ports.txt" <<'EOF' || fail "records"
import sys, kwlive
out = kwlive.load(sys.argv[1])
ports = sorted(int(p) for p in open(sys.argv[2]).read().split())
c = kwlive.Checker("sigterm")
c.ok(not out.bad, "every line is one JSON record")
got = sorted(r["src_port"] for r in out.ssh)
c.ok(got == ports, "each open connection written exactly once: %s vs %s" % (got, ports))
c.ok(len({r["flow_id"] for r in out.ssh}) == len(out.ssh), "flow_ids unique")
c.ok(all(r["ssh"].get("close", {}).get("kind") == "capture_end" for r in out.ssh),
     "closed as capture_end")
phases = sorted(r["ssh"]["phase"] for r in out.ssh)
c.ok(phases.count("encrypted") + phases.count("newkeys") == 3, "three past NEWKEYS: %s" % phases)
c.ok(len(out.stats) == 1 and out.stats[0]["stats"]["reason"] == "exit", "final statistics")
c.ok(out.stats and out.stats[0]["stats"]["connections"]["reported"] == 5, "stats: 5 reported")
c.done()
EOF
pass

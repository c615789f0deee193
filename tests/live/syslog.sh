#!/usr/bin/env bash
# live.syslog: records delivered to a real rsyslog. rsyslogd is started by
# the test in the server namespace with its own configuration (imudp and
# imtcp on 127.0.0.1:15514, imuxsock on a socket in the test folder, never
# /dev/log), its own pid file, writing what each input receives to its own
# file; it is stopped by PID. kexwatch (-Z nobody) sends to all three and
# to a file at once. First the collector is down: the TCP sink queues, the
# datagram sinks report their failure once and go on; then rsyslog starts,
# more connections are made, and a statistics record is asked for. Every
# message must be one valid JSON record, the TCP stream must carry every
# record of the file (the queue survived the outage), UDP and the local
# socket every record made after rsyslog started. Usage: syslog.sh KEXWATCH
KW=$1
TEST_NAME=live.syslog
. "$(dirname "$0")/lib.sh"
live_setup
need rsyslogd rsyslog
sshd_setup
sshd_start
PORT=15514
RS="$WORK/rsyslog"
mkdir -p "$RS/work"
cat >"$RS/rsyslog.conf" <<EOF
global(workDirectory="$RS/work" maxMessageSize="256k")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
template(name="kwmsg" type="string" string="%app-name% %msgid% %msg%\n")
ruleset(name="udp") { action(type="omfile" file="$RS/udp.log" template="kwmsg") }
ruleset(name="tcp") { action(type="omfile" file="$RS/tcp.log" template="kwmsg") }
ruleset(name="unix") { action(type="omfile" file="$RS/unix.log" template="kwmsg") }
input(type="imudp" address="127.0.0.1" port="$PORT" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="$PORT" ruleset="tcp")
input(type="imuxsock" socket="$RS/log.sock" useSpecialParser="off" ruleset="unix")
EOF

start_kexwatch kw -Z nobody -w "$WORK/out/records.jsonl" --stats-interval 0 \
	--syslog "udp://127.0.0.1:$PORT" --syslog "tcp://127.0.0.1:$PORT" --syslog "unix:$RS/log.sock" \
	--ssh-ports 22,2223 --limit close_linger_ms=300 --limit established_report_ms=1000

records() { # records N: the file holds at least N connection records
	kwpy -c 'import kwlive,sys; sys.exit(len(kwlive.load(sys.argv[1]).ssh) < int(sys.argv[2]))' \
		"$WORK/out/records.jsonl" "$1"
}
log "collector down: two refused connections"
for _ in 1 2; do in_c ssh "${SSH_OPTS[@]}" -p 2223 root@"$S4" true 2>/dev/null && fail "port 2223 answered"; done
wait_until 10 records 2 || fail "no records while the collector is down"
sleep 0.5

log "collector up"
start_bg "$RS/rsyslogd.log" ip netns exec "$NSS" rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid"
RSPID=$BGPID
wait_until 10 sh -c "ip netns exec $NSS ss -ltn | grep -q '127.0.0.1:$PORT' && [ -S '$RS/log.sock' ]" ||
	fail "rsyslogd did not start"
before=$(kwpy -c 'import kwlive,sys; print(len(kwlive.load(sys.argv[1]).ssh))' "$WORK/out/records.jsonl")
in_c ssh "${SSH_OPTS[@]}" root@"$S4" true || fail "login failed"
in_c ssh "${SSH_OPTS[@]}" -o KexAlgorithms=curve25519-sha256 root@"$S6" true || fail "login failed"
in_c ssh "${SSH_OPTS[@]}" -p 2223 root@"$S4" true 2>/dev/null && fail "port 2223 answered"
wait_until 15 records 5 || fail "the records after the restart did not come"
kill -USR1 "$KWPID"
sleep 1
stop_kexwatch kw
# Everything sent is in rsyslog's files once they stop growing.
stable() {
	local now
	now=$(cat "$RS"/*.log 2>/dev/null | wc -c)
	[ "$now" = "${LAST_SIZE:-x}" ] && return 0
	LAST_SIZE=$now
	return 1
}
wait_until 10 stable || true
stop_pid "$RSPID" TERM
[ ! -e "$RS/rsyslogd.pid" ] || ! kill -0 "$(cat "$RS/rsyslogd.pid")" 2>/dev/null ||
	fail "rsyslogd still running"

kwpy - "$WORK/out/records.jsonl" "$RS" "$before" "$WORK/kw.err" "$PORT" <<'EOF' || fail "syslog"
import sys, json, kwlive
fileout = kwlive.load(sys.argv[1])
rs, before, err, port = sys.argv[2], int(sys.argv[3]), open(sys.argv[4]).read(), sys.argv[5]
c = kwlive.Checker("syslog")
key = lambda r: (r["event_type"], r.get("flow_id"), r["timestamp"])
recs_file = fileout.ssh + fileout.stats
c.ok(len(fileout.ssh) == 5 and len(fileout.stats) == 2, "file: 5 connections, 2 stats")
for name in ("tcp", "udp", "unix"):
    lines = open("%s/%s.log" % (rs, name)).read().splitlines()
    msgs, bad = [], []
    for ln in lines:
        app, msgid, msg = (ln.split(" ", 2) + ["", ""])[:3]
        try:
            rec = json.loads(msg)
        except ValueError:
            bad.append(ln[:120])
            continue
        if app != "kexwatch" or msgid != rec.get("event_type"):
            bad.append("header: " + ln[:80])
        msgs.append(rec)
    c.ok(not bad, "%s: every message one JSON record with APP-NAME and MSGID %s" % (name, bad[:2]))
    got = sorted(map(key, msgs))
    if name == "tcp":
        want = sorted(map(key, recs_file))
        c.ok(got == want, "tcp: every record, the outage's queued ones too (%d of %d)"
             % (len(got), len(want)))
    else:
        later = sorted(map(key, fileout.ssh[before:] + fileout.stats))
        c.ok(all(k in got for k in later) and set(got) <= set(map(key, recs_file)),
             "%s: every record since rsyslog started (%d, of %d)" % (name, len(got), len(later)))
    c.ok(len(set(got)) == len(got), "%s: none twice" % name)
for target in ("udp://127.0.0.1:" + port, "unix:"):
    n = sum(1 for l in err.splitlines() if target in l and "retrying" in l)
    c.ok(n <= 1, "%s: its failure reported once at most (%d)" % (target, n))
c.ok(any("unix:" in l and "retrying" in l for l in err.splitlines()),
     "the unix socket's failure was reported")
c.done()
EOF
pass

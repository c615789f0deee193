#!/usr/bin/env bash
# live.unit: kexwatch run as the shipped systemd unit runs it, without
# systemd as init. From packaging/kexwatch.service (the file the package
# installs): its ExecStart with its environment (the interface set to the
# server's veth, the log folder moved to the test's), as a user that is not
# root with only the unit's ambient capabilities, as DynamicUser and
# AmbientCapabilities make it. A real sshd login and a refused connection
# must give records and evidence; every system call kexwatch made (traced
# with strace) must be allowed by the unit's SystemCallFilter; and the
# shipped logrotate file, run by logrotate with its postrotate signalling
# this process, must rotate the records with kexwatch writing a new file.
# Usage: unit.sh KEXWATCH
KW=$1
TEST_NAME=live.unit
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$LIVE_DIR/../.." && pwd)
UNIT=$SRC/packaging/kexwatch.service
LOGROTATE=$SRC/packaging/kexwatch.logrotate
live_setup
need strace strace
need setpriv util-linux
need logrotate logrotate
need systemd-analyze systemd
sshd_setup
sshd_start

# unit_value KEY: the unit's value (continuation lines joined), last one wins.
unit_value() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$UNIT" | sed -n "s/^$1=//p" | tail -1
}
execstart=$(unit_value ExecStart)
caps=$(unit_value AmbientCapabilities)
filter=$(unit_value SystemCallFilter)
[ -n "$execstart" ] && [ "$caps" = "CAP_NET_RAW CAP_NET_ADMIN" ] && [ -n "$filter" ] ||
	fail "unit lacks ExecStart, AmbientCapabilities or SystemCallFilter"
logdir=$WORK/log
mkdir -p "$logdir"
chown 65534:65534 "$logdir"
chmod 750 "$logdir"
# The unit's command line, for this namespace's interface and folder.
cmd=${execstart//\$\{KEXWATCH_IFACE\}/$VS}
cmd=${cmd//\/var\/log\/kexwatch/$logdir}
cmd=${cmd//\$KEXWATCH_ARGS/--limit close_linger_ms=1000 --ssh-ports 22,2222}
cmd=${cmd/\/usr\/bin\/kexwatch/$KW}
cmd=${cmd/ -q / }
read -r -a argv <<<"$cmd"
ip netns exec "$NSS" iptables -A INPUT -p tcp --dport 2222 -j REJECT --reject-with tcp-reset

# As DynamicUser with AmbientCapabilities: another user, only these two
# capabilities, inherited through exec; no_new_privs as NoNewPrivileges.
# LeakSanitizer cannot run under ptrace; the other live tests check leaks.
ip netns exec "$NSS" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -o "$WORK/strace.txt" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs \
	--inh-caps=-all,+net_raw,+net_admin --ambient-caps=-all,+net_raw,+net_admin \
	--bounding-set=-all,+net_raw,+net_admin "${argv[@]}" >"$WORK/kw.stdout" 2>"$WORK/kw.err" &
KWPID=$!
PIDS+=("$KWPID")
wait_until 20 grep -q "capturing on" "$WORK/kw.err" || fail "kexwatch did not start as the unit"

in_c ssh "${SSH_OPTS[@]}" root@"$S4" true || fail "login failed"
in_c ssh "${SSH_OPTS[@]}" -p 2222 root@"$S4" true 2>/dev/null && fail "the firewalled login succeeded"
have_records() { [ "$(grep -c '"event_type":"ssh"' "$logdir/kexwatch.jsonl" 2>/dev/null)" -ge 2 ]; }
wait_until 20 have_records || fail "no records in the unit's log file"

# The shipped logrotate file, pointed at this folder, its postrotate
# signalling this kexwatch instead of systemctl.
kwpid=$(pgrep -f -n "$KW -i $VS") || fail "kexwatch process not found"
sed -e "s|/var/log/kexwatch|$logdir|" \
	-e "s|systemctl kill -s HUP --kill-whom=main kexwatch.service|kill -HUP $kwpid|" \
	"$LOGROTATE" >"$WORK/logrotate.conf"
grep -q "kill -HUP $kwpid" "$WORK/logrotate.conf" || fail "postrotate line not found in $LOGROTATE"
logrotate -f -s "$WORK/logrotate.state" "$WORK/logrotate.conf" 2>"$WORK/logrotate.err" ||
	fail "logrotate failed: $(cat "$WORK/logrotate.err")"
[ -s "$logdir/kexwatch.jsonl.1" ] || fail "logrotate did not rotate the records"
in_c ssh "${SSH_OPTS[@]}" root@"$S4" true || fail "second login failed"
new_file() { grep -q '"event_type":"ssh"' "$logdir/kexwatch.jsonl" 2>/dev/null; }
wait_until 20 new_file || fail "kexwatch did not write a new file after the rotation"
[ "$(stat -c %u "$logdir/kexwatch.jsonl")" = 65534 ] || fail "new file not the service user's"

# KillSignal=SIGTERM to kexwatch itself ($KWPID is strace, which exits with it).
kill -TERM "$kwpid"
gone() { ! kill -0 "$KWPID" 2>/dev/null; }
wait_until 20 gone || fail "kexwatch did not stop after SIGTERM"
rc=0
wait "$KWPID" || rc=$?
[ "$rc" -eq 0 ] || fail "kexwatch exited with $rc after SIGTERM: $(tail -3 "$WORK/kw.err")"
check_sanitizers "$WORK/kw.err"
[ -s "$logdir/evidence.pcapng" ] || fail "no evidence of the refused connection"
grep -q "tcp_refused" "$logdir/kexwatch.jsonl.1" "$logdir/kexwatch.jsonl" || fail "no tcp_refused record"

# Every system call kexwatch made (after setpriv's exec of it) is one the
# unit's SystemCallFilter allows.
systemd-analyze syscall-filter >"$WORK/groups.txt" 2>/dev/null || fail "systemd-analyze syscall-filter"
"$PY" - "$WORK/strace.txt" "$WORK/groups.txt" "$filter" "$KW" <<'PY' || fail "system call filter"
import re, sys
trace, groups_txt, filt, kw = sys.argv[1:5]
groups, cur = {}, None
for line in open(groups_txt):
    s = line.strip()
    if line.startswith("@"):
        cur = s
        groups[cur] = set()
    elif cur and s and not s.startswith("#"):
        groups[cur].add(s)
def expand(name, seen=()):
    if not name.startswith("@"):
        return {name}
    out = set()
    for m in groups.get(name, ()):
        if m not in seen:
            out |= expand(m, seen + (name,))
    return out
allowed = set()
for item in filt.split():
    allowed |= expand(item)
if len(allowed) < 100:
    sys.exit(f"only {len(allowed)} system calls in {filt}")
used, started = set(), False
for line in open(trace):
    m = re.match(r"\d+\s+(\w+)\(", line)
    if not m:
        continue
    if m.group(1) == "execve" and kw in line:
        started = True
        continue
    if started:
        used.add(m.group(1))
if not started or len(used) < 10:
    sys.exit(f"trace: kexwatch's exec not found or too few calls ({len(used)})")
bad = sorted(used - allowed)
if bad:
    sys.exit(f"system calls outside {filt}: {bad}")
print(f"{len(used)} system calls, all in {filt}")
PY
# The unit's hardening, as systemd measures it.
score=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || fail "exposure $score > 3.0"
log "exposure level $score"
pass

#!/usr/bin/env bash
# live.sighup: logrotate while records flow. A client keeps opening
# connections that are refused (one record each, 0.2 s after the reset);
# meanwhile the output file is renamed and kexwatch gets SIGHUP, three
# times: twice as logrotate's `create` does it (the new file made by the
# rotation, owned by the kexwatch user), once leaving kexwatch to create it
# (as nobody, after -Z). Across all the files every connection must have
# exactly one record, and every line must be one whole record.
# Usage: sighup.sh KEXWATCH
KW=$1
TEST_NAME=live.sighup
. "$(dirname "$0")/lib.sh"
live_setup
OUT="$WORK/out/kexwatch.jsonl"
start_kexwatch kw -Z nobody -w "$OUT" --stats-interval 0 --limit close_linger_ms=200

# The client: a refused connection every 20 ms, its source port logged,
# until the test makes the stop file (or 30 s pass).
STOP="$WORK/client.stop"
start_bg "$WORK/ports.txt" timeout 60 ip netns exec "$NSC" "$PY" -c '
import os, socket, sys, time
end = time.time() + 30
while time.time() < end and not os.path.exists(sys.argv[1]):
    s = socket.socket()
    s.bind(("198.18.0.1", 0))
    print(s.getsockname()[1], flush=True)
    s.connect_ex(("198.18.0.2", 22))
    s.close()
    time.sleep(0.02)
' "$STOP"
CLIENT=$BGPID

# Each file must get records before it is rotated away; on a loaded machine
# the client may start late, so wait for them rather than for a fixed time.
rotate() { # rotate N create|nocreate
	wait_until 15 grep -q tcp_refused "$OUT" || fail "no record in the file before rotation $1"
	sleep 1
	mv "$OUT" "$OUT.$1"
	if [ "$2" = create ]; then
		install -m 0640 -o nobody -g nogroup /dev/null "$OUT"
	fi
	kill -HUP "$KWPID"
}
rotate 1 create
rotate 2 nocreate
rotate 3 create
wait_until 15 grep -q tcp_refused "$OUT" || fail "no record in the file after the last rotation"
log "rotated three times; stopping the client"
touch "$STOP"
for _ in $(seq 1 100); do kill -0 "$CLIENT" 2>/dev/null || break; sleep 0.1; done
stop_pid "$CLIENT"
sleep 1.5 # the last records come after the close linger
stop_kexwatch kw
[ "$(stat -c %U "$OUT")" = nobody ] || fail "the output file is not the kexwatch user's"

kwpy - "$WORK/ports.txt" "$OUT.1" "$OUT.2" "$OUT.3" "$OUT" <<'EOF' || fail "records"
import sys, kwlive
from collections import Counter
ports = sorted(int(p) for p in open(sys.argv[1]).read().split())
c = kwlive.Checker("sighup")
per_file = []
got = []
bad = []
for path in sys.argv[2:]:
    out = kwlive.load(path)
    per_file.append(len(out.ssh))
    got += [r["src_port"] for r in out.ssh]
    bad += out.bad
c.ok(len(ports) > 100, "the client made %d connections" % len(ports))
c.ok(not bad, "no record split or torn across files: %s" % bad[:3])
c.ok(all(n > 0 for n in per_file), "every file got records: %s" % per_file)
# The kernel may give one source port to two connections: count, per port.
want, have = Counter(ports), Counter(got)
dup = sorted(p for p in have if have[p] > want[p])
c.ok(not dup, "no record twice: %s" % dup[:5])
missing = sorted(p for p in want if have[p] < want[p])
c.ok(not missing, "no record lost: %d missing %s" % (len(missing), missing[:5]))
c.ok(len(got) == len(ports), "%d records for %d connections" % (len(got), len(ports)))
c.done()
EOF
pass

#!/usr/bin/env bash
# live.rotation: -r DIR and --follow DIR against a real tcpdump rotation.
# tcpdump in the server namespace writes a -G 1 rotation (a file a second)
# while kexwatch --follow reads the folder, during logins spread over a few
# seconds and one session that spans several files; then a -C 1 rotation
# (a file per megabyte: cap, cap1, ... cap10, which sort wrongly by name)
# of one 12 MB transfer. Each connection must be one record whatever file
# boundaries it crossed, --follow must give the records -r DIR gives, and
# -r DIR must order the -C files by their first packet.
# Usage: rotation.sh KEXWATCH
KW=$1
TEST_NAME=live.rotation
. "$(dirname "$0")/lib.sh"
live_setup
need tcpdump tcpdump
sshd_setup
sshd_start
mkdir -p "$WORK/g" "$WORK/c"
chown nobody:nogroup "$WORK/g" "$WORK/c" 2>/dev/null || true

# tcpdump NAME ARGS...: a rotation in the server namespace (tcpdump drops to
# its own user unless -Z root).
start_tcpdump() {
	local name=$1
	shift
	start_bg "$WORK/$name.tcpdump.log" ip netns exec "$NSS" tcpdump -i "$VS" -n -s 0 -U -B 65536 -Z root "$@" tcp
	TDPID=$BGPID
	wait_until 10 grep -q "listening on" "$WORK/$name.tcpdump.log" || fail "tcpdump did not start"
}

# -G 1: one file a second, read by --follow as they are finished.
start_tcpdump g -G 1 -w "$WORK/g/cap-%s.pcap"
"$KW" --follow "$WORK/g" --format json --sensor-name golden --limit close_linger_ms=500 \
	>"$WORK/follow.jsonl" 2>"$WORK/follow.err" &
FOLLOWPID=$!
PIDS+=("$FOLLOWPID")
wait_until 10 grep -q "following" "$WORK/follow.err" || fail "kexwatch --follow did not start"
in_c ssh "${SSH_OPTS[@]}" root@"$S4" true || fail "login 1"
sleep 1.2
in_c ssh "${SSH_OPTS[@]}" root@"$S4" 'sleep 3; echo done' >/dev/null || fail "long session"
in_c ssh "${SSH_OPTS[@]}" root@"$S6" true || fail "login over IPv6"
sleep 1.2
in_c ssh "${SSH_OPTS[@]}" -o KexAlgorithms=diffie-hellman-group1-sha1 root@"$S4" true 2>/dev/null &&
	fail "the mismatched login succeeded"
sleep 1.2
stop_pid "$TDPID" TERM
nfiles=$(find "$WORK/g" -name 'cap-*.pcap' | wc -l)
[ "$nfiles" -ge 4 ] || fail "tcpdump -G 1 wrote only $nfiles files"
sleep 1
kill -TERM "$FOLLOWPID"
gone() { ! kill -0 "$FOLLOWPID" 2>/dev/null; }
wait_until 20 gone || fail "kexwatch --follow did not stop"
rc=0
wait "$FOLLOWPID" || rc=$?
[ "$rc" -eq 0 ] || fail "kexwatch --follow exited with $rc: $(tail -3 "$WORK/follow.err")"
check_sanitizers "$WORK/follow.err"
"$KW" -q -r "$WORK/g" --format json --sensor-name golden --limit close_linger_ms=500 \
	>"$WORK/dir.jsonl" 2>"$WORK/dir.err" || fail "kexwatch -r DIR: $(cat "$WORK/dir.err")"
check_sanitizers "$WORK/dir.err"

# -C 1: files of a megabyte, cap, cap1, ... cap10 and more.
start_tcpdump c -C 1 -w "$WORK/c/cap"
in_c ssh "${SSH_OPTS[@]}" root@"$S4" 'head -c 12000000 /dev/zero' >/dev/null || fail "transfer"
# tcpdump may lag behind a 12 MB burst on a loaded machine: stop it once its
# files have stopped growing (the last FIN written), not after a fixed sleep.
settled() {
	local now
	now=$(cat "$WORK"/c/cap* 2>/dev/null | wc -c)
	[ "$now" = "${LAST_C:-x}" ] && return 0
	LAST_C=$now
	sleep 0.5
	return 1
}
wait_until 20 settled || fail "tcpdump -C files never settled"
stop_pid "$TDPID" TERM
ls "$WORK/c" >"$WORK/c.files"
grep -qx cap10 "$WORK/c.files" || fail "tcpdump -C 1 wrote no cap10: $(tr '\n' ' ' <"$WORK/c.files")"
"$KW" -q -r "$WORK/c" --format json --sensor-name golden >"$WORK/c.jsonl" 2>"$WORK/c.err" ||
	fail "kexwatch -r DIR (-C): $(cat "$WORK/c.err")"
check_sanitizers "$WORK/c.err"

kwpy - "$WORK" "$nfiles" <<'PY' || fail "records"
import json, sys, kwlive
work, nfiles = sys.argv[1], int(sys.argv[2])
c = kwlive.Checker("rotation")
def load(name):
    return [json.loads(l) for l in open(f"{work}/{name}") if l.strip()]
def key(r):
    s = r["ssh"]
    return (r["src_ip"], r["src_port"], r["dest_port"], s["outcome"], s["phase"],
            s.get("negotiated", {}).get("kex"), tuple(d["code"] for d in s.get("diagnoses", [])))
follow, whole = load("follow.jsonl"), load("dir.jsonl")
c.ok(len(whole) == 4, "4 connections from the -G rotation, one record each (got %d)" % len(whole))
c.ok(sorted(map(key, follow)) == sorted(map(key, whole)),
     "--follow gives the records -r DIR gives (%d and %d)" % (len(follow), len(whole)))
est = [r for r in whole if r["ssh"]["outcome"] == "established"]
c.ok(len(est) == 3, "3 established (got %d)" % len(est))
files = {r["pcap_filename"] for r in whole}
c.ok(all(f.startswith(work + "/g/cap-") for f in files), "records name the rotation's files")
longest = max(est, key=lambda r: r["ssh"]["close"]["after_ms"])
c.ok(longest["ssh"]["close"]["after_ms"] > 2500 and longest["ssh"]["close"]["kind"] == "fin",
     "the 3 s session spans files and ends in one record, closed by FIN")
failed = [r for r in whole if r["ssh"]["outcome"] == "failed"]
c.ok(len(failed) == 1 and failed[0]["ssh"]["diagnoses"][0]["code"] == "no_common_algorithm",
     "the mismatch is one failed record")
big = load("c.jsonl")
c.ok(len(big) == 1, "the 12 MB transfer across the -C files is one record (got %d)" % len(big))
if big:
    b = big[0]["ssh"]
    c.ok(b["outcome"] == "established" and b["close"]["kind"] == "fin" and
         b.get("session", {}).get("bytes_s2c", 0) > 12000000,
         "established, closed by FIN, over 12 MB from the server: files read in time order "
         "(%s, %s, %s bytes)" % (b["outcome"], b.get("close", {}).get("kind"),
                                 b.get("session", {}).get("bytes_s2c")))
    c.ok(big[0]["pcap_filename"].endswith("/c/cap"), "the first file is cap, not cap1")
c.done()
PY
pass

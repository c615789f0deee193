#!/usr/bin/env bash
# hostkeys.sh — live.hostkeys: host-key continuity (--state) against a REAL
# sshd in a network namespace.
#
# usage: sudo tests/hostkeys/hostkeys.sh KEXWATCH
#        KEEP_WORK=1 keeps the temporary folder (captures, records, state).
#
# Generates host keys, captures logins to sshd with tcpdump, regenerates the
# ed25519 key, restarts sshd, captures again, and checks with one state file:
#   - no host_key_changed across captures with the same keys, nor when the
#     client switches key type (HostKeyAlgorithms ecdsa-sha2-nistp256 vs
#     ssh-ed25519);
#   - host_key_changed with both fingerprints (as ssh-keygen -l prints them)
#     after the re-key, across runs and within one run;
#   - host_key_shared when one key answers on four addresses (threshold 3);
#   - kexwatch hostkeys lists the keys (text, JSON) and --forget accepts the
#     new key;
#   - SIGKILL of kexwatch in the middle of a long paced capture leaves a state
#     file that passes PRAGMA integrity_check and that kexwatch reads again.
#
# Exit 0 pass, 1 fail, 77 skip (not root, tools missing, no namespaces).
#
# Network: only between the two namespaces made here: 198.18.0.1 (client),
# 198.18.0.2-.5 (server), 2001:db8::1/::2. Every wait loop is bounded; every
# client runs under `timeout`; a trap kills every process started here, by
# PID, and deletes the namespaces, even on failure. Nothing in the real /root
# is read or written: clients run in a private mount namespace with a
# temporary home bound over /root.
set -euo pipefail

KW=${1:?usage: hostkeys.sh KEXWATCH}
KW=$(cd "$(dirname "$KW")" && pwd)/$(basename "$KW")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REC=$HERE/records.py
CLIENT_TIMEOUT=20
START=$(date +%s)

skip() { echo "hostkeys.sh: skipped: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for t in /usr/sbin/sshd ssh ssh-keygen tcpdump sqlite3 ip unshare timeout python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
[ -x "$KW" ] || { echo "hostkeys.sh: $KW is not executable" >&2; exit 1; }

NSC="kwhk-c-$$"
NSS="kwhk-s-$$"
NETNS=("$NSC" "$NSS")   # emptied and deleted by the EXIT trap
C4=198.18.0.1 S4=198.18.0.2
FAILS=0
NETNS_OFFLOADS=""       # no ethtool here: offloads stay as the kernel sets them
SCRIPT_NAME=hostkeys.sh # for die
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"   # log, die, start_bg, stop_pid, cleanup trap, veth setup
netns_begin hostkeys

ok() { log "ok: $*"; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); }
expect_eq() { # what got want
    if [ "$2" = "$3" ]; then ok "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi
}

# ---------------------------------------------------------------- network
netns_add "$NSC" 2>/dev/null || skip "cannot create network namespaces"
netns_add "$NSS"
netns_veth "$NSC" veth-c "$NSS" veth-s
# Four server addresses: one host key on all of them is host_key_shared.
netns_up "$NSC" veth-c "$C4/24" 2001:db8::1/64
netns_up "$NSS" veth-s 198.18.0.{2,3,4,5}/24 2001:db8::2/64
netns_wait_up "$NSC" veth-c && netns_wait_up "$NSS" veth-s || die "veth pair did not come up"

# ---------------------------------------------------------------- keys
K=$WORK/keys
mkdir -p "$K" "$WORK/home" "$WORK/caps" "$WORK/logs" "$WORK/out" /run/sshd
chmod 700 "$WORK/home"
chmod 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C hk-ed25519 -f "$K/host_ed25519"
ssh-keygen -q -t ecdsa -b 256 -N '' -C hk-ecdsa -f "$K/host_ecdsa"
ssh-keygen -q -t ed25519 -N '' -C hk-client -f "$K/client"
cp "$K/client.pub" "$K/authorized_keys"
fp() { ssh-keygen -lf "$1" | awk '{print $2}'; }
FP_ED_OLD=$(fp "$K/host_ed25519.pub")
FP_EC=$(fp "$K/host_ecdsa.pub")

# ---------------------------------------------------------------- sshd, capture, clients
SSHD_PID=""
start_sshd() { # name
    local conf=$WORK/sshd-$1.conf
    { cat <<EOF
Port 22
AddressFamily any
HostKey $K/host_ed25519
HostKey $K/host_ecdsa
PidFile $WORK/sshd-$1.pid
LogLevel INFO
EOF
      sshd_test_lines "$K/authorized_keys"; } >"$conf"
    start_bg "$WORK/sshd-$1.log" ip netns exec "$NSS" /usr/sbin/sshd -D -e -f "$conf"
    SSHD_PID=$BGPID
    netns_wait_listen "$NSS" 22 "$SSHD_PID" && return 0
    cat "$WORK/sshd-$1.log" >&2
    die "sshd did not listen"
}
stop_sshd() { [ -z "$SSHD_PID" ] || stop_pid "$SSHD_PID" TERM; SSHD_PID=""; }

start_capture() { netns_capture_start "$1" "$NSS" veth-s tcp; } # name

login() { # address [ssh options...]
    local addr=$1; shift
    timeout --kill-after=5 "$CLIENT_TIMEOUT" \
        ip netns exec "$NSC" unshare --mount --propagation private \
        bash -c 'mount --bind "$0" /root && exec "$@"' "$WORK/home" \
        ssh -F /dev/null -n -T -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -o IdentityFile="$K/client" -o ConnectTimeout=10 \
        -o ConnectionAttempts=1 "$@" "root@$addr" true </dev/null >>"$WORK/client.log" 2>&1 ||
        die "login to $addr $* failed (see client.log)"
}

ECDSA=(-o HostKeyAlgorithms=ecdsa-sha2-nistp256)
ED25519=(-o HostKeyAlgorithms=ssh-ed25519)

log "capturing: same keys (two captures), one key on four addresses"
start_sshd before
start_capture same1
login "$S4"; login "$S4"; login "$S4" "${ECDSA[@]}"; login "$S4" "${ED25519[@]}"; login "$S4"
netns_capture_stop same1
start_capture same2
login "$S4" "${ECDSA[@]}"; login "$S4"; login "$S4" "${ED25519[@]}"; login "$S4" "${ECDSA[@]}"
netns_capture_stop same2
start_capture shared
login 198.18.0.3; login 198.18.0.4; login 198.18.0.5
netns_capture_stop shared
stop_sshd

log "regenerating the ed25519 host key, restarting sshd"
rm -f "$K/host_ed25519" "$K/host_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C hk-ed25519-new -f "$K/host_ed25519"
FP_ED_NEW=$(fp "$K/host_ed25519.pub")
[ "$FP_ED_NEW" != "$FP_ED_OLD" ] || die "the new key has the old fingerprint"
start_sshd after
start_capture rekeyed
login "$S4"; login "$S4" "${ECDSA[@]}"; login "$S4" "${ED25519[@]}"
netns_capture_stop rekeyed
stop_sshd

C=$WORK/caps O=$WORK/out
run() { # out state args...
    local out=$1 state=$2; shift 2
    "$KW" -q --format json --state "$state" "$@" >"$out" 2>"$out.err" ||
        { cat "$out.err" >&2; fail "kexwatch $* exited non-zero"; }
}
count() { python3 "$REC" count "$1" "$2"; }
evidence() { python3 "$REC" evidence "$1" "$2" "$3" | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# ---------------------------------------------------------------- no false change
S1=$WORK/state1.db
run "$O/same1.jsonl" "$S1" -r "$C/same1.pcap"
run "$O/same2.jsonl" "$S1" -r "$C/same2.pcap"
expect_eq "same1: connections with a host key" "$(python3 "$REC" hostkeys "$O/same1.jsonl")" 5
expect_eq "same1: the client switched key types" "$(python3 "$REC" keytypes "$O/same1.jsonl")" \
    "ecdsa-sha2-nistp256 ssh-ed25519"
expect_eq "same2 (second run, same state): connections with a host key" \
    "$(python3 "$REC" hostkeys "$O/same2.jsonl")" 4
expect_eq "same keys, first run: host_key_changed" "$(count "$O/same1.jsonl" host_key_changed)" 0
expect_eq "same keys, second run: host_key_changed" "$(count "$O/same2.jsonl" host_key_changed)" 0
expect_eq "one address: host_key_shared" "$(count "$O/same2.jsonl" host_key_shared)" 0

# ---------------------------------------------------------------- the change
run "$O/rekeyed.jsonl" "$S1" -r "$C/rekeyed.pcap"
expect_eq "after the re-key: host_key_changed (2 ed25519 logins, not the ecdsa one)" \
    "$(count "$O/rekeyed.jsonl" host_key_changed)" 2
expect_eq "old fingerprint" "$(evidence "$O/rekeyed.jsonl" host_key_changed old_fingerprint)" \
    "$FP_ED_OLD"
expect_eq "new fingerprint" "$(evidence "$O/rekeyed.jsonl" host_key_changed new_fingerprint)" \
    "$FP_ED_NEW"
expect_eq "key type" "$(evidence "$O/rekeyed.jsonl" host_key_changed key_type)" ssh-ed25519
expect_eq "server" "$(evidence "$O/rekeyed.jsonl" host_key_changed server_ip):$(evidence \
    "$O/rekeyed.jsonl" host_key_changed server_port)" "$S4:22"
expect_eq "same sshd: banner_changed" \
    "$(evidence "$O/rekeyed.jsonl" host_key_changed banner_changed)" false
expect_eq "same sshd: hassh_server_changed" \
    "$(evidence "$O/rekeyed.jsonl" host_key_changed hassh_server_changed)" false
last=$(evidence "$O/rekeyed.jsonl" host_key_changed old_last_seen)
[ -n "$last" ] && [ "$last" != null ] && ok "old key last seen: $last" || fail "no old_last_seen"

# Within one run, one fresh state file, both captures.
S2=$WORK/state2.db
run "$O/onerun.jsonl" "$S2" -r "$C/same1.pcap" -r "$C/rekeyed.pcap"
expect_eq "one run over both captures: host_key_changed" \
    "$(count "$O/onerun.jsonl" host_key_changed)" 2
expect_eq "one run: fingerprints" \
    "$(evidence "$O/onerun.jsonl" host_key_changed old_fingerprint) -> $(evidence \
    "$O/onerun.jsonl" host_key_changed new_fingerprint)" "$FP_ED_OLD -> $FP_ED_NEW"

# ---------------------------------------------------------------- shared
S3=$WORK/state3.db
run "$O/shared.jsonl" "$S3" -r "$C/same1.pcap" -r "$C/shared.pcap"
expect_eq "one key on 4 addresses, threshold 3: host_key_shared" \
    "$(count "$O/shared.jsonl" host_key_shared)" 1
expect_eq "address_count" "$(evidence "$O/shared.jsonl" host_key_shared address_count)" 4
expect_eq "shared fingerprint" "$(evidence "$O/shared.jsonl" host_key_shared fingerprint)" \
    "$FP_ED_OLD"
rm -f "$S3"
run "$O/shared4.jsonl" "$S3" --hostkey-share-threshold 4 -r "$C/same1.pcap" -r "$C/shared.pcap"
expect_eq "threshold 4: host_key_shared" "$(count "$O/shared4.jsonl" host_key_shared)" 0

# ---------------------------------------------------------------- hostkeys
"$KW" hostkeys --state "$S1" --format text >"$O/list.txt" || fail "hostkeys (text) failed"
grep -q "^$S4 port 22$" "$O/list.txt" && grep -q "CHANGED" "$O/list.txt" &&
    grep -qF "$FP_ED_OLD" "$O/list.txt" && grep -qF "$FP_ED_NEW" "$O/list.txt" &&
    grep -qF "$FP_EC" "$O/list.txt" && ok "hostkeys text lists both ed25519 keys and the ecdsa key" ||
    { cat "$O/list.txt" >&2; fail "hostkeys text listing"; }
"$KW" hostkeys --state "$S1" --format json >"$O/list.json" || fail "hostkeys (json) failed"
got=$(python3 - "$O/list.json" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    s = json.loads(line)
    for k in s["keys"]:
        print(s["server"], s["port"], k["type"], k["fingerprint"], k["status"], k["times_seen"])
EOF
)
want="$S4 22 ecdsa-sha2-nistp256 $FP_EC remembered 4
$S4 22 ssh-ed25519 $FP_ED_OLD remembered 6
$S4 22 ssh-ed25519 $FP_ED_NEW changed 2"
expect_eq "hostkeys json" "$got" "$want"

"$KW" hostkeys --state "$S1" --forget "$S4:22" >"$O/forget.txt" || fail "hostkeys --forget failed"
expect_eq "forget output" "$(cat "$O/forget.txt")" "forgot 3 host keys of $S4 port 22"
run "$O/after-forget.jsonl" "$S1" -r "$C/rekeyed.pcap"
expect_eq "after --forget: host_key_changed" "$(count "$O/after-forget.jsonl" host_key_changed)" 0
"$KW" hostkeys --state "$S1" --format json >"$O/list2.json"
grep -qF "\"fingerprint\":\"$FP_ED_NEW\",\"status\":\"remembered\"" "$O/list2.json" &&
    ! grep -qF "$FP_ED_OLD" "$O/list2.json" && ok "after --forget the new key is remembered" ||
    { cat "$O/list2.json" >&2; fail "listing after --forget"; }
set +e
"$KW" hostkeys --state "$S1" --forget "not-an-address" >/dev/null 2>&1
rc=$?
"$KW" hostkeys --state "$WORK/missing.db" >/dev/null 2>&1
rc2=$?
set -e
expect_eq "bad --forget is a usage error" "$rc" 2
expect_eq "missing state file fails" "$rc2" 1
[ ! -e "$WORK/missing.db" ] && ok "hostkeys does not create a state file" ||
    fail "hostkeys created $WORK/missing.db"

# ---------------------------------------------------------------- crash
# A long capture, paced through a pipe, so that the kill lands mid-run with
# batches already committed and more sightings queued.
S4DB=$WORK/crash.db
mkfifo "$WORK/feed"
start_bg "$WORK/replay.log" bash -c 'exec python3 "$0" replay "$1" 100000 0.002 >"$2"' \
    "$REC" "$C/same1.pcap" "$WORK/feed"
REPLAY_PID=$BGPID
start_bg "$O/crash.err" bash -c 'exec "$0" -q --format json --state "$1" -r - -w "$2" <"$3"' \
    "$KW" "$S4DB" "$O/crash.jsonl" "$WORK/feed"
KW_PID=$BGPID
committed=0
for _ in $(seq 1 100); do
    kill -0 "$KW_PID" 2>/dev/null || break
    committed=$(sqlite3 "$S4DB" 'SELECT coalesce(sum(times_seen), 0) FROM host_keys' 2>/dev/null || echo 0)
    [ "${committed:-0}" -ge 20 ] && break
    sleep 0.1
done
sleep 0.3 # a little more, so that sightings are queued when the kill comes
kill -0 "$KW_PID" 2>/dev/null && kill -0 "$REPLAY_PID" 2>/dev/null &&
    ok "kexwatch mid-run ($committed sightings committed), sending SIGKILL" ||
    fail "kexwatch was not running mid-capture (committed $committed)"
stop_pid "$KW_PID" KILL
stop_pid "$REPLAY_PID" TERM
# A clean exit folds the log back into the file; a killed run leaves it.
[ -e "$S4DB-wal" ] && ok "killed mid-write: the write-ahead log is left for recovery" ||
    fail "no write-ahead log after SIGKILL: was kexwatch really killed mid-run?"
expect_eq "after SIGKILL: integrity_check" "$(sqlite3 "$S4DB" 'PRAGMA integrity_check')" ok
"$KW" hostkeys --state "$S4DB" --format text >"$O/crash-list.txt" 2>&1 &&
    grep -qF "$FP_ED_OLD" "$O/crash-list.txt" && grep -qF "$FP_EC" "$O/crash-list.txt" &&
    ok "after SIGKILL: kexwatch hostkeys lists the keys" ||
    { cat "$O/crash-list.txt" >&2; fail "hostkeys after SIGKILL"; }
run "$O/after-crash.jsonl" "$S4DB" -r "$C/same2.pcap"
expect_eq "after SIGKILL: a new run reads the state, host_key_changed" \
    "$(count "$O/after-crash.jsonl" host_key_changed)" 0
expect_eq "after SIGKILL and a clean run: integrity_check" \
    "$(sqlite3 "$S4DB" 'PRAGMA integrity_check')" ok

if [ "$FAILS" -gt 0 ]; then
    log "$FAILS check(s) failed"
    exit 1
fi
log "all checks passed"

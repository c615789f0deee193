#!/usr/bin/env bash
# make-corpus.sh: the benchmark corpus for issue 6, made with REAL software.
#
# usage: bench/make-corpus.sh [OUTDIR]          (default /tmp/kexwatch-bench)
#
# 1. Real traffic, in two network namespaces this script creates and removes
#    (veth pair, 198.18.0.1 client / 198.18.0.2 server, nothing else):
#    - KWB_LOGINS (default 1500) OpenSSH logins, public-key auth, running
#      `true`, with a mix of client settings: defaults, curve25519+chacha20,
#      ecdh-nistp256+aes128-ctr+hmac-sha2-256, DH group exchange (sha256 and
#      sha1), group14/16, ecdsa/rsa host keys, aes-gcm, etm MACs, sntrup761,
#      and a few failures: KexAlgorithms=diffie-hellman-group1-sha1 (kex
#      mismatch), Ciphers=3des-cbc (cipher mismatch), an unknown client key
#      (auth failure). Captured with tcpdump -> WORK/logins.pcap.
#    - bulk traffic -> WORK/bulk.pcap: long encrypted SSH sessions
#      (ssh host 'head -c 50M /dev/zero' with three ciphers, a 30 MB upload)
#      and non-SSH TCP (HTTP downloads from python3 -m http.server with curl,
#      a raw socat transfer), rate-limited by tc so tcpdump keeps up.
# 2. bench/multiply.py (python3 stdlib) rewrites them: KWB_CONNS (default
#    100000) distinct SSH connections (rewritten IPv4 addresses and ports,
#    incremental IP/TCP checksum fix, strictly increasing timestamps),
#    interleaved with replicated bulk flows until OUTDIR/mixed.pcap is about
#    KWB_SIZE_MB (default 2048) MB; OUTDIR/handshakes.pcap holds only the SSH
#    login connections. OUTDIR/corpus.txt describes both.
#    Why 2 GB and not 1 GB: a real OpenSSH public-key login running `true` is
#    about 9.5 KB on the wire (~5.5 KB of it up to NEWKEYS), so 100,000 of
#    them are ~950 MB by themselves; at 2 GB about half the bytes are bulk and
#    under a third are cleartext handshake frames. KWB_CONNS=50000
#    KWB_SIZE_MB=1024 gives the same proportions at 1 GB.
#
# Environment: KWB_LOGINS, KWB_CONNS, KWB_SIZE_MB, KWB_PARALLEL (concurrent
# logins, default 6), KWB_DEADLINE (seconds for the login phase, default 900),
# KEEP_WORK=1 keeps the work folder (raw captures, keys, logs).
#
# Rerunnable: namespace names carry $$, the work folder is fresh each time,
# outputs are overwritten. Every loop is bounded in count and time, every
# client runs under `timeout`, and a trap kills what was started here by PID
# and deletes the namespaces, even on failure. Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mkdir -p "${1:-/tmp/kexwatch-bench}" && cd "${1:-/tmp/kexwatch-bench}" && pwd)
case "$OUT/" in "$(cd "$HERE/.." && pwd)"/*) echo "make-corpus.sh: OUTDIR must be outside the git tree" >&2; exit 2 ;; esac
PY=/usr/bin/python3
LOGINS=${KWB_LOGINS:-1500}
CONNS=${KWB_CONNS:-100000}
SIZE_MB=${KWB_SIZE_MB:-2048}
PAR=${KWB_PARALLEL:-6}
DEADLINE=${KWB_DEADLINE:-900}
CLIENT_TIMEOUT=30
BULK_TIMEOUT=120
START=$(date +%s)

SCRIPT_NAME=make-corpus.sh  # for die
LOG_WIDTH=4                   # log: [1234s]
# wire-sized segments and real checksums, as a sniffer on a gateway sees them
NETNS_OFFLOADS="tso off gso off gro off tx off"

# shellcheck source=../tests/lib/netns.sh
. "$HERE/../tests/lib/netns.sh"   # need, log, die, start_bg, stop_pid, cleanup trap, veth setup

[ "$(id -u)" -eq 0 ] || die "must run as root"

# ---------------------------------------------------------------- packages
need /usr/sbin/sshd openssh-server
need ssh openssh-client
need ssh-keygen openssh-client
need tcpdump tcpdump
need ip iproute2
need tc iproute2
need ethtool ethtool
need curl curl
need socat socat
need timeout coreutils
need "$PY" python3
install_missing

# ---------------------------------------------------------------- state
NSC="kwb-c-$$"
NSS="kwb-s-$$"
NETNS=("$NSC" "$NSS")   # emptied and deleted by the EXIT trap
C4=198.18.0.1 S4=198.18.0.2
netns_begin bench

wait_port() { # PORT: bounded wait for a listener in the server namespace
    netns_wait_listen "$NSS" "$1" || die "nothing listens on port $1"
}

# tcpdump in the client namespace; -U so a stop loses nothing, big buffer.
start_capture() { # FILE
    start_bg "$WORK/logs/tcpdump-$(basename "$1").log" \
        ip netns exec "$NSC" tcpdump -i veth-c -s 0 -B 65536 -U -n -w "$1" tcp
    CAPPID=$BGPID
    local i
    for i in $(seq 1 50); do
        grep -q 'listening on' "$WORK/logs/tcpdump-$(basename "$1").log" 2>/dev/null && return 0
        sleep 0.1
    done
    die "tcpdump did not start"
}
stop_capture() {
    sleep 0.5
    stop_pid "$CAPPID" INT
    grep -E 'captured|dropped' "$WORK/logs/tcpdump-"*.log | tail -3 | sed 's/^/    /' >&2 || true
}

# ---------------------------------------------------------------- network
log "output $OUT, work $WORK; logins=$LOGINS conns=$CONNS size=${SIZE_MB}MB parallel=$PAR"
mkdir -p "$WORK/keys" "$WORK/logs" "$WORK/www"
netns_pair "$NSC" veth-c "$NSS" veth-s
ip netns exec "$NSC" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
ip netns exec "$NSS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
netns_up "$NSC" veth-c "$C4/24"
netns_up "$NSS" veth-s "$S4/24"
netns_wait_up "$NSC" veth-c && netns_wait_up "$NSS" veth-s || die "veth pair did not come up"
# 1 Gbit/s each way: a realistic link, and tcpdump keeps up with it
tc -n "$NSC" qdisc add dev veth-c root tbf rate 1gbit burst 256kb latency 20ms
tc -n "$NSS" qdisc add dev veth-s root tbf rate 1gbit burst 256kb latency 20ms

# ---------------------------------------------------------------- keys, servers
K=$WORK/keys
ssh-keygen -q -t ed25519 -N '' -C kwb-host-ed25519 -f "$K/host_ed25519"
ssh-keygen -q -t ecdsa -b 256 -N '' -C kwb-host-ecdsa -f "$K/host_ecdsa"
ssh-keygen -q -t rsa -b 3072 -N '' -C kwb-host-rsa -f "$K/host_rsa"
ssh-keygen -q -t ed25519 -N '' -C kwb-client-ed25519 -f "$K/client_ed25519"
ssh-keygen -q -t rsa -b 3072 -N '' -C kwb-client-rsa -f "$K/client_rsa"
ssh-keygen -q -t ed25519 -N '' -C kwb-unauthorized -f "$K/client_unauth"
cat "$K/client_ed25519.pub" "$K/client_rsa.pub" >"$K/authorized_keys"
mkdir -p /run/sshd && chmod 755 /run/sshd
{ sshd_test_lines "$K/authorized_keys"; cat <<EOF
ListenAddress $S4
Port 22
HostKey $K/host_ed25519
HostKey $K/host_ecdsa
HostKey $K/host_rsa
MaxStartups 200:30:400
MaxSessions 50
PidFile none
LogLevel ERROR
Subsystem sftp internal-sftp
EOF
} >"$WORK/sshd_config"
/usr/sbin/sshd -t -f "$WORK/sshd_config" || die "sshd_config rejected"
start_bg "$WORK/logs/sshd.log" ip netns exec "$NSS" /usr/sbin/sshd -D -e -f "$WORK/sshd_config"
wait_port 22

# ---------------------------------------------------------------- logins
SSH_BASE=(ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null
          -o IdentitiesOnly=yes -o ConnectTimeout=10 -o LogLevel=ERROR)

# variant N: the client options of login N (a fixed mix, cycled per 100)
variant() {
    local v=$(( $1 % 100 ))
    local ed=(-i "$K/client_ed25519") rsa=(-i "$K/client_rsa")
    if   [ $v -lt 28 ]; then echo "${ed[*]}"                                          # OpenSSH defaults
    elif [ $v -lt 36 ]; then echo "${rsa[*]}"                                         # defaults, RSA user key
    elif [ $v -lt 48 ]; then echo "${ed[*]} -o KexAlgorithms=curve25519-sha256 -o Ciphers=chacha20-poly1305@openssh.com"
    elif [ $v -lt 60 ]; then echo "${ed[*]} -o KexAlgorithms=ecdh-sha2-nistp256 -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256"
    elif [ $v -lt 64 ]; then echo "${ed[*]} -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256-etm@openssh.com"
    elif [ $v -lt 72 ]; then echo "${ed[*]} -o KexAlgorithms=diffie-hellman-group-exchange-sha256"
    elif [ $v -lt 74 ]; then echo "${ed[*]} -o KexAlgorithms=diffie-hellman-group-exchange-sha1 -o Ciphers=aes256-ctr -o MACs=hmac-sha1"
    elif [ $v -lt 78 ]; then echo "${ed[*]} -o KexAlgorithms=diffie-hellman-group14-sha256 -o HostKeyAlgorithms=rsa-sha2-512"
    elif [ $v -lt 80 ]; then echo "${rsa[*]} -o KexAlgorithms=diffie-hellman-group16-sha512 -o HostKeyAlgorithms=rsa-sha2-256 -o Ciphers=aes256-gcm@openssh.com"
    elif [ $v -lt 85 ]; then echo "${ed[*]} -o HostKeyAlgorithms=ecdsa-sha2-nistp256 -o Ciphers=aes128-gcm@openssh.com"
    elif [ $v -lt 90 ]; then echo "${ed[*]} -o KexAlgorithms=sntrup761x25519-sha512@openssh.com -o HostKeyAlgorithms=ssh-ed25519"
    elif [ $v -lt 93 ]; then echo "${ed[*]} -o KexAlgorithms=ecdh-sha2-nistp384 -o Ciphers=aes192-ctr -o MACs=hmac-sha2-512"
    elif [ $v -lt 96 ]; then echo "${ed[*]} -o KexAlgorithms=diffie-hellman-group1-sha1"   # kex mismatch
    elif [ $v -lt 98 ]; then echo "${ed[*]} -o Ciphers=3des-cbc"                          # cipher mismatch
    else                     echo "-i $K/client_unauth"                                   # auth failure
    fi
}

one_login() { # N
    # shellcheck disable=SC2046
    timeout --kill-after=5 "$CLIENT_TIMEOUT" ip netns exec "$NSC" \
        "${SSH_BASE[@]}" $(variant "$1") "root@$S4" true </dev/null >/dev/null 2>>"$WORK/logs/ssh-$(( $1 % 100 )).log"
}

start_capture "$WORK/logins.pcap"
log "logins: $LOGINS, $PAR at a time (deadline ${DEADLINE}s)"
t0=$(date +%s); ok=0; fail=0; running=0; launched=0
declare -A LPID=()
for ((i = 0; i < LOGINS; i++)); do
    [ $(( $(date +%s) - t0 )) -lt "$DEADLINE" ] || { log "login deadline reached after $i"; break; }
    one_login "$i" &
    LPID[$!]=1; launched=$((launched + 1))
    while [ "${#LPID[@]}" -ge "$PAR" ]; do
        done_pid=
        if wait -n -p done_pid "${!LPID[@]}"; then ok=$((ok + 1)); else fail=$((fail + 1)); fi
        [ -n "$done_pid" ] && unset "LPID[$done_pid]"
    done
    if [ $(( (i + 1) % 200 )) -eq 0 ]; then log "  $((i + 1)) launched, $ok ok, $fail failed"; fi
done
for p in "${!LPID[@]}"; do if wait "$p"; then ok=$((ok + 1)); else fail=$((fail + 1)); fi; done
log "logins done: $launched launched, $ok ok, $fail failed (about 9% fail on purpose) in $(( $(date +%s) - t0 ))s"
stop_capture

# ---------------------------------------------------------------- bulk
head -c 64M /dev/urandom >"$WORK/www/blob.bin"
start_bg "$WORK/logs/http.log" ip netns exec "$NSS" "$PY" -m http.server --bind "$S4" --directory "$WORK/www" 8080
wait_port 8080
start_bg "$WORK/logs/socat.log" ip netns exec "$NSS" socat -u TCP-LISTEN:5001,bind=$S4,reuseaddr OPEN:/dev/null
SOCATPID=$BGPID
wait_port 5001

start_capture "$WORK/bulk.pcap"
bulk() { # DESCRIPTION CMD...
    log "bulk: $1"; shift
    timeout --kill-after=5 "$BULK_TIMEOUT" ip netns exec "$NSC" "$@" </dev/null >/dev/null 2>>"$WORK/logs/bulk.log" \
        || log "  failed (rc $?), see logs/bulk.log"
}
bulk "ssh chacha20 download 50 MB" "${SSH_BASE[@]}" -i "$K/client_ed25519" -o Ciphers=chacha20-poly1305@openssh.com "root@$S4" 'head -c 50M /dev/zero'
bulk "ssh aes128-gcm download 50 MB" "${SSH_BASE[@]}" -i "$K/client_ed25519" -o Ciphers=aes128-gcm@openssh.com "root@$S4" 'head -c 50M /dev/zero'
bulk "ssh aes128-ctr download 40 MB" "${SSH_BASE[@]}" -i "$K/client_rsa" -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256 "root@$S4" 'head -c 40M /dev/urandom'
bulk "ssh upload 30 MB" bash -c "head -c 30M /dev/zero | $(printf '%q ' "${SSH_BASE[@]}") -i $K/client_ed25519 root@$S4 'cat >/dev/null'"
bulk "http download 64 MB" curl -sS -o /dev/null "http://$S4:8080/blob.bin"
bulk "http download 64 MB" curl -sS -o /dev/null "http://$S4:8080/blob.bin"
bulk "socat upload 64 MB" socat -u "OPEN:$WORK/www/blob.bin" "TCP:$S4:5001"
stop_capture
stop_pid "$SOCATPID"

# ---------------------------------------------------------------- multiply
log "multiplying to $CONNS connections, ~${SIZE_MB} MB"
"$PY" "$HERE/multiply.py" --logins "$WORK/logins.pcap" --bulk "$WORK/bulk.pcap" \
    --conns "$CONNS" --size-mb "$SIZE_MB" \
    --mixed "$OUT/mixed.pcap" --handshakes "$OUT/handshakes.pcap" --describe "$OUT/corpus.txt"
{
    echo "made by bench/make-corpus.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(( $(date +%s) - START ))s"
    echo "real logins: $launched launched, $ok ok, $fail failed; KWB_LOGINS=$LOGINS KWB_CONNS=$CONNS KWB_SIZE_MB=$SIZE_MB"
    echo "$(ssh -V 2>&1); $(tcpdump --version 2>&1 | head -1)"
} >>"$OUT/corpus.txt"
ls -l "$OUT"/*.pcap >&2
cat "$OUT/corpus.txt" >&2
log "corpus done in $(( $(date +%s) - START ))s"

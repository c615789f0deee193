#!/usr/bin/env bash
# make-auth.sh — real captures of SSH user authentication for kexwatch's
# ssh.auth inference and auth_guessing diagnosis (tests/auth/check.py).
#
# usage: sudo tests/pcaps/make-auth.sh [OUTDIR] [CASE-PREFIX...]   (default: this folder)
#        KEEP_WORK=1 keeps the temporary folder.
#
# Writes auth-<login>-<crypto>.pcap and .truth.json (what the client said:
# auth_result and auth_failures, beside the usual truth keys, see
# tests/auth/truth-auth.py), and logs/auth-*.client.log / .server.log.
#
# Logins: pubkey (public key accepted), wrongkey (an unauthorised key offered
# first, then the right one), password (two wrong passwords, then the right
# one), maxtries (wrong passwords until sshd's MaxAuthTries 3 disconnects),
# kbdint (keyboard-interactive through PAM: one wrong answer, then the right
# one), burst (5 connections x 3 wrong passwords within a few seconds: 15
# failed attempts from one address, as hydra would make them).
# Crypto: chacha (chacha20-poly1305@openssh.com: sizes of TCP segments only),
# gcm (aes256-gcm@openssh.com) and etm (aes128-ctr with
# hmac-sha2-256-etm@openssh.com): exact packet lengths; zlib (aes256-gcm with
# -C, zlib@openssh.com: compressed after authentication). The burst is made
# with paramiko for etm and zlib (paramiko 2.12 has neither chacha20 nor GCM)
# and with the OpenSSH client in a loop for chacha and gcm.
#
# The test user. sshd needs a local account with a known password. No user is
# created on the host: sshd runs in a private mount namespace where copies of
# /etc/passwd, /etc/shadow and /etc/group that add the user "kwauth" (password
# "kw-right-horse", home under the work folder) and a PAM file for sshd
# (pam_unix only, no delays) are bind-mounted over the real ones. The user
# exists only inside that namespace and disappears with it.
#
# Network: only the two namespaces made here, 198.18.0.1/.2 (198.18.0.0/15).
# Wait loops are bounded, clients run under `timeout`, a trap kills what was
# started (by PID) and deletes the namespaces, even on failure. Rerunnable.
# Needs root, Debian 12: openssh-server, openssh-client, python3-paramiko,
# tcpdump, ethtool, iproute2, util-linux, openssl (apt-get installs what is missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${1:-$HERE}
shift || true
ONLY=("$@")
CLIENT_TIMEOUT=40
USERNAME=kwauth
RIGHT=kw-right-horse

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"   # need, log, die, start_bg, stop_pid, cleanup trap, veth setup

netns_script_out "$OUT_DIR"

need /usr/sbin/sshd openssh-server
need ssh openssh-client
need ssh-keygen openssh-client
netns_capture_needs
need unshare util-linux
need openssl openssl
[ -x "$PY" ] && "$PY" -c 'import paramiko' 2>/dev/null || MISSING+=(python3-paramiko)
install_missing

NSC="kwauth-c-$$"
NSS="kwauth-s-$$"
NETNS=("$NSC" "$NSS")   # emptied and deleted by the EXIT trap
C4=198.18.0.1 S4=198.18.0.2
netns_begin auth
chmod 755 "$WORK"

wanted() {
    [ "${#ONLY[@]}" -eq 0 ] && return 0
    local p
    for p in "${ONLY[@]}"; do case $1 in "$p"*) return 0 ;; esac; done
    return 1
}

# ---------------------------------------------------------------- network
netns_client_server "$NSC" "$NSS" "$C4/24" -- "$S4/24"

# ---------------------------------------------------------------- keys, user
K=$WORK/keys
mkdir -p "$K" "$WORK/run" "$WORK/caps" "$WORK/logs" "$WORK/etc/pam.d" "$WORK/client-home/.ssh" "$OUT/logs"
chmod 700 "$WORK/client-home"
mkdir -p /run/sshd && chmod 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C kwauth-hostkey -f "$K/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C kwauth-client -f "$K/client_right"
ssh-keygen -q -t ed25519 -N '' -C kwauth-unauthorised -f "$K/client_wrong"
cp "$K/client_right.pub" "$K/authorized_keys"
chmod 755 "$K"; chmod 644 "$K/authorized_keys"
HOMEDIR=$WORK/home-$USERNAME
mkdir -p "$HOMEDIR"
UIDN=60999
cp /etc/passwd /etc/group "$WORK/etc/"
cp /etc/shadow "$WORK/etc/shadow"
echo "$USERNAME:x:$UIDN:$UIDN:kexwatch auth test:$HOMEDIR:/bin/sh" >>"$WORK/etc/passwd"
echo "$USERNAME:x:$UIDN:" >>"$WORK/etc/group"
echo "$USERNAME:$(openssl passwd -6 "$RIGHT"):19000:0:99999:7:::" >>"$WORK/etc/shadow"
chown "$UIDN:$UIDN" "$HOMEDIR"
chmod 640 "$WORK/etc/shadow"
cat >"$WORK/etc/pam.d/sshd" <<'EOF'
# kexwatch make-auth.sh: pam_unix only, no failure delay
auth     required pam_unix.so nodelay
account  required pam_unix.so
session  optional pam_unix.so
password required pam_unix.so
EOF
# askpass: answers from a list, one line per prompt (kept in a counter file)
cat >"$WORK/askpass.sh" <<'EOF'
#!/bin/sh
n=$(cat "$ASKPASS_STATE" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$ASKPASS_STATE"
sed -n "${n}p" "$ASKPASS_ANSWERS"
EOF
chmod 755 "$WORK/askpass.sh"
cp "$HERE/truth.py" "$HERE/../auth/truth-auth.py" "$HERE/../auth/paramiko-auth.py" "$WORK/"
{
    echo "# software that made the auth-* captures (make-auth.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo "ssh -V: $(ssh -V 2>&1)"
    echo "sshd -V: $(/usr/sbin/sshd -V 2>&1 | head -1)"
    echo "paramiko: $("$PY" -c 'import paramiko; print(paramiko.__version__)')"
    echo "kernel: $(uname -sr)"
} >"$OUT/logs/auth-versions.txt"

# ---------------------------------------------------------------- sshd
SRV_PID=""

# start_sshd CASE USEPAM KBDINT MAXTRIES
start_sshd() {
    local c=$1 conf="$WORK/run/sshd-$1.conf"
    cat >"$conf" <<EOF
Port 22
ListenAddress $S4
HostKey $K/ssh_host_ed25519_key
PidFile $WORK/run/sshd-$c.pid
UsePAM $2
StrictModes no
AuthorizedKeysFile $K/authorized_keys
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication $3
MaxAuthTries $4
MaxStartups 100:30:200
PerSourceMaxStartups none
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel DEBUG1
EOF
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$NSS" unshare --mount --propagation private \
        bash -c 'for f in passwd group shadow pam.d/sshd; do mount --bind "$0/$f" "/etc/$f"; done; exec "$@"' \
        "$WORK/etc" /usr/sbin/sshd -D -e -f "$conf"
    SRV_PID=$BGPID
    netns_wait_listen "$NSS" 22 "$SRV_PID" || { cat "$WORK/logs/$c.server.log" >&2; die "$c: sshd did not listen"; }
}
stop_server() { [ -n "$SRV_PID" ] && stop_pid "$SRV_PID" TERM; SRV_PID=""; }

start_capture() { netns_capture_start "$1" "$NSS" veth-s tcp port 22; } # case

# ---------------------------------------------------------------- clients
SSH_BASE=(ssh -vv -F /dev/null -n -T -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null
          -o IdentitiesOnly=yes -o ConnectTimeout=10 -o ConnectionAttempts=1)

crypto_opts() {
    case $1 in
        chacha) echo "-o Ciphers=chacha20-poly1305@openssh.com -o Compression=no" ;;
        gcm) echo "-o Ciphers=aes256-gcm@openssh.com -o Compression=no" ;;
        etm) echo "-o Ciphers=aes128-ctr -o MACs=hmac-sha2-256-etm@openssh.com -o Compression=no" ;;
        zlib) echo "-o Ciphers=aes256-gcm@openssh.com -o Compression=yes" ;;
    esac
}

# ssh_client CASE LOGFILE ANSWERS ssh-options... : one OpenSSH login, answers for askpass
ssh_client() {
    local c=$1 clog=$2 answers=$3; shift 3
    local rc=0
    printf '%s\n' "${answers//,/$'\n'}" >"$WORK/run/$c.answers"
    rm -f "$WORK/run/$c.state"
    timeout --kill-after=5 "$CLIENT_TIMEOUT" ip netns exec "$NSC" unshare --mount --propagation private \
        bash -c 'mount --bind "$0" /root && exec setsid "$@"' "$WORK/client-home" \
        env DISPLAY=:0 SSH_ASKPASS="$WORK/askpass.sh" SSH_ASKPASS_REQUIRE=force \
        ASKPASS_STATE="$WORK/run/$c.state" ASKPASS_ANSWERS="$WORK/run/$c.answers" \
        "${SSH_BASE[@]}" "$@" "$USERNAME@$S4" true </dev/null >"$clog" 2>&1 || rc=$?
    echo "$rc"
}

# truth_openssh CASE LOG RC OUTFILE
truth_openssh() {
    "$PY" "$WORK/truth.py" --case "$1" --client-software openssh --server-software openssh \
        --family 4 --port 22 --client-ip "$C4" --server-ip "$S4" --client-rc "$3" \
        --ssh-log "$2" --hostkey-pub "$K/ssh_host_ed25519_key.pub" --out "$4"
    "$PY" "$WORK/truth-auth.py" openssh "$4" "$2"
}

CASES=()
finish_case() { # CASE
    cp "$WORK/caps/$1.pcap" "$OUT/$1.pcap"
    cp "$WORK/$1.truth.json" "$OUT/$1.truth.json"
    [ -f "$WORK/logs/$1.client.log" ] && cp "$WORK/logs/$1.client.log" "$OUT/logs/"
    cp "$WORK/logs/$1.server.log" "$OUT/logs/"
    CASES+=("$1")
}

# openssh_case LOGIN CRYPTO
openssh_case() {
    local login=$1 crypto=$2 c="auth-$1-$2" pam=no kbd=no tries=6 answers="" rc
    local opts=()
    wanted "$c" || return 0
    # shellcheck disable=SC2207
    opts=($(crypto_opts "$crypto"))
    case $login in
        pubkey) opts+=(-o BatchMode=yes -o IdentityFile="$K/client_right") ;;
        wrongkey) opts+=(-o BatchMode=yes -o IdentityFile="$K/client_wrong" -o IdentityFile="$K/client_right") ;;
        password) answers="kw-wrong-1,kw-wrong-2,$RIGHT"
                  opts+=(-o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=3) ;;
        maxtries) tries=3; answers="kw-wrong-1,kw-wrong-2,kw-wrong-3,kw-wrong-4,kw-wrong-5"
                  opts+=(-o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=5) ;;
        kbdint) pam=yes; kbd=yes; answers="kw-wrong-1,$RIGHT"
                opts+=(-o PubkeyAuthentication=no -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=2) ;;
    esac
    log "$c: ssh ${opts[*]}"
    start_sshd "$c" "$pam" "$kbd" "$tries"
    start_capture "$c"
    rc=$(ssh_client "$c" "$WORK/logs/$c.client.log" "$answers" "${opts[@]}")
    netns_capture_stop "$c"
    stop_server
    log "$c: client exit status $rc"
    truth_openssh "$c" "$WORK/logs/$c.client.log" "$rc" "$WORK/$c.truth.json"
    finish_case "$c"
}

# burst_case CRYPTO: 5 connections x 3 wrong passwords from one address
burst_case() {
    local crypto=$1 c="auth-burst-$1" i rc truths=()
    wanted "$c" || return 0
    start_sshd "$c" no no 6
    start_capture "$c"
    case $crypto in
        etm|zlib)
            local o='{"ciphers": ["aes128-ctr"], "macs": ["hmac-sha2-256-etm@openssh.com"]}'
            [ "$crypto" = zlib ] && o='{"ciphers": ["aes128-ctr"], "macs": ["hmac-sha2-256-etm@openssh.com"], "compress": true}'
            log "$c: paramiko, 5 connections x 3 passwords, $o"
            rc=0
            timeout --kill-after=5 "$CLIENT_TIMEOUT" ip netns exec "$NSC" "$PY" "$WORK/paramiko-auth.py" \
                "$S4" 22 "$USERNAME" "$WORK/logs/$c.paramiko.json" 5 kw-guess-1,kw-guess-2,kw-guess-3 "$o" \
                >"$WORK/logs/$c.client.log" 2>&1 || rc=$?
            netns_capture_stop "$c"
            stop_server
            "$PY" "$WORK/truth-auth.py" paramiko "$WORK/$c.truth.json" "$WORK/logs/$c.paramiko.json" \
                "$c" "$C4" "$S4" 22
            cp "$WORK/logs/$c.paramiko.json" "$OUT/logs/"
            ;;
        *)
            # shellcheck disable=SC2207
            local opts=($(crypto_opts "$crypto"))
            log "$c: ssh in a loop, 5 connections x 3 passwords"
            : >"$WORK/logs/$c.client.log"
            for i in 1 2 3 4 5; do
                rc=$(ssh_client "$c-$i" "$WORK/logs/$c-$i.client.log" "kw-guess-1,kw-guess-2,kw-guess-3" \
                     "${opts[@]}" -o PubkeyAuthentication=no -o PreferredAuthentications=password \
                     -o NumberOfPasswordPrompts=3)
                truth_openssh "$c" "$WORK/logs/$c-$i.client.log" "$rc" "$WORK/$c-$i.truth.json"
                truths+=("$WORK/$c-$i.truth.json")
                cat "$WORK/logs/$c-$i.client.log" >>"$WORK/logs/$c.client.log"
            done
            netns_capture_stop "$c"
            stop_server
            "$PY" "$WORK/truth.py" --merge "$WORK/$c.truth.json" "$c" "${truths[@]}"
            ;;
    esac
    finish_case "$c"
}

for crypto in chacha gcm etm zlib; do
    for login in pubkey wrongkey password maxtries kbdint; do
        openssh_case "$login" "$crypto"
    done
    burst_case "$crypto"
done

# ---------------------------------------------------------------- check
fail=0
for c in "${CASES[@]}"; do
    size=$(stat -c %s "$OUT/$c.pcap")
    ok=OK
    [ "$size" -lt 1048576 ] || { ok=FAIL; fail=1; }
    printf '%-28s %7d bytes  %s  %s\n' "$c.pcap" "$size" \
        "$("$PY" -c 'import json,sys
t=json.load(open(sys.argv[1])); cs=t.get("connections",[t])
print(" ".join("%s/%s" % (x["auth_result"], x["auth_failures"]) for x in cs))' "$OUT/$c.truth.json")" "$ok"
done
[ "$fail" = 0 ] || die "a capture is 1 MB or more"
log "done: ${#CASES[@]} captures in $OUT"

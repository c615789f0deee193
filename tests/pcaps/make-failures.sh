#!/usr/bin/env bash
# make-failures.sh — reproduce failed (and unusual) SSH handshakes with REAL
# software in network namespaces, for kexwatch's diagnosis tests (issue 3).
#
# usage: sudo tests/pcaps/make-failures.sh [OUTDIR]      (default: this folder)
#        KEEP_WORK=1 keeps the temporary folder (keys, configs, raw logs).
#        ONLY="fail-drop fail-http-on-22" runs only those cases (by name; the
#        four-namespace cases are named without -client/-server).
#
# Writes, per case: fail-<case>.pcap, fail-<case>.truth.json (what the software
# itself said: truth.py, same format as make-captures.sh's truth files),
# logs/fail-<case>.client.log and, when a server ran, logs/fail-<case>.server.log.
# The four-namespace MTU cases are captured at both ends:
# fail-<case>-client.pcap (client's veth) and fail-<case>-server.pcap (server's).
# See README.md ("Failure captures") for each case and the client's error line.
#
# Needs: root, Debian 12, and the Debian packages of make-captures.sh plus
# iptables and python3 (installed with `apt-get install -y` when missing).
# Helpers beside this script: fail-helpers.py (raw sockets: a held connection,
# a silent client, fake SSH-1 / DISCONNECT servers, a text-printing relay),
# paramiko-login.py, truth.py (run with /usr/bin/python3, Debian's).
#
# Network: only namespaces made here, only 198.18.0.0/15 addresses:
#   two-namespace cases: kwf-c-<pid> 198.18.0.1 <-> kwf-s-<pid> 198.18.0.2;
#   MTU cases: kwf-pc-<pid> 198.18.1.1 - kwf-r1-<pid> - (MTU 1280) -
#   kwf-r2-<pid> - kwf-ps-<pid> 198.18.3.2, made afresh for each case (so no
#   path-MTU state carries over) and deleted after it.
# Every wait loop is bounded in count and time, every client runs under
# `timeout`; a trap kills every process started here by PID (and anything left
# in our namespaces) and deletes the namespaces, even on failure. Clients run in
# a private mount namespace with a temporary home bound over /root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT_TIMEOUT=30          # seconds, default bound for every client command

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"   # need, log, die, start_bg, stop_pid, cleanup trap, veth setup

netns_script_out "${1:-$HERE}"

# ---------------------------------------------------------------- packages
need /usr/sbin/sshd openssh-server
need ssh openssh-client
need ssh-keygen openssh-client
netns_capture_needs
need unshare util-linux
need mount mount
need iptables iptables
need "$PY" python3
[ -x "$PY" ] && "$PY" -c 'import paramiko' 2>/dev/null || MISSING+=(python3-paramiko)
install_missing

# ---------------------------------------------------------------- state
NSC="kwf-c-$$"             # client namespace (two-namespace cases)
NSS="kwf-s-$$"             # server namespace
PC="kwf-pc-$$" R1="kwf-r1-$$" R2="kwf-r2-$$" PS="kwf-ps-$$"   # MTU path
NETNS=("$NSC" "$NSS" "$PC" "$R1" "$R2" "$PS")   # emptied and deleted by the EXIT trap
C4=198.18.0.1  S4=198.18.0.2
PC4=198.18.1.1 PS4=198.18.3.2
netns_begin failures

# in_ns_home NS SECONDS command...: private mount namespace, temp home over /root.
in_ns_home() {
    local ns=$1 secs=$2; shift 2
    timeout --kill-after=5 "$secs" \
        ip netns exec "$ns" unshare --mount --propagation private \
        bash -c 'mount --bind "$0" /root && exec "$@"' "$WORK/client-home" "$@"
}

wait_lower_up() { # ns ifname...
    netns_wait_up "$@" || die "links ${*:2} in $1 did not come up"
}

# ---------------------------------------------------------------- network
# Offloads off on every veth (netns_up): wire-sized segments in the captures.
netns_pair "$NSC" veth-c "$NSS" veth-s
netns_up "$NSC" veth-c "$C4/24"
netns_up "$NSS" veth-s "$S4/24"
wait_lower_up "$NSC" veth-c
wait_lower_up "$NSS" veth-s

# The four-namespace path: client - router1 - (MTU 1280) - router2 - server.
make_path() {
    local ns
    netns_add "$PC" "$R1" "$R2" "$PS"
    for ns in "$PC" "$R1" "$R2" "$PS"; do
        # IPv4 only on the path: no IPv6 router solicitations in the captures
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    done
    netns_veth "$PC" p-c "$R1" r1-c
    netns_veth "$R1" r1-s "$R2" r2-c
    netns_veth "$R2" r2-s "$PS" p-s
    ip -n "$R1" link set r1-s mtu 1280
    ip -n "$R2" link set r2-c mtu 1280
    netns_up "$PC" p-c "$PC4/24"
    netns_up "$R1" r1-c 198.18.1.2/24
    netns_up "$R1" r1-s 198.18.2.1/24
    netns_up "$R2" r2-c 198.18.2.2/24
    netns_up "$R2" r2-s 198.18.3.1/24
    netns_up "$PS" p-s "$PS4/24"
    wait_lower_up "$PC" p-c; wait_lower_up "$R1" r1-c r1-s
    wait_lower_up "$R2" r2-c r2-s; wait_lower_up "$PS" p-s
    ip -n "$PC" route add default via 198.18.1.2
    ip -n "$PS" route add default via 198.18.3.1
    ip -n "$R1" route add 198.18.3.0/24 via 198.18.2.2
    ip -n "$R2" route add 198.18.1.0/24 via 198.18.2.1
    for ns in "$R1" "$R2"; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
}

del_path() {
    local ns pid
    for ns in "$PC" "$R1" "$R2" "$PS"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- keys
mkdir -p "$WORK/keys" "$WORK/run" "$WORK/client-home" "$WORK/caps" "$WORK/logs" \
         "$WORK/www" "$OUT/logs"
chmod 700 "$WORK/client-home"
mkdir -p /run/sshd && chmod 755 /run/sshd
K=$WORK/keys
ssh-keygen -q -t ed25519 -N '' -C kexwatch-hostkey-ed25519 -f "$K/ssh_host_ed25519_key"
ssh-keygen -q -t ecdsa -b 256 -N '' -C kexwatch-hostkey-ecdsa -f "$K/ssh_host_ecdsa_key"
ssh-keygen -q -t rsa -b 3072 -N '' -C kexwatch-hostkey-rsa -f "$K/ssh_host_rsa_key"
ssh-keygen -q -t ed25519 -N '' -C kexwatch-client -f "$K/client_ed25519"
ssh-keygen -q -t ed25519 -N '' -C kexwatch-unauthorized -f "$K/client_unauthorized"
cp "$K/client_ed25519.pub" "$K/authorized_keys"
# Large KEX reply: an RSA 4096 host key with a host certificate (signed by an RSA
# 4096 CA) naming 120 principals, so the KEX_ECDH_REPLY is several kilobytes.
ssh-keygen -q -t rsa -b 4096 -N '' -C kexwatch-hostkey-rsa4096 -f "$K/big_host_key"
ssh-keygen -q -t rsa -b 4096 -N '' -C kexwatch-host-ca -f "$K/host_ca"
principals=$(for i in $(seq -w 1 120); do printf 'server-%s.datacenter.kexwatch.example,' "$i"; done)
ssh-keygen -q -s "$K/host_ca" -I kexwatch-big-host -h -n "${principals%,}" -V always:forever \
    "$K/big_host_key.pub"
[ -s "$K/big_host_key-cert.pub" ] || die "host certificate not made"
cp "$HERE/paramiko-login.py" "$HERE/truth.py" "$HERE/fail-helpers.py" "$WORK/"
SSHD_PUBS=("$K/ssh_host_ed25519_key.pub" "$K/ssh_host_ecdsa_key.pub" "$K/ssh_host_rsa_key.pub")

# ---------------------------------------------------------------- servers
SRV_PID=""
SRV_PUBS=()
# start_sshd CASE NS PORT [sshd_config lines...]; BIGKEY=1: the RSA 4096 key + cert only
start_sshd() {
    local c=$1 ns=$2 port=$3; shift 3
    local conf="$WORK/run/sshd-$c.conf" line
    {
        echo "Port $port"
        if [ "${BIGKEY:-0}" = 1 ]; then
            echo "HostKey $K/big_host_key"
            echo "HostCertificate $K/big_host_key-cert.pub"
        else
            echo "HostKey $K/ssh_host_ed25519_key"
            echo "HostKey $K/ssh_host_ecdsa_key"
            echo "HostKey $K/ssh_host_rsa_key"
        fi
        echo "PidFile $WORK/run/sshd-$c.pid"
        echo "LogLevel DEBUG1"
        sshd_test_lines "$K/authorized_keys"
        for line in "$@"; do echo "$line"; done
    } >"$conf"
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$ns" /usr/sbin/sshd -D -e -f "$conf"
    SRV_PID=$BGPID
    if [ "${BIGKEY:-0}" = 1 ]; then SRV_PUBS=("$K/big_host_key-cert.pub")
    else SRV_PUBS=("${SSHD_PUBS[@]}"); fi
    netns_wait_listen "$ns" "$port" "$SRV_PID" \
        || { cat "$WORK/logs/$c.server.log" >&2; die "$c: sshd did not listen on $port"; }
}

# start_helper_server CASE NS PORT MODE [TARGET_HOST TARGET_PORT]
start_helper_server() {
    local c=$1 ns=$2 port=$3 mode=$4; shift 4
    local addr=$S4
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$ns" \
        "$PY" "$WORK/fail-helpers.py" server "$addr" "$port" "$mode" 40 "$@"
    SRV_PID=$BGPID
    SRV_PUBS=()
    netns_wait_listen "$ns" "$port" "$SRV_PID" \
        || { cat "$WORK/logs/$c.server.log" >&2; die "$c: helper server did not listen"; }
}

stop_server() {
    if [ -n "$SRV_PID" ]; then stop_pid "$SRV_PID" TERM; fi
    SRV_PID=""
}

# ---------------------------------------------------------------- clients
# ssh keeps the first value given for an option: the case's own -o options come
# before these defaults (e.g. ConnectTimeout=5 for fail-drop).
SSH_BASE=(-o BatchMode=yes -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null
          -o IdentitiesOnly=yes -o ConnectTimeout=10 -o ConnectionAttempts=1)
RC=0
# ssh_client CASE NS HOST PORT [ssh options...]; CLIENT_KEY, CT (timeout) from env
ssh_client() {
    local c=$1 ns=$2 host=$3 port=$4; shift 4
    RC=0
    in_ns_home "$ns" "${CT:-$CLIENT_TIMEOUT}" ssh -vv -F /dev/null -n -T "$@" "${SSH_BASE[@]}" \
        -o IdentityFile="${CLIENT_KEY:-$K/client_ed25519}" -p "$port" "root@$host" true \
        </dev/null >"$WORK/logs/$c.client.log" 2>&1 || RC=$?
}

# helper_client CASE NS HOST PORT BANNER|- SECONDS
helper_client() {
    local c=$1 ns=$2 host=$3 port=$4 banner=$5 secs=$6
    RC=0
    in_ns_home "$ns" $((secs + 5)) "$PY" "$WORK/fail-helpers.py" client "$host" "$port" \
        "$banner" "$secs" "$WORK/logs/$c.helper.json" \
        </dev/null >"$WORK/logs/$c.client.log" 2>&1 || RC=$?
}

# truth CASE CLIENT_SW|- SERVER_SW|- HOST PORT CLIENT_IP SOURCE...
# SOURCE: ssh (client log), paramiko, helper, sshd (server log), keys (SRV_PUBS:
# only when the client printed the host key it received, i.e. the KEX reply was
# on the wire). "-": software that never identified itself on this connection.
# TRUTH_OUT (env) overrides the output file.
truth() {
    local c=$1 csw=$2 ssw=$3 sip=$4 port=$5 cip=$6; shift 6
    [ "$csw" = - ] && csw=""
    local args=(--case "$c" --client-software "$csw" --family 4 --port "$port"
                --client-ip "$cip" --server-ip "$sip" --client-rc "$RC"
                --out "${TRUTH_OUT:-$WORK/$c.truth.json}") src p
    [ "$ssw" != - ] && args+=(--server-software "$ssw")
    for src in "$@"; do
        case $src in
            ssh) args+=(--ssh-log "$WORK/logs/$c.client.log") ;;
            paramiko) args+=(--paramiko-json "$WORK/logs/$c.paramiko.json") ;;
            helper) args+=(--helper-json "$WORK/logs/$c.helper.json") ;;
            sshd) args+=(--sshd-log "$WORK/logs/$c.server.log") ;;
            keys) grep -q '^debug1: Server host key: ' "$WORK/logs/$c.client.log" || continue
                  for p in "${SRV_PUBS[@]}"; do args+=(--hostkey-pub "$p"); done ;;
        esac
    done
    "$PY" "$WORK/truth.py" "${args[@]}"
}

CAPTURES=()
publish() { # case [capture names...]: copy capture(s), truth, logs to OUT
    local c=$1; shift
    local names=("$@") n f
    [ "${#names[@]}" -gt 0 ] || names=("$c")
    for n in "${names[@]}"; do
        cp "$WORK/caps/$n.pcap" "$OUT/$n.pcap"
        if [ "$n" = "$c" ]; then
            cp "$WORK/$c.truth.json" "$OUT/$n.truth.json"
        elif [ -f "$WORK/$n.truth.json" ]; then
            "$PY" -c 'import json,sys
t=json.load(open(sys.argv[1])); t["case"]=sys.argv[3]
open(sys.argv[2],"w").write(json.dumps(t,indent=2)+"\n")' \
                "$WORK/$n.truth.json" "$OUT/$n.truth.json" "$n"
        else  # same truth, named after the capture
            "$PY" -c 'import json,sys
t=json.load(open(sys.argv[1])); t["case"]=sys.argv[3]
open(sys.argv[2],"w").write(json.dumps(t,indent=2)+"\n")' \
                "$WORK/$c.truth.json" "$OUT/$n.truth.json" "$n"
        fi
        CAPTURES+=("$n")
    done
    cp "$WORK/logs/$c.client.log" "$OUT/logs/$c.client.log"
    for f in server.log paramiko.json helper.json holder.json; do
        [ -f "$WORK/logs/$c.$f" ] && cp "$WORK/logs/$c.$f" "$OUT/logs/$c.$f"
    done
    local err
    err=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_error"])' \
          "$WORK/$c.truth.json")
    log "$c: client exit $RC: $err"
}

# ---------------------------------------------------------------- cases (two namespaces)
# Plain sshd, OpenSSH client with options: most negotiation failures.
# sshd_case CASE "sshd_config lines (| separated)" [ssh options...]
sshd_case() {
    local c=$1 conf=$2; shift 2
    netns_wanted "$c" || return 0
    local lines=()
    [ -n "$conf" ] && IFS='|' read -r -a lines <<<"$conf"
    log "$c: sshd [${conf}] <- ssh $*"
    start_sshd "$c" "$NSS" 22 "${lines[@]}"
    netns_capture_start "$c" "$NSS" veth-s
    ssh_client "$c" "$NSC" "$S4" 22 "$@"
    netns_capture_stop "$c"
    stop_server
    truth "$c" openssh openssh "$S4" 22 "$C4" ssh sshd keys
    publish "$c"
}

# No common algorithm, one case per category: the client's option against sshd_config.
sshd_case fail-nocommon-kex "KexAlgorithms diffie-hellman-group14-sha256" \
    -o KexAlgorithms=curve25519-sha256
sshd_case fail-nocommon-hostkey "HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256" \
    -o HostKeyAlgorithms=ssh-ed25519
sshd_case fail-nocommon-cipher "Ciphers aes256-gcm@openssh.com" \
    -o Ciphers=aes128-ctr
sshd_case fail-nocommon-mac "Ciphers aes128-ctr|MACs hmac-sha2-512" \
    -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256
# A KEX reply of several kilobytes (RSA 4096 host key + certificate): succeeds.
BIGKEY=1 sshd_case fail-big-hostcert ""
# Public-key login with a key that is not authorized: the KEX completes, auth fails.
CLIENT_KEY=$K/client_unauthorized sshd_case fail-wrong-key ""

# paramiko_case CASE SSHD_LINE PARAMIKO_OPTIONS_JSON: one paramiko login
# (paramiko-login.py with those options) against sshd with one extra line.
paramiko_case() {
    local c=$1 conf=$2 opts=$3
    netns_wanted "$c" || return 0
    log "$c: sshd [$conf] <- paramiko $opts"
    start_sshd "$c" "$NSS" 22 "$conf"
    netns_capture_start "$c" "$NSS" veth-s
    RC=0
    in_ns_home "$NSC" "$CLIENT_TIMEOUT" "$PY" "$WORK/paramiko-login.py" "$S4" 22 root \
        "$K/client_ed25519" true "$WORK/logs/$c.paramiko.json" "$opts" \
        </dev/null >"$WORK/logs/$c.client.log" 2>&1 || RC=$?
    netns_capture_stop "$c"
    stop_server
    truth "$c" paramiko openssh "$S4" 22 "$C4" paramiko sshd keys
    publish "$c"
}

# Compression: paramiko offers zlib only, sshd has Compression no.
paramiko_case fail-nocommon-compression "Compression no" \
    '{"compress": true, "disabled_algorithms": {"compression": ["none"]}}'

# Policy verdicts on logins that work. sshd allows legacy algorithms and the
# OpenSSH client offers only them: SHA-1 DH group 14, 3DES-CBC, RSA/SHA-1 host
# key signatures (the RSA 3072 host key), and a key exchange that is not
# post-quantum.
sshd_case fail-policy-weak "KexAlgorithms +diffie-hellman-group14-sha1|Ciphers +3des-cbc|\
HostKeyAlgorithms +ssh-rsa|PubkeyAcceptedAlgorithms +ssh-rsa" \
    -o KexAlgorithms=diffie-hellman-group14-sha1 -o Ciphers=3des-cbc -o HostKeyAlgorithms=ssh-rsa

# Terrapin (CVE-2023-48795): paramiko 2.12 has no strict key exchange; it offers
# only aes128-cbc and hmac-sha2-256-etm@openssh.com (paramiko-login.py "only":
# everything else in get_security_options() .ciphers / .digests disabled), sshd
# adds aes128-cbc: a CBC cipher with an -etm MAC, strict KEX on the server only.
paramiko_case fail-policy-terrapin "Ciphers +aes128-cbc" \
    '{"only": {"ciphers": ["aes128-cbc"], "digests": ["hmac-sha2-256-etm@openssh.com"]}}'

# Host key verification fails: StrictHostKeyChecking=yes with an empty
# known_hosts. The client gets the KEX reply, rejects the key and closes before
# NEWKEYS ("Host key verification failed.").
: >"$WORK/run/known_hosts.empty"
sshd_case fail-hostkey-verify "" \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$WORK/run/known_hosts.empty"

# A firewall drops the server's KEX reply only: an iptables string match on the
# last 16 bytes of the Ed25519 host public key, which are in the reply's host key
# blob but not in the KEXINIT. The rule is on the client's INPUT chain: netfilter
# runs before tcpdump's tap on the way out, so a rule in the server's OUTPUT chain
# would drop the reply before the server-side capture saw it; here the capture
# sees the reply retransmitted and never acknowledged. The client asks for
# diffie-hellman-group16-sha512, whose reply (one segment of about 1 KB, with
# NEWKEYS) is smaller than the server's KEXINIT segment (about 1.1 KB), which got
# through: a loss that is not about size. (With the default sntrup761x25519 the
# reply is 1448 + 116 bytes, larger than the KEXINIT, and looks like an MTU black
# hole by size.) ssh hangs at "expecting SSH2_MSG_KEX_ECDH_REPLY" (ssh's
# ConnectTimeout does not cover the key exchange): stopped by timeout after 15 s.
c=fail-kex-drop
if netns_wanted $c; then
    hex=$("$PY" -c 'import base64,sys
print(base64.b64decode(open(sys.argv[1]).read().split()[1])[-16:].hex())' \
          "$K/ssh_host_ed25519_key.pub")
    rule=(-p tcp --sport 22 -m string --algo bm --hex-string "|$hex|" -j DROP)
    log "$c: iptables (client INPUT) ${rule[*]}"
    start_sshd $c "$NSS" 22
    ip netns exec "$NSC" iptables -A INPUT "${rule[@]}"
    netns_capture_start $c "$NSS" veth-s
    CT=15 ssh_client $c "$NSC" "$S4" 22 -o KexAlgorithms=diffie-hellman-group16-sha512 \
        -o ConnectTimeout=5
    netns_capture_stop $c
    ip netns exec "$NSC" iptables -D INPUT "${rule[@]}"
    stop_server
    truth $c openssh openssh "$S4" 22 "$C4" ssh sshd keys
    publish $c
fi

# MaxStartups 1:100:1 with one unauthenticated connection held open (a raw socket
# that sends nothing): the next client is dropped before the server banner.
c=fail-maxstartups
if netns_wanted $c; then
    log "$c: sshd [MaxStartups 1:100:1], one connection held, then ssh"
    start_sshd $c "$NSS" 22 "MaxStartups 1:100:1"
    netns_capture_start $c "$NSS" veth-s
    # the holder closes by itself after 4 s (its JSON says what sshd sent it)
    start_bg "$WORK/logs/$c.holder.log" ip netns exec "$NSC" "$PY" "$WORK/fail-helpers.py" \
        hold "$S4" 22 4 "$WORK/logs/$c.holder.json"
    holder=$BGPID
    # wait (bounded) until sshd has accepted the held connection
    for _ in $(seq 1 50); do
        [ -n "$(ip netns exec "$NSS" ss -Htn state established "sport = :22")" ] && break
        sleep 0.1
    done
    sleep 0.5
    ssh_client $c "$NSC" "$S4" 22
    for _ in $(seq 1 80); do kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$holder" TERM
    netns_capture_stop $c
    stop_server
    truth $c openssh - "$S4" 22 "$C4" ssh   # sshd sent no identification line
    publish $c
fi

# Firewall cases: iptables in the server namespace, sshd running behind it.
# fw_case CASE "iptables rule" [ssh options]
fw_case() {
    local c=$1 rule=$2; shift 2
    netns_wanted "$c" || return 0
    log "$c: iptables $rule"
    start_sshd "$c" "$NSS" 22
    # shellcheck disable=SC2086
    ip netns exec "$NSS" iptables -A INPUT $rule
    netns_capture_start "$c" "$NSS" veth-s
    ssh_client "$c" "$NSC" "$S4" 22 "$@"
    netns_capture_stop "$c"
    # shellcheck disable=SC2086
    ip netns exec "$NSS" iptables -D INPUT $rule
    stop_server
    # the firewall answered (or not) before sshd identified itself: no server
    # software, except where sshd's banner got through (SSW=openssh)
    truth "$c" openssh "${SSW:--}" "$S4" 22 "$C4" ssh
    publish "$c"
}
fw_case fail-reject-rst "-p tcp --dport 22 -j REJECT --reject-with tcp-reset"
fw_case fail-reject-icmp "-p tcp --dport 22 -j REJECT"
fw_case fail-drop "-p tcp --dport 22 -j DROP" -o ConnectTimeout=5
# an IPS-like rule: reset the connection once the client's identification passes
SSW=openssh fw_case fail-string-reset \
    "-p tcp --dport 22 -m string --string SSH-2.0 --algo bm -j REJECT --reject-with tcp-reset"

# Not SSH on port 22: Python's http.server answers the client's banner with HTTP.
c=fail-http-on-22
if netns_wanted $c; then
    log "$c: python3 -m http.server on port 22"
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$NSS" \
        bash -c 'cd "$0" && exec "$1" -m http.server 22 --bind "$2"' "$WORK/www" "$PY" "$S4"
    SRV_PID=$BGPID SRV_PUBS=()
    netns_wait_listen "$NSS" 22 "$SRV_PID" || die "$c: http.server did not listen"
    netns_capture_start $c "$NSS" veth-s
    ssh_client $c "$NSC" "$S4" 22
    netns_capture_stop $c
    stop_server
    truth $c openssh - "$S4" 22 "$C4" ssh
    publish $c
fi

# Not SSH on port 22: a TLS server (openssl s_server) answers the client's banner
# with a TLS alert, whose bytes include NUL.
c=fail-tls-on-22
if netns_wanted $c; then
    log "$c: openssl s_server on port 22"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kexwatch-tls \
        -keyout "$K/tls.key" -out "$K/tls.crt" >/dev/null 2>&1
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$NSS" \
        openssl s_server -accept "$S4:22" -cert "$K/tls.crt" -key "$K/tls.key" -naccept 1 -quiet
    SRV_PID=$BGPID SRV_PUBS=()
    netns_wait_listen "$NSS" 22 "$SRV_PID" || die "$c: openssl s_server did not listen"
    netns_capture_start $c "$NSS" veth-s
    ssh_client $c "$NSC" "$S4" 22
    netns_capture_stop $c
    stop_server
    truth $c openssh - "$S4" 22 "$C4" ssh
    publish $c
fi

# A front end that prints text lines, then relays to sshd (port 2222): succeeds,
# the client sees pre-banner lines.
c=fail-bastion-relay
if netns_wanted $c; then
    log "$c: text lines, then relay to sshd"
    start_sshd $c "$NSS" 2222
    sshd_pid=$SRV_PID
    start_bg "$WORK/logs/$c.relay.log" ip netns exec "$NSS" "$PY" "$WORK/fail-helpers.py" \
        server "$S4" 22 relay 40 "$S4" 2222
    relay_pid=$BGPID
    netns_wait_listen "$NSS" 22 "$relay_pid" || die "$c: relay did not listen"
    netns_capture_start $c "$NSS" veth-s
    ssh_client $c "$NSC" "$S4" 22
    netns_capture_stop $c
    stop_pid "$relay_pid" TERM
    stop_server
    truth $c openssh openssh "$S4" 22 "$C4" ssh sshd keys
    publish $c
fi

# The same front end printing its text and closing (its backend is down).
c=fail-bastion-close
if netns_wanted $c; then
    log "$c: text lines, then close"
    start_helper_server $c "$NSS" 22 text-close
    netns_capture_start $c "$NSS" veth-s
    ssh_client $c "$NSC" "$S4" 22
    netns_capture_stop $c
    stop_server
    truth $c openssh - "$S4" 22 "$C4" ssh
    publish $c
fi

# A fake SSH-1.5 server (python): the OpenSSH client refuses protocol 1.
c=fail-ssh1-server
if netns_wanted $c; then
    log "$c: fake SSH-1.5 server"
    start_helper_server $c "$NSS" 22 ssh1
    netns_capture_start $c "$NSS" veth-s
    ssh_client $c "$NSC" "$S4" 22
    netns_capture_stop $c
    stop_server
    truth $c openssh - "$S4" 22 "$C4" ssh
    publish $c
fi

# An SSH-1.5 client (raw socket) against sshd: sshd answers "Protocol major
# versions differ." in clear text and closes.
c=fail-ssh1-client
if netns_wanted $c; then
    log "$c: SSH-1.5 client -> sshd"
    start_sshd $c "$NSS" 22
    netns_capture_start $c "$NSS" veth-s
    helper_client $c "$NSC" "$S4" 22 "SSH-1.5-failhelper_1.0" 10
    netns_capture_stop $c
    stop_server
    truth $c failhelper openssh "$S4" 22 "$C4" helper sshd
    publish $c
fi

# A FAKE server (python) that sends a clear-text SSH_MSG_DISCONNECT after the
# client's KEXINIT: neither sshd 9.2 nor dropbear 2022.83 sends one before NEWKEYS.
c=fail-disconnect-fake
if netns_wanted $c; then
    log "$c: fake server sends DISCONNECT"
    start_helper_server $c "$NSS" 22 disconnect
    netns_capture_start $c "$NSS" veth-s
    ssh_client $c "$NSC" "$S4" 22
    netns_capture_stop $c
    stop_server
    truth $c openssh failhelper "$S4" 22 "$C4" ssh
    publish $c
fi

# LoginGraceTime N: a client that sends its banner (or nothing) and stays silent;
# sshd gives up after N s (12, and 3: shorter than any fixed idle threshold).
grace_case() { # case grace banner|-
    local c=$1 grace=$2 banner=$3 csw=failhelper
    [ "$banner" = - ] && csw=-
    netns_wanted "$c" || return 0
    log "$c: sshd [LoginGraceTime $grace] <- silent client (banner: $banner)"
    start_sshd "$c" "$NSS" 22 "LoginGraceTime $grace"
    netns_capture_start "$c" "$NSS" veth-s
    helper_client "$c" "$NSC" "$S4" 22 "$banner" $((grace * 2 + 1))
    netns_capture_stop "$c"
    stop_server
    truth "$c" "$csw" openssh "$S4" 22 "$C4" helper sshd
    publish "$c"
}
grace_case fail-logingrace 12 "SSH-2.0-failhelper_1.0"
grace_case fail-logingrace-silent 12 -
grace_case fail-logingrace-short 3 "SSH-2.0-failhelper_1.0"
grace_case fail-logingrace-short-silent 3 -

# ---------------------------------------------------------------- cases (MTU path)
# path_case CASE MODE [ssh options]; MODE: blackhole | pmtud | fragments.
# Captured on the client's veth (CASE-client) and the server's (CASE-server).
path_case() {
    local c=$1 mode=$2; shift 2
    netns_wanted "$c" || return 0
    log "$c: client - router1 - MTU 1280 - router2 - server, $mode ${*:-}"
    make_path
    local ns
    case $mode in
        blackhole)
            # fragmentation-needed never leaves the routers: dropped where it is
            # generated (OUTPUT) and where it would be forwarded (FORWARD)
            for ns in "$R1" "$R2"; do
                ip netns exec "$ns" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
                ip netns exec "$ns" iptables -A FORWARD -p icmp --icmp-type fragmentation-needed -j DROP
            done ;;
        pmtud) ;;
        fragments)
            # the server sends without DF, so router2 fragments its large packets
            ip netns exec "$PS" sysctl -qw net.ipv4.ip_no_pmtu_disc=1 ;;
    esac
    BIGKEY=1 start_sshd "$c" "$PS" 22
    netns_capture_start "$c-client" "$PC" p-c
    netns_capture_start "$c-server" "$PS" p-s
    local ct=$CLIENT_TIMEOUT
    [ "$mode" = blackhole ] && ct=20   # the client hangs: stopped after 20 s
    CT=$ct ssh_client "$c" "$PC" "$PS4" 22 "$@"
    netns_capture_stop "$c-client"
    netns_capture_stop "$c-server"
    stop_server
    del_path
    # Each end's capture is compared with that end's software: the client end with
    # ssh -vv, the server end with sshd's log (in a black hole the server may never
    # see the client's KEXINIT that ssh logged). The server end's truth keeps the
    # client's error line and exit status.
    truth "$c" openssh openssh "$PS4" 22 "$PC4" ssh keys
    TRUTH_OUT="$WORK/$c-server.truth.json" truth "$c" openssh openssh "$PS4" 22 "$PC4" sshd keys
    "$PY" -c 'import json,sys
c=json.load(open(sys.argv[1])); s=json.load(open(sys.argv[2]))
s["client_error"]=c["client_error"]
open(sys.argv[2],"w").write(json.dumps(s,indent=2)+"\n")' \
        "$WORK/$c.truth.json" "$WORK/$c-server.truth.json"
    publish "$c" "$c-client" "$c-server"
}
# The client's own KEXINIT (1560 bytes with OpenSSH 9.2's default offer) is lost.
path_case fail-mtu-blackhole blackhole
# The client's offer trimmed so its packets fit: the server's KEX reply is lost
# (ssh hangs at "expecting SSH2_MSG_KEX_ECDH_REPLY").
TRIM=(-o KexAlgorithms=curve25519-sha256 -o Ciphers=aes128-gcm@openssh.com
      -o MACs=hmac-sha2-256 -o HostKeyAlgorithms=rsa-sha2-512-cert-v01@openssh.com)
path_case fail-mtu-blackhole-kexreply blackhole "${TRIM[@]}"
path_case fail-mtu-pmtud pmtud
path_case fail-ip-fragments fragments

# ---------------------------------------------------------------- check
netns_check_sizes "$OUT" "${CAPTURES[@]}"
log "done: ${#CAPTURES[@]} captures in $OUT (check them: tests/diagnoses/check.py)"

#!/usr/bin/env bash
# make-captures.sh — regenerate kexwatch's golden captures with REAL SSH
# software (OpenSSH, dropbear, paramiko) talking across a veth pair between
# two network namespaces that this script creates and removes.
#
# usage: sudo tests/pcaps/make-captures.sh [OUTDIR]      (default: this folder)
#        KEEP_WORK=1 keeps the temporary folder (keys, configs, raw logs).
#
# Writes, per case: <case>.pcap, <case>.truth.json (what the software itself
# said: see truth.py), logs/<case>.client.log (ssh -vv / dbclient / paramiko
# stderr), logs/<case>.server.log (sshd LogLevel DEBUG1 / dropbear -E);
# paramiko cases also logs/<case>.paramiko.json. Plus demo.pcap +
# demo.truth.json (several cases merged in time order) and versions.txt.
#
# Needs: root, Debian 12, and these Debian packages (installed with
# `apt-get install -y` when missing): openssh-server, openssh-client,
# dropbear-bin, python3-paramiko, tcpdump, tshark, wireshark-common (mergecap),
# iproute2 (ip, ss), util-linux (unshare), mount, ethtool, coreutils (timeout).
# Helpers beside this script: paramiko-login.py, truth.py (run with
# /usr/bin/python3, Debian's, for python3-paramiko).
#
# Network: traffic only between the two namespaces made here, addresses
# 198.18.0.1/.2 (198.18.0.0/15) and 2001:db8::1/::2 (2001:db8::/32). Nothing
# listens or sends outside them. Every wait loop is bounded; every client runs
# under `timeout`. A trap kills every process started here, by PID, and
# deletes the namespaces, even on failure. Namespace names carry $$ so parallel
# runs do not collide. Nothing in the real /root is read or written: clients
# and dropbear run in a private mount namespace with a temporary home bound
# over /root.
#
# Output is deterministic only up to keys, ports, timestamps and random
# cookies: every run generates fresh host and client keys. Expected kexwatch
# records are regenerated from these captures by tests/golden/regen.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT_TIMEOUT=30          # seconds, for every client command

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"   # need, log, die, start_bg, stop_pid, cleanup trap, veth setup

netns_script_out "${1:-$HERE}"

# ---------------------------------------------------------------- packages
need /usr/sbin/sshd openssh-server
need ssh openssh-client
need ssh-keygen openssh-client
need dropbear dropbear-bin
need dbclient dropbear-bin
need dropbearkey dropbear-bin
need dropbearconvert dropbear-bin
netns_capture_needs
need tshark tshark
need mergecap wireshark-common
need unshare util-linux
need mount mount
[ -x "$PY" ] && "$PY" -c 'import paramiko' 2>/dev/null || MISSING+=(python3-paramiko)
install_missing

# ---------------------------------------------------------------- state
NSC="kexwatch-c-$$"        # client namespace
NSS="kexwatch-s-$$"        # server namespace
NETNS=("$NSC" "$NSS")      # emptied and deleted by the EXIT trap
C4=198.18.0.1  S4=198.18.0.2
C6=2001:db8::1 S6=2001:db8::2
netns_begin captures

# Run a command in the namespace $1 with a temporary home $2 bound over
# /root (private mount namespace), bounded by CLIENT_TIMEOUT.
in_ns_home() {
    local ns=$1 home=$2; shift 2
    timeout --kill-after=5 "$CLIENT_TIMEOUT" \
        ip netns exec "$ns" unshare --mount --propagation private \
        bash -c 'mount --bind "$0" /root && exec "$@"' "$home" "$@"
}

# ---------------------------------------------------------------- network
# No segmentation/receive offloads (netns_up): the capture then shows
# wire-sized segments, as a sniffer on a gateway would see them.
netns_client_server "$NSC" "$NSS" "$C4/24" "$C6/64" -- "$S4/24" "$S6/64"

# ---------------------------------------------------------------- keys
mkdir -p "$WORK/keys" "$WORK/run" "$WORK/client-home" "$WORK/dropbear-home/.ssh" \
         "$WORK/caps" "$WORK/logs" "$OUT/logs"
chmod 700 "$WORK/client-home" "$WORK/dropbear-home" "$WORK/dropbear-home/.ssh"
mkdir -p /run/sshd && chmod 755 /run/sshd
K=$WORK/keys
ssh-keygen -q -t ed25519 -N '' -C kexwatch-hostkey-ed25519 -f "$K/ssh_host_ed25519_key"
ssh-keygen -q -t ecdsa -b 256 -N '' -C kexwatch-hostkey-ecdsa -f "$K/ssh_host_ecdsa_key"
ssh-keygen -q -t rsa -b 3072 -N '' -C kexwatch-hostkey-rsa -f "$K/ssh_host_rsa_key"
ssh-keygen -q -t ed25519 -N '' -C kexwatch-client -f "$K/client_ed25519"
ssh-keygen -q -t ed25519 -N '' -C kexwatch-unauthorized -f "$K/client_unauthorized"
cp "$K/client_ed25519.pub" "$K/authorized_keys"
cp "$K/client_ed25519.pub" "$WORK/dropbear-home/.ssh/authorized_keys"
chmod 600 "$WORK/dropbear-home/.ssh/authorized_keys"
dropbearconvert openssh dropbear "$K/client_ed25519" "$K/client_ed25519.dropbear" >/dev/null 2>&1
dropbearkey -t ed25519 -f "$K/dropbear_ed25519_host_key" >/dev/null 2>&1
dropbearkey -y -f "$K/dropbear_ed25519_host_key" | grep '^ssh-' >"$K/dropbear_ed25519_host_key.pub"
# helpers are copied: /root is replaced in the clients' mount namespace
cp "$HERE/paramiko-login.py" "$HERE/truth.py" "$WORK/"
SSHD_PUBS=("$K/ssh_host_ed25519_key.pub" "$K/ssh_host_ecdsa_key.pub" "$K/ssh_host_rsa_key.pub")

# ---------------------------------------------------------------- versions
{
    echo "# software that made these captures (make-captures.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo "ssh -V: $(ssh -V 2>&1)"
    echo "sshd -V: $(/usr/sbin/sshd -V 2>&1 | head -1)"
    echo "dropbear -V: $(dropbear -V 2>&1 | head -1)"
    echo "dbclient -V: $(dbclient -V 2>&1 | head -1)"
    echo "paramiko: $("$PY" -c 'import paramiko; print(paramiko.__version__)')"
    echo "python: $("$PY" -c 'import sys; print(sys.version.split()[0])')"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -1)"
    tcpdump --version 2>&1 | sed -n 2p
    echo "tshark: $(tshark -v 2>/dev/null | head -1)"
    echo "kernel: $(uname -sr)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "# Debian packages"
    dpkg-query -W -f='${Package} ${Version}\n' openssh-server openssh-client \
        dropbear-bin python3-paramiko tcpdump tshark libssl3 2>/dev/null
} >"$OUT/versions.txt"

# ---------------------------------------------------------------- servers
SRV_PID=""
SRV_PUBS=()

start_sshd() {    # case port
    local c=$1 port=$2 conf="$WORK/run/sshd-$1.conf"
    { cat <<EOF
Port $port
AddressFamily any
HostKey $K/ssh_host_ed25519_key
HostKey $K/ssh_host_ecdsa_key
HostKey $K/ssh_host_rsa_key
PidFile $WORK/run/sshd-$c.pid
LogLevel DEBUG1
EOF
      sshd_test_lines "$K/authorized_keys"; } >"$conf"
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$NSS" /usr/sbin/sshd -D -e -f "$conf"
    SRV_PID=$BGPID
    SRV_PUBS=("${SSHD_PUBS[@]}")
    netns_wait_listen "$NSS" "$port" "$SRV_PID" || { cat "$WORK/logs/$c.server.log" >&2; die "$c: sshd did not listen on $port"; }
}

start_dropbear() { # case port
    local c=$1 port=$2
    start_bg "$WORK/logs/$c.server.log" \
        ip netns exec "$NSS" unshare --mount --propagation private \
        bash -c 'mount --bind "$0" /root && exec "$@"' "$WORK/dropbear-home" \
        dropbear -F -E -s -m -r "$K/dropbear_ed25519_host_key" -p "$port" -P "$WORK/run/dropbear-$c.pid"
    SRV_PID=$BGPID
    SRV_PUBS=("$K/dropbear_ed25519_host_key.pub")
    netns_wait_listen "$NSS" "$port" "$SRV_PID" || { cat "$WORK/logs/$c.server.log" >&2; die "$c: dropbear did not listen on $port"; }
}

stop_server() {
    if [ -n "$SRV_PID" ]; then stop_pid "$SRV_PID" TERM; fi
    SRV_PID=""
}

# ---------------------------------------------------------------- capture
start_capture() { netns_capture_start "$1" "$NSS" veth-s; } # case

# ---------------------------------------------------------------- clients
SSH_BASE=(ssh -vv -F /dev/null -n -T
          -o BatchMode=yes -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null
          -o IdentitiesOnly=yes -o ConnectTimeout=10 -o ConnectionAttempts=1)

# case server(sshd|dropbear|none) client(openssh|dbclient|paramiko) family port [ssh options...]
# CLIENT_KEY (env) overrides the client key (openssh client only).
run_case() {
    local c=$1 server=$2 client=$3 family=$4 port=$5; shift 5
    local cip sip key rc=0 sw_server
    if [ "$family" = 6 ]; then cip=$C6 sip=$S6; else cip=$C4 sip=$S4; fi
    key=${CLIENT_KEY:-$K/client_ed25519}
    log "$c: $client -> $server, IPv$family port $port ${*:-}"
    case $server in
        sshd) start_sshd "$c" "$port"; sw_server=openssh ;;
        dropbear) start_dropbear "$c" "$port"; sw_server=dropbear ;;
        none) SRV_PUBS=(); sw_server="" ; : >"$WORK/logs/$c.server.log" ;;
    esac
    start_capture "$c"
    local clog="$WORK/logs/$c.client.log"
    case $client in
        openssh)
            in_ns_home "$NSC" "$WORK/client-home" "${SSH_BASE[@]}" \
                -o IdentityFile="$key" -p "$port" "$@" "root@$sip" true \
                </dev/null >"$clog" 2>&1 || rc=$?
            ;;
        dbclient)
            in_ns_home "$NSC" "$WORK/client-home" \
                dbclient -y -y -i "$K/client_ed25519.dropbear" -p "$port" "root@$sip" true \
                </dev/null >"$clog" 2>&1 || rc=$?
            ;;
        paramiko)
            in_ns_home "$NSC" "$WORK/client-home" \
                "$PY" "$WORK/paramiko-login.py" "$sip" "$port" root "$key" true \
                "$WORK/logs/$c.paramiko.json" \
                </dev/null >"$clog" 2>&1 || rc=$?
            ;;
    esac
    netns_capture_stop "$c"
    stop_server
    log "$c: client exit status $rc"

    local args=(--case "$c" --client-software "$client" --family "$family"
                --port "$port" --client-ip "$cip" --server-ip "$sip"
                --client-rc "$rc" --out "$WORK/$c.truth.json")
    [ "$client" = dbclient ] && args[3]=dropbear
    [ -n "$sw_server" ] && args+=(--server-software "$sw_server")
    [ "$client" = openssh ] && args+=(--ssh-log "$clog")
    [ "$client" = paramiko ] && args+=(--paramiko-json "$WORK/logs/$c.paramiko.json")
    [ "$server" = sshd ] && args+=(--sshd-log "$WORK/logs/$c.server.log")
    local p
    for p in "${SRV_PUBS[@]}"; do args+=(--hostkey-pub "$p"); done
    "$PY" "$WORK/truth.py" "${args[@]}"

    cp "$WORK/caps/$c.pcap" "$WORK/$c.truth.json" "$OUT/"
    cp "$clog" "$OUT/logs/$c.client.log"
    [ "$server" != none ] && cp "$WORK/logs/$c.server.log" "$OUT/logs/$c.server.log"
    [ "$client" = paramiko ] && cp "$WORK/logs/$c.paramiko.json" "$OUT/logs/"
    CASES+=("$c")
    return 0
}
CASES=()

# ---------------------------------------------------------------- cases
# Baseline: what a stock OpenSSH client and server negotiate today.
run_case openssh-default-v4 sshd openssh 4 22
# Same baseline over IPv6 (IPv6 headers, ND instead of ARP).
run_case openssh-default-v6 sshd openssh 6 22
# curve25519-sha256 forced: the ECDH KEX_ECDH_INIT/REPLY messages (30/31).
run_case openssh-curve25519-v4 sshd openssh 4 22 -o KexAlgorithms=curve25519-sha256
# DH group exchange: extra GEX request/group/init/reply messages (34,31,32,33).
run_case openssh-dhgex-v4 sshd openssh 4 22 -o KexAlgorithms=diffie-hellman-group-exchange-sha256
# DH group exchange over IPv6: large KEX packets segmented over IPv6.
run_case openssh-dhgex-v6 sshd openssh 6 22 -o KexAlgorithms=diffie-hellman-group-exchange-sha256
# Post-quantum hybrid KEX: large (>1 kB) KEX init/reply payloads.
run_case openssh-sntrup-v4 sshd openssh 4 22 -o KexAlgorithms=sntrup761x25519-sha512@openssh.com
# Classic CTR cipher with a non-EtM MAC (MAC named, not implicit).
run_case openssh-aes128ctr-hmac-v4 sshd openssh 4 22 -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256
# CTR cipher with an encrypt-then-MAC MAC (packet length in clear afterwards).
run_case openssh-aes128ctr-etm-v4 sshd openssh 4 22 -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256-etm@openssh.com
# chacha20-poly1305 forced: AEAD, MAC printed as <implicit>.
run_case openssh-chacha20-v4 sshd openssh 4 22 -o Ciphers=chacha20-poly1305@openssh.com
# AES-GCM: the other AEAD family, also MAC <implicit>.
run_case openssh-aes256gcm-v4 sshd openssh 4 22 -o Ciphers=aes256-gcm@openssh.com
# RSA host key (rsa-sha2-512 signature over an ssh-rsa key): host-key type != algorithm.
run_case openssh-rsa-hostkey-v4 sshd openssh 4 22 -o HostKeyAlgorithms=rsa-sha2-512
# ECDSA P-256 host key.
run_case openssh-ecdsa-hostkey-v4 sshd openssh 4 22 -o HostKeyAlgorithms=ecdsa-sha2-nistp256
# zlib@openssh.com compression negotiated (compression fields not "none").
run_case openssh-compression-v4 sshd openssh 4 22 -o Compression=yes
# Non-standard port: SSH must be recognised by its banner, not port 22.
run_case openssh-port2222-v4 sshd openssh 4 2222
# Non-standard port over IPv6.
run_case openssh-port2222-v6 sshd openssh 6 2222
# dropbear server: different banner, KEXINIT lists and packet layout.
run_case openssh-to-dropbear-v4 dropbear openssh 4 2022
# dropbear client (dbclient) against OpenSSH: a client other than OpenSSH.
run_case dbclient-to-openssh-v4 sshd dbclient 4 22
# paramiko client against OpenSSH: Python implementation, own algorithm order.
run_case paramiko-to-openssh-v4 sshd paramiko 4 22
# paramiko client against dropbear: neither side is OpenSSH.
run_case paramiko-to-dropbear-v4 dropbear paramiko 4 2022
# Failure: no common KEX ("no matching key exchange method found").
run_case openssh-nokex-v4 sshd openssh 4 22 -o KexAlgorithms=diffie-hellman-group1-sha1
# Failure: sshd is down, nothing listens on port 22 (SYN answered by RST, "Connection refused").
run_case openssh-refused-v4 none openssh 4 22
# Handshake completes but public-key authentication fails ("Permission denied").
CLIENT_KEY=$K/client_unauthorized run_case openssh-authfail-v4 sshd openssh 4 22

# ---------------------------------------------------------------- demo
# demo.pcap: several kinds of login and failure, merged in time order.
DEMO=(openssh-default-v4 paramiko-to-openssh-v4 openssh-nokex-v4 openssh-to-dropbear-v4
      dbclient-to-openssh-v4 openssh-refused-v4 openssh-default-v6 openssh-authfail-v4
      openssh-sntrup-v4)
demo_files=() demo_truth=()
for c in "${DEMO[@]}"; do demo_files+=("$OUT/$c.pcap"); done
# mergecap orders packets by timestamp; list truth files in that same order
mapfile -t demo_sorted < <(for c in "${DEMO[@]}"; do
    printf '%s %s\n' "$(tshark -r "$OUT/$c.pcap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)" "$c"
done | sort -n | awk '{print $2}')
for c in "${demo_sorted[@]}"; do demo_truth+=("$OUT/$c.truth.json"); done
mergecap -F pcap -w "$OUT/demo.pcap" "${demo_files[@]}"
"$PY" "$WORK/truth.py" --merge "$OUT/demo.truth.json" demo "${demo_truth[@]}"
log "demo: merged ${demo_sorted[*]}"

# ---------------------------------------------------------------- check
# Each capture must hold what its case claims: for a handshake that got to
# NEWKEYS, both banners, both KEXINITs and both NEWKEYS; for the no-KEX
# failure, both banners and KEXINITs; for the refused port, a RST. And < 1 MB.
# shellcheck disable=SC2054  # tshark syntax, not array separators
DECODE=(-d tcp.port==2222,ssh -d tcp.port==2022,ssh)
fail=0
for c in "${CASES[@]}"; do
    f="$OUT/$c.pcap"
    size=$(stat -c %s "$f")
    out=$(tshark -r "$f" "${DECODE[@]}" -Y ssh -T fields -e ssh.protocol -e ssh.message_code 2>/dev/null)
    banners=$(printf '%s\n' "$out" | awk -F'\t' '$1 != ""' | wc -l)
    kexinit=$(printf '%s\n' "$out" | awk -F'\t' '{n=split($2,a,","); for(i=1;i<=n;i++) if (a[i]==20) k++} END{print k+0}')
    newkeys=$(printf '%s\n' "$out" | awk -F'\t' '{n=split($2,a,","); for(i=1;i<=n;i++) if (a[i]==21) k++} END{print k+0}')
    rst=$(tshark -r "$f" -Y 'tcp.flags.reset==1' 2>/dev/null | wc -l)
    outcome=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["outcome"])' "$OUT/$c.truth.json")
    ok=1
    [ "$size" -lt 1048576 ] || ok=0
    case $c in
        openssh-refused-v4) [ "$rst" -ge 1 ] && [ "$banners" -eq 0 ] || ok=0 ;;
        openssh-nokex-v4) [ "$banners" -eq 2 ] && [ "$kexinit" -eq 2 ] && [ "$outcome" = failed ] || ok=0 ;;
        *) [ "$banners" -eq 2 ] && [ "$kexinit" -eq 2 ] && [ "$newkeys" -eq 2 ] \
               && [ "$outcome" = established ] || ok=0 ;;
    esac
    printf '%-28s %7d bytes  banners=%d kexinit=%d newkeys=%d rst=%d outcome=%s %s\n' \
        "$c.pcap" "$size" "$banners" "$kexinit" "$newkeys" "$rst" "$outcome" \
        "$([ $ok = 1 ] && echo OK || echo FAIL)"
    [ "$ok" = 1 ] || fail=1
done
size=$(stat -c %s "$OUT/demo.pcap")
printf '%-28s %7d bytes  connections=%d\n' demo.pcap "$size" "${#DEMO[@]}"
[ "$size" -lt 1048576 ] || fail=1
[ "$fail" = 0 ] || die "some captures failed their check (see above)"
log "done: ${#CASES[@]} cases + demo in $OUT"

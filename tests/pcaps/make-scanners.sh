#!/usr/bin/env bash
# make-scanners.sh — real SSH scanners against a real sshd in network
# namespaces, for kexwatch's scanner_probe diagnosis (issue 13, item 5).
#
# usage: sudo tests/pcaps/make-scanners.sh [OUTDIR]      (default: this folder)
#        KEEP_WORK=1 keeps the temporary folder (keys, configs, raw logs).
#        ONLY="scan-ssh-audit" runs only those cases.
#
# Cases (each one capture of every connection the scanner made):
#   scan-ssh-audit  ssh-audit (Debian 12: 2.5.0) audits sshd: a connection for
#                   the banner and the KEXINIT, one per host-key type that runs
#                   the key exchange up to the KEX reply, and DH group-exchange
#                   probes that close after the server's GEX group. It calls
#                   itself OpenSSH_8.2 on the wire.
#   scan-nmap       nmap's ssh2-enum-algos and ssh-hostkey scripts (Debian 12:
#                   7.93), connect scan (-sT) of port 22 only: banners
#                   "SSH-2.0-Nmap_SSH2_Enum_Algos" and "SSH-2.0-Nmap-SSH2-Hostkey".
#
# Writes, per case: <case>.pcap, <case>.truth.json ({"case", "connections": [...]}:
# one object per connection sshd logged, with the client's identification as
# sshd read it), logs/<case>.client.log (the scanner's output) and
# logs/<case>.server.log (sshd -e, LogLevel DEBUG1). ./test.sh only reads them.
#
# Network: only the two namespaces made here, kws-c-<pid> 198.18.0.1 <->
# kws-s-<pid> 198.18.0.2 (198.18.0.0/15). Every wait loop is bounded, every
# scanner runs under `timeout`; a trap kills every process started here by PID
# (and anything left in the namespaces) and deletes the namespaces, even on
# failure. Needs root, Debian 12: openssh-server, ssh-audit, nmap, tcpdump,
# iproute2, ethtool, python3 (apt-get installs what is missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCAN_TIMEOUT=120   # seconds, bound for every scanner run

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"   # need, log, die, start_bg, stop_pid, cleanup trap, veth setup

netns_script_out "${1:-$HERE}"

need /usr/sbin/sshd openssh-server
need ssh-keygen openssh-client
need ssh-audit ssh-audit
need nmap nmap
netns_capture_needs
need "$PY" python3
install_missing

NSC="kws-c-$$" NSS="kws-s-$$"
NETNS=("$NSC" "$NSS")
C4=198.18.0.1 S4=198.18.0.2
netns_begin scanners

netns_client_server "$NSC" "$NSS" "$C4/24" -- "$S4/24"

mkdir -p "$WORK/keys" "$WORK/run" "$WORK/caps" "$WORK/logs" "$OUT/logs"
mkdir -p /run/sshd && chmod 755 /run/sshd
K=$WORK/keys
ssh-keygen -q -t ed25519 -N '' -C kexwatch-hostkey-ed25519 -f "$K/ssh_host_ed25519_key"
ssh-keygen -q -t ecdsa -b 256 -N '' -C kexwatch-hostkey-ecdsa -f "$K/ssh_host_ecdsa_key"
ssh-keygen -q -t rsa -b 3072 -N '' -C kexwatch-hostkey-rsa -f "$K/ssh_host_rsa_key"
: >"$K/authorized_keys"

SRV_PID=""
start_sshd() { # case
    local c=$1 conf="$WORK/run/sshd-$1.conf"
    {
        echo "Port 22"
        echo "ListenAddress $S4"
        echo "HostKey $K/ssh_host_ed25519_key"
        echo "HostKey $K/ssh_host_ecdsa_key"
        echo "HostKey $K/ssh_host_rsa_key"
        echo "PidFile $WORK/run/sshd-$c.pid"
        echo "LogLevel DEBUG1"
        # a scanner opens connections quickly: no MaxStartups drop in the capture
        echo "MaxStartups 100:30:200"
        sshd_test_lines "$K/authorized_keys"
    } >"$conf"
    start_bg "$WORK/logs/$c.server.log" ip netns exec "$NSS" /usr/sbin/sshd -D -e -f "$conf"
    SRV_PID=$BGPID
    netns_wait_listen "$NSS" 22 "$SRV_PID" && return 0
    cat "$WORK/logs/$c.server.log" >&2
    die "$c: sshd did not listen"
}

start_capture() { netns_capture_start "$1" "$NSS" veth-s tcp port 22; } # case

# truth CASE: one connection object per "Connection from" in sshd's log, with
# the client's identification as sshd read it ("Remote protocol version V,
# remote software version S": SSH-V-S; sshd drops comments, the scanners send
# none). The server's banner is not in sshd's log whole: not written.
truth() {
    "$PY" - "$1" "$WORK/logs/$1.server.log" "$OUT/$1.truth.json" "$S4" <<'PY'
import json, re, sys
case, log, out, server = sys.argv[1:5]
conns, cur = [], None
for line in open(log, errors="replace"):
    m = re.search(r"Connection from (\S+) port (\d+) on (\S+) port (\d+)", line)
    if m:
        cur = {"client_ip": m.group(1), "server_ip": m.group(3),
               "server_port": int(m.group(4)), "family": 4, "client_banner": None}
        conns.append(cur)
        continue
    m = re.search(r"Remote protocol version ([0-9.]+), remote software version (\S+)", line)
    if m and cur is not None and cur["client_banner"] is None:
        cur["client_banner"] = "SSH-%s-%s" % (m.group(1), m.group(2))
if not conns or conns[0]["server_ip"] != server:
    sys.exit("%s: no connection in %s" % (case, log))
json.dump({"case": case, "connections": conns}, open(out, "w"), indent=2)
open(out, "a").write("\n")
print("%s: %d connections" % (case, len(conns)))
PY
}

CAPTURES=()
publish() { # case
    cp "$WORK/caps/$1.pcap" "$OUT/$1.pcap"
    cp "$WORK/logs/$1.client.log" "$OUT/logs/$1.client.log"
    cp "$WORK/logs/$1.server.log" "$OUT/logs/$1.server.log"
    CAPTURES+=("$1")
}

# scan_case CASE command...: sshd, capture, the scanner in the client namespace.
scan_case() {
    local c=$1 rc=0; shift
    netns_wanted "$c" || return 0
    log "$c: $*"
    start_sshd "$c"
    start_capture "$c"
    timeout --kill-after=5 "$SCAN_TIMEOUT" ip netns exec "$NSC" "$@" \
        </dev/null >"$WORK/logs/$c.client.log" 2>&1 || rc=$?
    # ssh-audit exits 1-3 for warnings and failures it found: only a timeout is ours
    [ "$rc" -lt 124 ] || { cat "$WORK/logs/$c.client.log" >&2; die "$c: scanner exit $rc"; }
    sleep 1   # the last close, and sshd's answer to it
    netns_capture_stop "$c"
    stop_pid "$SRV_PID" TERM
    truth "$c"
    publish "$c"
}

scan_case scan-ssh-audit ssh-audit -n -p 22 "$S4"
scan_case scan-nmap nmap -n -Pn -sT -p 22 --script ssh2-enum-algos,ssh-hostkey "$S4"

{
    echo "ssh-audit $(dpkg-query -W -f '${Version}' ssh-audit)"
    echo "nmap $(dpkg-query -W -f '${Version}' nmap)"
    echo "openssh-server $(dpkg-query -W -f '${Version}' openssh-server)"
} >"$OUT/logs/scanners-versions.txt"

netns_check_sizes "$OUT" "${CAPTURES[@]}"
log "done: ${#CAPTURES[@]} captures in $OUT"

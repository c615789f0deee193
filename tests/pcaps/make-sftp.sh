#!/usr/bin/env bash
# make-sftp.sh — ProFTPD's mod_sftp (an SSH server inside an FTP daemon) on
# the FTP-style port 2121 in network namespaces, for kexwatch's recognition
# of a server banner that follows the client's non-SSH line (issue 13,
# item 6).
#
# usage: sudo tests/pcaps/make-sftp.sh [OUTDIR]      (default: this folder)
#        KEEP_WORK=1 keeps the temporary folder (keys, configs, raw logs).
#        ONLY="sftp-ftp-first" runs only those cases.
#
# Cases (each one connection to proftpd with `SFTPEngine on` on port 2121):
#   sftp-ftp-first   an FTP client: connects and at once sends "USER x\r\n"
#                    (python socket), before proftpd's identification line,
#                    then reads what the server says for up to 3 s and closes.
#                    The script checks the order in the capture: the client's
#                    line first, then the server's "SSH-2.0-mod_sftp" banner.
#   sftp-ftp-after   the same client waits for the server's first bytes, then
#                    sends "USER x\r\n": the banner before the client's line.
#   sftp-openssh     the positive control: OpenSSH's sftp in batch mode with
#                    no key proftpd accepts; the key exchange finishes and the
#                    login is refused.
#
# Writes, per case: <case>.pcap, <case>.truth.json (one connection as
# tests/golden/truth.py reads it: server banner and outcome from mod_sftp's
# log, the client's banner and the negotiation from sftp -v; its "evidence"
# names the log lines and which side's payload came first in the capture),
# logs/<case>.client.log (for the FTP cases, what the client read, as a JSON
# string) and logs/<case>.server.log (mod_sftp's SFTPLog). ./test.sh only
# reads them.
#
# Network: only the two namespaces made here, kwf-c-<pid> 198.18.0.1 <->
# kwf-s-<pid> 198.18.0.2 (198.18.0.0/15). Every wait loop is bounded, every
# client runs under `timeout`; a trap kills every process started here by PID
# (and anything left in the namespaces) and deletes the namespaces, even on
# failure. Needs root, Debian 12: proftpd-core, proftpd-mod-crypto (mod_sftp),
# openssh-client, tcpdump, iproute2, ethtool, python3 (apt-get installs what
# is missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=2121
CLIENT_TIMEOUT=30   # seconds, bound for every client run

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"   # need, log, die, start_bg, stop_pid, cleanup trap, veth setup

netns_script_out "${1:-$HERE}"

need /usr/sbin/proftpd proftpd-core
[ -e /usr/lib/proftpd/mod_sftp.so ] || MISSING+=(proftpd-mod-crypto)
need ssh-keygen openssh-client
need sftp openssh-client
netns_capture_needs
need "$PY" python3
install_missing

NSC="kwf-c-$$" NSS="kwf-s-$$"
NETNS=("$NSC" "$NSS")
C4=198.18.0.1 S4=198.18.0.2
netns_begin sftp

netns_client_server "$NSC" "$NSS" "$C4/24" -- "$S4/24"

mkdir -p "$WORK/keys" "$WORK/run" "$WORK/caps" "$WORK/logs" "$WORK/home" "$OUT/logs"
chmod 755 "$WORK" "$WORK/run"
K=$WORK/keys
# mod_sftp reads PEM host keys (RSA and ECDSA); a client key it will refuse.
ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C kexwatch-sftp-rsa -f "$K/host_rsa"
ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C kexwatch-sftp-ecdsa -f "$K/host_ecdsa"
ssh-keygen -q -t ed25519 -N '' -C kexwatch-sftp-client -f "$K/client"

SRV_PID=""
start_proftpd() { # case
    local c=$1 conf="$WORK/run/proftpd-$1.conf"
    cat >"$conf" <<EOF
ServerName "kexwatch-sftp"
ServerType standalone
DefaultServer on
UseIPv6 off
DefaultAddress $S4

Port $PORT
User nobody
Group nogroup
PidFile $WORK/run/proftpd-$c.pid
ScoreboardFile $WORK/run/proftpd-$c.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
ModulePath /usr/lib/proftpd
LoadModule mod_sftp.c
<IfModule mod_sftp.c>
  SFTPEngine on
  SFTPLog $WORK/logs/$c.server.log
  SFTPHostKey $K/host_rsa
  SFTPHostKey $K/host_ecdsa
  SFTPAuthMethods publickey
  SFTPAuthorizedUserKeys file:'$WORK/keys/none/%u'
</IfModule>
EOF
    : >"$WORK/logs/$c.server.log"
    start_bg "$WORK/logs/$c.proftpd.log" ip netns exec "$NSS" /usr/sbin/proftpd -n -q -c "$conf"
    SRV_PID=$BGPID
    netns_wait_listen "$NSS" "$PORT" "$SRV_PID" && return 0
    cat "$WORK/logs/$c.proftpd.log" >&2
    die "$c: proftpd did not listen"
}

start_capture() { netns_capture_start "$1" "$NSS" veth-s tcp port "$PORT"; } # case

# ftp-client.py HOST PORT MODE: an FTP client's first move. MODE "first"
# sends at once; "after" waits (at most 5 s) for the server's first bytes.
# Prints what it read, as a JSON string, on stdout.
cat >"$WORK/run/ftp-client.py" <<'PY'
import json, socket, sys, time
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
got = b""
if mode == "after":
    got += s.recv(4096)
s.sendall(b"USER x\r\n")
end = time.monotonic() + 3
s.settimeout(0.5)
while time.monotonic() < end:
    try:
        b = s.recv(4096)
    except socket.timeout:
        continue
    except ConnectionError:
        break
    if not b:
        break
    got += b
s.close()
print(json.dumps(got.decode("latin-1")))
PY

# truth CASE CLIENT_LINE: one connection object as tests/golden/truth.py
# reads it, from what the software said: mod_sftp's SFTPLog ("sent server
# version", "Bad protocol version" for a client line it refused), OpenSSH's
# sftp -v (its version string, the negotiated algorithms, the host key,
# NEWKEYS), and the order of the first payload of each direction in the
# capture, which the FTP cases are about (printed, and checked by the caller).
truth() {
    "$PY" - "$1" "$2" "$WORK/logs/$1.client.log" "$WORK/logs/$1.server.log" \
        "$WORK/caps/$1.pcap" "$OUT/$1.truth.json" "$C4" "$S4" "$PORT" <<'PY'
import json, re, struct, sys
case, cline, clog, slog, pcap, out, cip, sip, port = sys.argv[1:10]
port = int(port)
client = open(clog, errors="replace").read()
server = open(slog, errors="replace").read()
t = {"case": case, "client_software": "openssh" if not cline else None,
     "server_software": "mod_sftp", "family": 4, "server_port": port,
     "client_ip": cip, "server_ip": sip}
src, ev = {}, []

def take(key, value, how, line):
    t[key] = value
    src[key] = how
    ev.append(line)

m = re.search(r"sent server version '([^']*)'", server)
if m:
    take("server_banner", m.group(1), "mod_sftp SFTPLog", m.group(0))
m = re.search(r"Bad protocol version '([^']*)'", server)
if m:
    # mod_sftp refused the client's line and closed: the handshake failed.
    take("outcome", "failed", "mod_sftp SFTPLog", m.group(0))
if not cline:
    for key, rx in (("client_banner", r"Local version string (\S+(?: \S+)*)"),
                    ("kex", r"kex: algorithm: (\S+)"),
                    ("host_key_alg", r"kex: host key algorithm: (\S+)")):
        m = re.search(rx, client)
        if m:
            take(key, m.group(1), "sftp -v", m.group(0))
    for d, tag in (("s2c", "server->client"), ("c2s", "client->server")):
        m = re.search(r"kex: %s cipher: (\S+) MAC: (\S+) compression: (\S+)" % tag, client)
        if m:
            take("cipher_" + d, m.group(1), "sftp -v", m.group(0))
            take("mac_" + d, m.group(2), "sftp -v", m.group(0))
            take("compression_" + d, m.group(3), "sftp -v", m.group(0))
    m = re.search(r"Server host key: (\S+) (SHA256:\S+)", client)
    if m:
        take("host_key_type", m.group(1), "sftp -v", m.group(0))
        take("host_key_fp", m.group(2), "sftp -v", m.group(0))
    m = re.search(r"as (\d+)-bit ECDSA hostkey", server)
    if m and t.get("host_key_type", "").startswith("ecdsa"):
        take("host_key_bits", int(m.group(1)), "mod_sftp SFTPLog", m.group(0))
    if "SSH2_MSG_NEWKEYS received" in client:
        take("outcome", "established", "sftp -v", "debug1: SSH2_MSG_NEWKEYS received")
    if "Permission denied" in client:
        t["auth_result"] = "failure"
# The first payload of each direction, in capture order (Ethernet, IPv4, TCP).
order, firsts = [], {}
with open(pcap, "rb") as f:
    f.read(24)
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        fr = f.read(struct.unpack("<I", h[8:12])[0])
        ip = fr[14:]
        tcp = ip[(ip[0] & 15) * 4:]
        data = tcp[(tcp[12] >> 4) * 4:]
        side = "server" if struct.unpack(">H", tcp[0:2])[0] == port else "client"
        if data and side not in firsts:
            firsts[side] = data
            order.append(side)
if cline:
    first = firsts.get("client", b"").split(b"\r\n")[0].decode("latin-1")
    if first != cline:
        sys.exit("%s: the client's first line is %r, not %r" % (case, first, cline))
ev.append("capture: first payload from the %s" % " then the ".join(order))
t["truth_sources"] = src
t["evidence"] = ev
json.dump(t, open(out, "w"), indent=2)
open(out, "a").write("\n")
print("%s: %s first" % (case, order[0] if order else "nobody"))
if t.get("server_banner") is None:
    sys.exit("%s: mod_sftp logged no server version" % case)
PY
}

CAPTURES=()
publish() { # case
    cp "$WORK/caps/$1.pcap" "$OUT/$1.pcap"
    cp "$WORK/logs/$1.client.log" "$OUT/logs/$1.client.log"
    cp "$WORK/logs/$1.server.log" "$OUT/logs/$1.server.log"
    CAPTURES+=("$1")
}

ftp_case() { # case mode expected-order
    local c=$1 rc=0
    netns_wanted "$c" || return 0
    log "$c: FTP client ($2) against mod_sftp on port $PORT"
    start_proftpd "$c"
    start_capture "$c"
    timeout --kill-after=5 "$CLIENT_TIMEOUT" ip netns exec "$NSC" \
        "$PY" "$WORK/run/ftp-client.py" "$S4" "$PORT" "$2" \
        </dev/null >"$WORK/logs/$c.client.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || { cat "$WORK/logs/$c.client.log" >&2; die "$c: client exit $rc"; }
    sleep 1   # the server's close, and the client's answer to it
    netns_capture_stop "$c"
    stop_pid "$SRV_PID" TERM
    truth "$c" 'USER x' >"$WORK/logs/$c.order"
    cat "$WORK/logs/$c.order"
    grep -q ": $3 first" "$WORK/logs/$c.order" \
        || die "$c: the first payload is not the $3's (timing); run again"
    publish "$c"
}

ssh_case() { # case
    local c=$1 rc=0
    netns_wanted "$c" || return 0
    log "$c: OpenSSH sftp against mod_sftp on port $PORT"
    start_proftpd "$c"
    start_capture "$c"
    timeout --kill-after=5 "$CLIENT_TIMEOUT" ip netns exec "$NSC" sftp -F /dev/null \
        -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -i "$K/client" -P "$PORT" -v "kexwatch@$S4" \
        </dev/null >"$WORK/logs/$c.client.log" 2>&1 || rc=$?
    # refused login: sftp exits 255 after the key exchange; only a timeout is ours
    [ "$rc" != 124 ] && [ "$rc" != 137 ] || { cat "$WORK/logs/$c.client.log" >&2; die "$c: sftp exit $rc"; }
    grep -q "SSH2_MSG_NEWKEYS received" "$WORK/logs/$c.client.log" \
        || { cat "$WORK/logs/$c.client.log" >&2; die "$c: no key exchange"; }
    sleep 1
    netns_capture_stop "$c"
    stop_pid "$SRV_PID" TERM
    truth "$c" ''
    publish "$c"
}

ftp_case sftp-ftp-first first client
ftp_case sftp-ftp-after after server
ssh_case sftp-openssh

{
    echo "proftpd-core $(dpkg-query -W -f '${Version}' proftpd-core)"
    echo "proftpd-mod-crypto $(dpkg-query -W -f '${Version}' proftpd-mod-crypto)"
    echo "openssh-client $(dpkg-query -W -f '${Version}' openssh-client)"
} >"$OUT/logs/sftp-versions.txt"

netns_check_sizes "$OUT" "${CAPTURES[@]}"
log "done: ${#CAPTURES[@]} captures in $OUT"

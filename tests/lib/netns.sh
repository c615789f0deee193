# netns.sh: the scaffolding shared by kexwatch's scripts that run real
# software in network namespaces (sourced; bash): tests/pcaps/make-captures.sh,
# make-failures.sh, make-auth.sh, make-scanners.sh, make-sftp.sh,
# tests/hostkeys/hostkeys.sh, bench/make-corpus.sh and tests/live/lib.sh.
#
# Provides
#   need CMD PKG        record Debian package PKG in MISSING when CMD is neither
#                       on PATH nor an executable path; install_missing then
#                       installs them all (apt-get update + install -y).
#   log MSG / die MSG   "[ 12s] MSG" on stderr / "SCRIPT_NAME: MSG", exit 1.
#   start_bg LOG CMD... run CMD in the background, output to LOG; its PID is
#                       BGPID and is added to PIDS.
#   stop_pid PID [SIG]  send SIG (TERM), wait at most NETNS_STOP_WAIT tenths of
#                       a second, then SIGKILL; reap it, drop it from PIDS.
#                       STOP_RC: its exit status (137 when it had to be killed).
#   netns_trap          install the EXIT/INT/TERM traps (exit 130 on Ctrl-C,
#                       143 on SIGTERM) that run netns_cleanup.
#   netns_begin NAME    netns_trap, then WORK=$(mktemp -d -t kexwatch-NAME.XXXXXX).
#   netns_script_out DIR  what a capture script checks first: dies unless
#                       root, then OUT = DIR made absolute (made if missing).
#   netns_cleanup       (the EXIT trap) SIGTERM every PID in PIDS, SIGKILL
#                       every process left in the namespaces of NETNS (all
#                       started by the script, e.g. sshd session children),
#                       reap the PIDs (SIGKILL after 1 s), delete every
#                       namespace of NETNS, remove WORK (kept with KEEP_WORK=1,
#                       and its path printed), exit with the script's status.
#   netns_add NS...     create namespaces, loopback up.
#   netns_veth NS1 IF1 NS2 IF2   a veth pair, IF1 in NS1, IF2 in NS2.
#   netns_pair NS1 IF1 NS2 IF2   both of the above.
#   netns_up NS IF [ADDR/LEN...] addresses (IPv6 ones with nodad), offloads
#                       off (ethtool -K IF $NETNS_OFFLOADS, so captures show
#                       wire-sized segments), link up.
#   netns_wait_up NS IF...       bounded wait (NETNS_UP_WAIT tenths of a
#                       second) for LOWER_UP on the links; 1 on timeout.
#   netns_capture_needs need the tools every capture script uses.
#   netns_check_sizes DIR NAME...  print each DIR/NAME.pcap's size, die when
#                       one is 1 MiB or more.
#   netns_capture_start NAME NS IF [FILTER...]  tcpdump in NS on IF (whole
#                       frames, written as they come) into $WORK/caps/NAME.pcap,
#                       its log $WORK/logs/NAME.tcpdump.log; returns once it
#                       listens (bounded: 10 s), else shows the log and dies.
#   netns_capture_stop NAME  after NETNS_CAP_SETTLE seconds (0.5: the last
#                       FIN/ACKs go by), stop it (SIGINT), and die (showing
#                       its log) unless it wrote every packet the kernel
#                       handed it.
#   netns_wait_listen NS PORT [PID]  bounded wait (10 s) for a TCP listener
#                       on PORT in NS; 1 on timeout, or at once when PID ends.
#   sshd_test_lines AUTHORIZED_KEYS  the sshd_config lines every test sshd
#                       shares (root by key only, no PAM, no DNS lookups, no
#                       greeting); callers add ports, host keys, PidFile,
#                       LogLevel and their case's own lines.
#
# Contract: the caller sets, before sourcing or at the latest before using
# what needs them:
#   SCRIPT_NAME  name in die's messages (default: basename of $0);
#   START        $(date +%s) at the start, for log's elapsed seconds
#                (default: when this file is sourced);
#   PY           the Python the script runs (default /usr/bin/python3);
#   WORK         the work folder (mktemp -d), removed by netns_cleanup;
#                empty: nothing to remove;
#   NETNS        array of every namespace the script may create, emptied
#                of processes and deleted by netns_cleanup (names carry $$ so
#                parallel runs never collide);
# and calls netns_begin (or netns_trap once WORK is set) before creating any
# namespace or starting any process. Optional knobs: LOG_WIDTH (log's seconds field, 3),
# NETNS_OFFLOADS (ethtool features for netns_up, "tso off gso off gro off";
# empty: ethtool is not run), NETNS_UP_WAIT (50), NETNS_STOP_WAIT (50),
# NETNS_TERM_WAIT (tenths of a second each PID gets after SIGTERM in
# netns_cleanup before the namespaces are emptied, 0).
#
# Hook: a caller may define netns_cleanup_hook; netns_cleanup calls it with
# the exit status after every process is stopped and every namespace in
# NETNS is deleted, before WORK is removed (e.g. to show logs on failure, or
# to undo changes made outside the namespaces). Extra namespaces made and
# deleted per case (e.g. make-failures.sh's four-namespace MTU path) belong
# in NETNS too, so that a failure in the middle of a case removes them.

SCRIPT_NAME=${SCRIPT_NAME:-$(basename "$0")}
: "${START:=$(date +%s)}"
: "${WORK:=}"
: "${PY:=/usr/bin/python3}"
: "${LOG_WIDTH:=3}"
: "${NETNS_OFFLOADS=tso off gso off gro off}"
: "${NETNS_UP_WAIT:=50}" "${NETNS_STOP_WAIT:=50}" "${NETNS_TERM_WAIT:=0}"
PIDS=()      # every background process started by the script
MISSING=()   # Debian packages to install (need, install_missing)
[ -n "${NETNS+set}" ] || NETNS=()

log() { printf '[%*ss] %s\n' "$LOG_WIDTH" "$(( $(date +%s) - START ))" "$*" >&2; }
die() { echo "$SCRIPT_NAME: $*" >&2; exit 1; }

# ---------------------------------------------------------------- packages
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || MISSING+=("$2"); }

install_missing() {
    [ "${#MISSING[@]}" -gt 0 ] || return 0
    echo "installing: ${MISSING[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${MISSING[@]}"
}

# ---------------------------------------------------------------- processes
start_bg() {
    local logf=$1; shift
    "$@" >"$logf" 2>&1 &
    BGPID=$!
    PIDS+=("$BGPID")
}

# shellcheck disable=SC2034  # STOP_RC is read by callers
stop_pid() {
    local pid=$1 sig=${2:-TERM} keep=() p
    STOP_RC=0
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 "$NETNS_STOP_WAIT"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        STOP_RC=137
        wait "$pid" 2>/dev/null || true
    else
        wait "$pid" 2>/dev/null || STOP_RC=$?
    fi
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# _netns_reap TENTHS: give each PID that long to exit, then SIGKILL; reap it.
_netns_reap() {
    local pid
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 "$1"); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}

netns_cleanup() {
    local rc=$? pid ns
    set +e
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    [ "$NETNS_TERM_WAIT" -gt 0 ] && _netns_reap "$NETNS_TERM_WAIT"
    # Anything still inside our namespaces was started by this script
    # (e.g. an sshd session child): kill it by PID too.
    for ns in "${NETNS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done
    _netns_reap 10
    for ns in "${NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    if declare -F netns_cleanup_hook >/dev/null; then netns_cleanup_hook "$rc"; fi
    if [ -n "${WORK:-}" ]; then
        if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}

netns_trap() {
    trap netns_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# netns_begin NAME: the traps (netns_trap), then the work folder WORK
# (kexwatch-NAME.XXXXXX in TMPDIR). In that order an interruption between the
# two leaves no folder behind.
netns_begin() {
    netns_trap
    WORK=$(mktemp -d -t "kexwatch-$1.XXXXXX") || die "cannot make a work folder"
}

# ---------------------------------------------------------------- network
# Each step returns the failing command's status, so that a caller may test
# it (e.g. hostkeys.sh skips when namespaces cannot be made).
netns_add() {
    local ns
    for ns in "$@"; do
        ip netns add "$ns" || return
        ip -n "$ns" link set lo up || return
    done
}

netns_veth() { ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"; }

netns_pair() { netns_add "$1" "$3" && netns_veth "$@"; }

netns_up() {
    local ns=$1 ifc=$2 a; shift 2
    for a in "$@"; do
        case $a in
            *:*) ip -n "$ns" -6 addr add "$a" dev "$ifc" nodad || return ;;
            *) ip -n "$ns" addr add "$a" dev "$ifc" || return ;;
        esac
    done
    if [ -n "$NETNS_OFFLOADS" ]; then
        # shellcheck disable=SC2086  # a list of ethtool words
        ip netns exec "$ns" ethtool -K "$ifc" $NETNS_OFFLOADS >/dev/null 2>&1 || true
    fi
    ip -n "$ns" link set "$ifc" up
}

netns_wait_up() {
    local ns=$1 i ok; shift
    for _ in $(seq 1 "$NETNS_UP_WAIT"); do
        ok=1
        for i in "$@"; do ip -n "$ns" link show "$i" | grep -q LOWER_UP || ok=0; done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# shellcheck disable=SC2034 # OUT: the caller's
netns_script_out() {
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    OUT=$(mkdir -p "$1" && cd "$1" && pwd)
}

# netns_wait_listen NS PORT [PID]: a TCP listener on PORT in NS within 10 s
# (1 at once if PID, the server, has ended meanwhile).
netns_wait_listen() {
    for _ in $(seq 1 100); do
        [ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || return 1
        [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ] && return 0
        sleep 0.1
    done
    return 1
}

# netns_client_server NSC NSS C_ADDR... -- S_ADDR...: the two hosts of a
# capture script, NSC's veth-c joined to NSS's veth-s, addresses given, up;
# dies when the pair does not come up.
netns_client_server() {
    local nsc=$1 nss=$2 ca=() sa=() seen=0 a
    shift 2
    for a in "$@"; do
        if [ "$a" = "--" ]; then seen=1; elif [ $seen = 0 ]; then ca+=("$a"); else sa+=("$a"); fi
    done
    netns_pair "$nsc" veth-c "$nss" veth-s || die "cannot make the namespaces"
    netns_up "$nsc" veth-c "${ca[@]}" || die "cannot set up veth-c"
    netns_up "$nss" veth-s "${sa[@]}" || die "cannot set up veth-s"
    netns_wait_up "$nsc" veth-c && netns_wait_up "$nss" veth-s || die "veth pair did not come up"
}

# ------------------------------------------------------------- captures

# netns_capture_needs: the tools of every capture script (tcpdump; ip and ss;
# ethtool for netns_up's offloads; timeout for bounded clients), recorded as
# need does; the caller adds its own and runs install_missing.
netns_capture_needs() {
    need tcpdump tcpdump
    need ip iproute2
    need ss iproute2
    need ethtool ethtool
    need timeout coreutils
}

# netns_check_sizes DIR NAME...: each DIR/NAME.pcap's size; dies when one is
# 1 MiB or more (golden captures stay small).
netns_check_sizes() {
    local dir=$1 n size fail=0
    shift
    for n in "$@"; do
        size=$(stat -c %s "$dir/$n.pcap")
        printf '%-36s %8d bytes\n' "$n.pcap" "$size"
        [ "$size" -lt 1048576 ] || { echo "  too large" >&2; fail=1; }
    done
    [ "$fail" = 0 ] || die "some captures are 1 MB or more"
}

declare -gA NETNS_CAP_PIDS=()

netns_capture_start() { # name ns iface [filter...]
    local name=$1 ns=$2 ifc=$3 logf="$WORK/logs/$1.tcpdump.log"
    shift 3
    start_bg "$logf" ip netns exec "$ns" tcpdump -Z root --immediate-mode -i "$ifc" -s 0 -U \
        -w "$WORK/caps/$name.pcap" "$@"
    NETNS_CAP_PIDS[$name]=$BGPID
    for _ in $(seq 1 100); do
        grep -q "listening on" "$logf" && return 0
        kill -0 "$BGPID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$logf" >&2
    die "$name: tcpdump did not start"
}

netns_capture_stop() { # name
    local name=$1 logf="$WORK/logs/$1.tcpdump.log" got seen
    sleep "${NETNS_CAP_SETTLE:-0.5}"
    stop_pid "${NETNS_CAP_PIDS[$name]}" INT
    unset "NETNS_CAP_PIDS[$name]"
    got=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$logf")
    seen=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$logf")
    [ -n "$got" ] && [ "$got" = "$seen" ] && [ "$got" -gt 0 ] ||
        { cat "$logf" >&2; die "$name: tcpdump lost packets"; }
}

# netns_wanted CASE: run CASE? ONLY (space-separated case names) selects; unset, all.
netns_wanted() {
    [ -z "${ONLY:-}" ] && return 0
    local w
    for w in $ONLY; do [ "$w" = "$1" ] && return 0; done
    return 1
}

# ---------------------------------------------------------------- sshd
sshd_test_lines() {
    cat <<EOF
AuthorizedKeysFile $1
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
EOF
}

# lib.sh: shared setup for the live tests (sourced; bash).
#
# Each test gets two network namespaces of its own (client and server, names
# carry $$ so parallel tests never collide) joined by a veth pair, addresses
# only from 198.18.0.0/15 and 2001:db8::/32, and a temporary folder. A trap
# kills every process the test started, by PID, deletes the namespaces and
# the folder, even on failure. Every wait is a bounded loop; every client
# runs under `timeout`. Nothing listens or sends outside the namespaces.
#
# Usage: KW=path/to/kexwatch; . lib.sh; live_setup; ... ; pass
# Needs root (exit 77, "skipped", without it).

set -euo pipefail

LIVE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
C4=198.18.0.1 S4=198.18.0.2
C6=2001:db8::1 S6=2001:db8::2
NSC="kwl-c-$$" NSS="kwl-s-$$"
VC="kwc$$" VS="kws$$" # interface names (15 characters at most)
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
# Processes, namespaces, the cleanup trap and the veth pair: tests/lib/netns.sh,
# with the live tests' own bounds: stop_pid waits 10 s; the cleanup gives each
# process 3 s after SIGTERM before the namespaces are emptied; links may take
# 10 s to come up; offloads stay as the kernel sets them (no ethtool).
SCRIPT_NAME=$TEST_NAME
NETNS=("$NSC" "$NSS")
WORK=""
NETNS_STOP_WAIT=100 NETNS_TERM_WAIT=30 NETNS_UP_WAIT=100 NETNS_OFFLOADS=""
# shellcheck source=../lib/netns.sh
. "$LIVE_DIR/../lib/netns.sh"
# Sanitizer reports go to standard error (redirected by the test into a file
# it opened as root), never to a log_path that kexwatch, running as nobody
# after -Z, could not open.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=stderr"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=stderr"

# The live tests' own messages (not netns.sh's timed log and die).
log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() {
	printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}
pass() { log "ok"; }

# netns_cleanup_hook: on failure, the end of every log in the work folder.
netns_cleanup_hook() {
	local rc=$1 f
	if [ "$rc" -ne 0 ] && [ -n "$WORK" ] && [ -d "$WORK" ]; then
		for f in "$WORK"/*.err "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 30 lines)" >&2
			tail -n 30 "$f" >&2
		done
	fi
}

# need CMD PACKAGE...: install the Debian package when the command is missing.
# Unlike netns.sh's need (which collects for install_missing), the live tests
# install at once, quietly, without recommends, wherever a test asks.
need() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] && return 0
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 ||
		{ apt-get update -qq >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

# wait_until SECONDS CMD...: run CMD every 0.2 s until it succeeds; 1 on timeout.
wait_until() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

in_c() { timeout --kill-after=5 30 ip netns exec "$NSC" "$@"; }
in_s() { timeout --kill-after=5 30 ip netns exec "$NSS" "$@"; }

live_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "[$TEST_NAME] skipped: needs root" >&2
		exit 77
	fi
	[ -x "${KW:-}" ] || fail "kexwatch binary not given (KW)"
	need ip iproute2
	need "$PY" python3
	need timeout coreutils
	netns_begin live
	chmod 755 "$WORK"
	# Where kexwatch, running as nobody after -Z, writes and reopens its files.
	mkdir -p "$WORK/out"
	chown nobody:nogroup "$WORK/out"
	netns_pair "$NSC" "$VC" "$NSS" "$VS"
	netns_up "$NSC" "$VC" "$C4/24" "$C6/64"
	netns_up "$NSS" "$VS" "$S4/24" "$S6/64"
	netns_wait_up "$NSC" "$VC" && netns_wait_up "$NSS" "$VS" || fail "veth pair did not come up"
}

# start_kexwatch NAME ARGS...: kexwatch capturing on the server's veth, in
# the server namespace; output to $WORK/NAME.err (stdout to $WORK/NAME.stdout).
# Sets KWPID and waits until it says it is capturing.
start_kexwatch() {
	local name=$1
	shift
	ip netns exec "$NSS" "$KW" -i "$VS" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.err" &
	KWPID=$!
	PIDS+=("$KWPID")
	wait_until 10 grep -q "capturing on" "$WORK/$name.err" || fail "kexwatch did not start"
}

# stop_kexwatch NAME: SIGTERM, require exit 0 and a clean standard error.
stop_kexwatch() {
	local name=$1
	stop_pid "$KWPID" TERM
	[ "$STOP_RC" -eq 0 ] || fail "kexwatch exited with $STOP_RC after SIGTERM"
	check_sanitizers "$WORK/$name.err"
}

check_sanitizers() {
	if grep -Eq "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:|UndefinedBehaviorSanitizer" "$1"; then
		cat "$1" >&2
		fail "sanitizer report in $(basename "$1")"
	fi
}

# sshd_setup: keys and config for an OpenSSH server on 198.18.0.2 and
# 2001:db8::2, ports 22 and 2222, key login as root only. Sets SSH_OPTS.
sshd_setup() {
	need /usr/sbin/sshd openssh-server
	need ssh openssh-client
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_ed25519"
	ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_ed25519"
	cp "$WORK/client_ed25519.pub" "$WORK/authorized_keys"
	{ cat <<-EOF
		ListenAddress $S4:22
		ListenAddress $S4:2222
		ListenAddress [$S6]:22
		HostKey $WORK/host_ed25519
		PidFile $WORK/sshd.pid
		LoginGraceTime 60
		LogLevel VERBOSE
	EOF
	  sshd_test_lines "$WORK/authorized_keys"; } >"$WORK/sshd_config"
	SSH_OPTS=(-F /dev/null -i "$WORK/client_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10
		-o LogLevel=INFO)
}

sshd_start() {
	start_bg "$WORK/sshd.log" ip netns exec "$NSS" /usr/sbin/sshd -D -e -f "$WORK/sshd_config"
	SSHD_PID=$BGPID
	wait_until 10 sh -c "ip netns exec $NSS ss -ltn | grep -q '$S4:2222'" || fail "sshd did not listen"
}

# kwpy: run python with tests/live on the path (for kwlive.py).
kwpy() { PYTHONPATH="$LIVE_DIR" "$PY" "$@"; }

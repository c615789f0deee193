# deps.sh: install the Debian 12 packages kexwatch needs, only those missing.
# Sourced by run.sh and test.sh: `kw_deps build` or `kw_deps test`.

KW_DEPS_BUILD="build-essential cmake pkg-config libpcap-dev libjansson-dev libssl-dev zlib1g-dev
  libsqlite3-dev"
# Tests run real sshd, dropbear and paramiko in network namespaces, capture
# with tcpdump, craft edge cases with libnet, and compare with tshark. The live
# tests also start their own rsyslogd and use setpriv (util-linux); format.clang
# checks every C file with clang-format; the robustness tests measure peak
# memory with /usr/bin/time (time); package.deb runs lintian; live.unit traces
# the unit's kexwatch with strace and runs the shipped logrotate file.
KW_DEPS_TEST="$KW_DEPS_BUILD libnet1-dev openssh-server openssh-client dropbear-bin python3
  python3-paramiko python3-jsonschema tcpdump tshark iproute2 iptables procps rsyslog
  util-linux bsdutils sqlite3 man-db clang-format time lintian strace logrotate"

kw_deps() {
	local want missing=() p
	case "$1" in
	build) want=$KW_DEPS_BUILD ;;
	test) want=$KW_DEPS_TEST ;;
	*) echo "kw_deps: build or test" >&2; return 2 ;;
	esac
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "kexwatch: missing packages: ${missing[*]} (run as root, or install them)" >&2
		return 1
	fi
	echo "kexwatch: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# tshark asks whether non-root users may capture; the default (no) is fine.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

#!/usr/bin/env bash
# ctest package.deb: build a release kexwatch, package it with cpack, install
# the .deb into a scratch root with dpkg --root, and use what was installed as
# a new user would: the binary runs on the demo capture, the man page renders
# (man -l), the systemd unit and the docs are where the man page says.
# Usage: install.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d /tmp/kw-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

command -v cpack >/dev/null || fail "cpack not found"
command -v man >/dev/null || { echo "skipped: man is not installed (apt-get install man-db)"; exit 77; }
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null
(cd "$work/build" && cpack -G DEB >/dev/null)
deb=$(ls "$work"/build/kexwatch_*.deb)
echo "built $(basename "$deb")"

root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
# The scratch root has no libraries: dependencies are the host's (checked below).
dpkg --root="$root" --force-depends --force-not-root -i "$deb" >/dev/null
dpkg --root="$root" -s kexwatch | grep -q '^Status: install ok installed' || fail "dpkg status"
deps=$(dpkg-deb -f "$deb" Depends)
for lib in libpcap0.8 libjansson4 libssl3; do
	[[ $deps == *"$lib"* ]] || fail "Depends lacks $lib: $deps"
done

bin=$root/usr/bin/kexwatch
[ -x "$bin" ] || fail "no $bin"
"$bin" --version | grep -q '^kexwatch ' || fail "--version"
"$bin" --version | grep -qi 'libpcap' || fail "--version names libpcap"
n=$("$bin" -q --format json -r "$src/tests/pcaps/demo.pcap" | wc -l)
[ "$n" -eq 9 ] || fail "installed binary wrote $n records for demo.pcap, expected 9"
"$bin" -q --format text -r "$src/tests/pcaps/demo.pcap" | grep -q 'by diagnosis:' || fail "text summary"
"$bin" --explain tcp_refused | grep -q 'Connection refused' || fail "--explain"

page=$(ls "$root"/usr/share/man/man1/kexwatch.1*)
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q 'passive SSH handshake sniffer' || fail "man page renders"
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q 'mtu_blackhole_suspected' || fail "man page lists diagnoses"
[ -f "$root/usr/lib/systemd/system/kexwatch.service" ] || fail "systemd unit"
grep -q 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' "$root/usr/lib/systemd/system/kexwatch.service" ||
	fail "unit runs with capabilities, not root"
for doc in record.md diagnoses.md limits.md operations.md hostkeys.md ssh-record.schema.json; do
	[ -f "$root/usr/share/doc/kexwatch/$doc" ] || fail "doc $doc"
done
echo "package: 12 checks passed"

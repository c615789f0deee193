#!/usr/bin/env bash
# ctest package.deb: build a release kexwatch, package it with cpack, check
# it with lintian (no error), install the .deb into a scratch root with dpkg
# --root, and use what was installed as a new user would: the binary runs on
# the demo capture, the man page renders (man -l) with the version in its
# footer, the systemd unit, the logrotate file (a conffile), the copyright,
# the changelog and the docs are where they belong.
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
checks=0
if command -v lintian >/dev/null; then
	# Errors fail; warnings and notes are printed for the record.
	lintian --tag-display-limit 0 "$deb" >"$work/lintian.txt" 2>&1 || true
	cat "$work/lintian.txt"
	! grep -q '^E: ' "$work/lintian.txt" || fail "lintian errors: $(grep -c '^E: ' "$work/lintian.txt")"
	grep -q '^E: ' "$work/lintian.txt" || checks=$((checks + 1))
else
	fail "lintian not installed (scripts/deps.sh installs it for the tests)"
fi
dpkg-deb -f "$deb" Description | sed -n '2p' | grep -q 'watches SSH connections' ||
	fail "no extended description"
dpkg-deb -c "$deb" >"$work/contents"
grep -q './etc/logrotate.d/kexwatch$' "$work/contents" || fail "no logrotate file"
dpkg-deb -I "$deb" conffiles | grep -qx '/etc/logrotate.d/kexwatch' || fail "logrotate not a conffile"
checks=$((checks + 3))

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
[[ $page == *.1.gz ]] || fail "man page not compressed: $page"
version=$("$bin" --version | sed -n '1s/^kexwatch //p')
MANWIDTH=80 man -l "$page" 2>/dev/null >"$work/man.txt"
tail -1 "$work/man.txt" | grep -q "kexwatch $version" || fail "man page footer lacks the version $version"
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q 'passive SSH handshake sniffer' || fail "man page renders"
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q 'mtu_blackhole_suspected' || fail "man page lists diagnoses"
[ -f "$root/usr/lib/systemd/system/kexwatch.service" ] || fail "systemd unit"
grep -q 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' "$root/usr/lib/systemd/system/kexwatch.service" ||
	fail "unit runs with capabilities, not root"
for doc in record.md diagnoses.md limits.md operations.md hostkeys.md guide.md siem.md eve.md \
	policy.md ssh-record.schema.json copyright changelog.gz; do
	[ -f "$root/usr/share/doc/kexwatch/$doc" ] || fail "doc $doc"
done
[ -f "$root/etc/logrotate.d/kexwatch" ] || fail "logrotate file not installed"
# The logrotate file names no user: with DynamicUser none exists outside the service.
! grep -Eq '^\s*(create|su)\s' "$root/etc/logrotate.d/kexwatch" || fail "logrotate names a user"
# The binary is stripped.
readelf -S "$bin" >"$work/sections"
! grep -q '\.debug_info\|\.symtab' "$work/sections" || fail "binary not stripped"
# operations.md shows the unit that is shipped.
awk '/^```ini$/ {on = 1; next} /^```$/ {on = 0} on' "$root/usr/share/doc/kexwatch/operations.md" |
	grep -v '^# /etc/systemd/system/kexwatch.service$' >"$work/doc-unit"
grep -v '^#' "$root/usr/lib/systemd/system/kexwatch.service" >"$work/unit"
grep -v '^#' "$work/doc-unit" | diff -u "$work/unit" - || fail "operations.md shows another unit"
checks=$((checks + 19))
echo "package: $checks checks passed"

#!/bin/sh
# tests/tools/make-crafted.sh BUILD_DIR [--expected]: regenerate tests/crafted/.
#
# Writes every scenario of BUILD_DIR/kw-craft (built when libnet is found) to
# tests/crafted/<name>.pcap; a capture over 1 MB is stored gzip-compressed as
# <name>.pcap.gz (kexwatch reads it as is). The output is deterministic, so a
# regeneration without a change to kw-craft.c leaves git clean.
# With --expected it also writes tests/crafted/<name>.expected.jsonl through
# tests/golden/run_golden.py --write (exactly as golden.crafted.<name> runs
# kexwatch), for every case that has none yet; --expected=all rewrites all of
# them. Review every change: expected records must say what SHOULD happen,
# and tests/robustness/check_crafted.py asserts each scenario's key fact
# independently (see tests/crafted/README.md for the hand-corrected cases).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: make-crafted.sh BUILD_DIR [--expected[=all]]}" && pwd)
mode=${2:-}
craft="$build/kw-craft"
out="$root/tests/crafted"
[ -x "$craft" ] || { echo "make-crafted: $craft not built (libnet missing?)" >&2; exit 2; }
mkdir -p "$out"
for name in $("$craft" list); do
    tmp="$out/.$name.pcap.tmp"
    "$craft" "$name" "$tmp"
    rm -f "$out/$name.pcap" "$out/$name.pcap.gz"
    if [ "$(wc -c <"$tmp")" -gt 1000000 ]; then
        gzip -9 -n -c "$tmp" >"$out/$name.pcap.gz"
        rm -f "$tmp"
        capture=$name.pcap.gz
    else
        mv "$tmp" "$out/$name.pcap"
        capture=$name.pcap
    fi
    echo "make-crafted: $capture ($(wc -c <"$out/$capture") bytes)"
    expected="$out/$name.expected.jsonl"
    if [ "$mode" = "--expected=all" ] || { [ "$mode" = "--expected" ] && [ ! -e "$expected" ]; }; then
        python3 "$root/tests/golden/run_golden.py" --kexwatch "$build/kexwatch" \
            --pcap-dir "$out" --capture "$capture" --write "$expected"
    fi
done

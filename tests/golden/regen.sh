#!/bin/sh
# Regenerate the golden expected records: the ONE way to write
# tests/pcaps/<case>.expected.jsonl.
#
#   tests/golden/regen.sh [BUILD_DIR]        (default BUILD_DIR: build/ in the checkout)
#
# For every tests/pcaps/*.pcap, *.pcap.gz and *.pcapng it runs BUILD_DIR/kexwatch
# through tests/golden/run_golden.py --write, i.e. exactly as the golden.<case> tests
# do (from inside tests/pcaps, relative file name, --format json, TZ=UTC), and writes
# tests/pcaps/<case>.expected.jsonl, where <case> is the file name without its
# capture extension. A case whose run fails keeps its old file and makes the script
# exit 1. Then review every change before committing it:
#
#   git diff tests/pcaps/*.expected.jsonl
#
# and check it against tests/pcaps/<case>.truth.json (ctest -R golden); see
# tests/golden/README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}                  # a relative BUILD_DIR is relative to where you are
kexwatch="$(cd "$build" 2>/dev/null && pwd || echo "$build")/kexwatch"
pcaps="$root/tests/pcaps"
python=${PYTHON:-python3}

if [ ! -x "$kexwatch" ]; then
    echo "regen: $kexwatch not found; build it first (cmake --build $build)" >&2
    exit 2
fi

status=0
count=0
seen=" "
for path in "$pcaps"/*.pcap "$pcaps"/*.pcap.gz "$pcaps"/*.pcapng; do
    [ -e "$path" ] || continue          # an unmatched glob stays literal
    capture=$(basename "$path")
    case $capture in
        *.pcap.gz) name=${capture%.pcap.gz} ;;
        *.pcapng)  name=${capture%.pcapng} ;;
        *)         name=${capture%.pcap} ;;
    esac
    case $seen in
        *" $name "*)
            echo "regen: two captures are named $name; rename one" >&2
            status=1
            continue ;;
    esac
    seen="$seen$name "
    if "$python" "$here/run_golden.py" --kexwatch "$kexwatch" --pcap-dir "$pcaps" \
        --capture "$capture" --write "$pcaps/$name.expected.jsonl"; then
        count=$((count + 1))
    else
        echo "regen: $capture failed; $name.expected.jsonl left as it was" >&2
        status=1
    fi
done

echo "regen: wrote $count expected file(s); review with: git diff tests/pcaps/*.expected.jsonl"
exit $status

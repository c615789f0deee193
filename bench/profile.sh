#!/usr/bin/env bash
# profile.sh: where kexwatch spends its time (issue 6).
#
# usage: bench/profile.sh [CORPUS_DIR]        (default /tmp/kexwatch-bench)
#
# Cuts a PROFILE_MB (default 200) prefix of CORPUS_DIR/mixed.pcap and of
# CORPUS_DIR/handshakes.pcap (whole packets), runs kexwatch on each under
# `perf record` (linux-perf; cpu-clock sampling, DWARF call graphs), and prints
# the top functions by self time and by inclusive time, and the split by
# shared object (kexwatch vs libpcap vs libc vs kernel). With PROFILER=callgrind,
# or when perf cannot record, it uses `valgrind --tool=callgrind` instead
# (slower; exact instruction counts). Reports go to CORPUS_DIR/profile-*.txt.
# Environment: PROFILE_MB, PROFILER=perf|callgrind, KEXWATCH=path (default:
# bench/build-kexwatch.sh under CORPUS_DIR/build; KEXWATCH_REV=HEAD builds
# that commit instead of the working tree),
# TOP (default 30 lines).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CORPUS=$(cd "${1:-/tmp/kexwatch-bench}" && pwd)
PROFILE_MB=${PROFILE_MB:-200}
PROFILER=${PROFILER:-perf}
TOP=${TOP:-30}
PY=/usr/bin/python3
OUTD=$(mktemp -d -t kexwatch-prof.XXXXXX)
trap 'rm -rf "$OUTD"' EXIT
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

missing=()
command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || true
fi

if [ -n "${KEXWATCH:-}" ]; then
    SRC_DESC="given binary"
elif [ -n "${KEXWATCH_REV:-}" ]; then
    SRC_DESC="built from commit $(git -C "$REPO" rev-parse --short "$KEXWATCH_REV^{commit}")"
else
    SRC_DESC="built from the working tree at $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || echo ' + uncommitted changes')"
fi
if [ -z "${KEXWATCH:-}" ]; then
    KEXWATCH=$("$HERE/build-kexwatch.sh" "$CORPUS/build")
fi

prefix() { "$PY" "$HERE/prefix.py" "$1" "$2" "$3"; }

if [ "$PROFILER" = perf ] && ! perf record -q -e cpu-clock -o "$OUTD/probe.data" true >/dev/null 2>&1; then
    log "perf cannot record here; using callgrind"
    PROFILER=callgrind
fi

for name in mixed handshakes; do
    src=$CORPUS/$name.pcap
    [ -s "$src" ] || { log "skip $name: no $src"; continue; }
    p=$CORPUS/prefix-${PROFILE_MB}MB-$name.pcap
    [ -s "$p" ] && [ "$p" -nt "$src" ] || { log "making $p"; prefix "$src" "$PROFILE_MB" "$p"; }
    rep=$CORPUS/profile-$name.txt
    cat "$p" >/dev/null   # page cache
    {
        echo "# kexwatch profile: $PROFILER, $p ($(( $(stat -c %s "$p") / 1000000 )) MB)"
        echo "# kexwatch: $KEXWATCH, $SRC_DESC"
        if [ "$PROFILER" = perf ]; then
            perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -o "$OUTD/perf.data" \
                "$KEXWATCH" -q -r "$p" -w "$OUTD/out.jsonl" >/dev/null 2>"$OUTD/perf.err" \
                || { cat "$OUTD/perf.err" >&2; exit 1; }
            echo "# $(wc -l <"$OUTD/out.jsonl") records"
            echo
            echo "## by shared object (self time)"
            perf report -i "$OUTD/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null \
                | grep -E '^ +[0-9]' | head -8 || true
            echo
            echo "## top functions, self time"
            perf report -i "$OUTD/perf.data" --stdio --no-children --sort sym,dso -g none 2>/dev/null \
                | grep -E '^ +[0-9]' | head -"$TOP" || true
            echo
            echo "## top functions, inclusive time (self + callees)"
            perf report -i "$OUTD/perf.data" --stdio --children --sort sym -g none 2>/dev/null \
                | grep -E '^ +[0-9]' | head -"$TOP" || true
            echo
            echo "## callers of malloc/free (inclusive, caller graph)"
            perf report -i "$OUTD/perf.data" --stdio --no-children --sort sym -G \
                --symbol-filter=malloc 2>/dev/null | grep -E '[0-9.]+%|--' | head -40 || true
        else
            valgrind --tool=callgrind --callgrind-out-file="$OUTD/cg.out" \
                "$KEXWATCH" -q -r "$p" -w "$OUTD/out.jsonl" >/dev/null 2>"$OUTD/cg.err"
            echo "# $(wc -l <"$OUTD/out.jsonl") records"
            echo
            echo "## top functions, self instructions"
            callgrind_annotate "$OUTD/cg.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -$((TOP + 3)) || true
            echo
            echo "## top functions, inclusive instructions"
            callgrind_annotate --inclusive=yes "$OUTD/cg.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -$((TOP + 3)) || true
        fi
    } >"$rep"
    cat "$rep"
    echo
done

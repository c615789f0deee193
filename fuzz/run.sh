#!/bin/sh
# fuzz/run.sh [SECONDS_PER_TARGET] [TARGET ...]: the short fuzz run, one command.
#
# Builds the libFuzzer targets with clang (build-fuzz/ in the checkout,
# -DKW_FUZZ=ON: ASan + UBSan + coverage), then fuzzes each target (all of
# fuzz/fuzz_*.c by default) for SECONDS_PER_TARGET seconds (default 60),
# starting from fuzz/corpus/<target>/, and merges what found new coverage back
# into fuzz/corpus/<target>/ (libFuzzer -merge=1: only inputs that add
# coverage are kept). A crash, leak or timeout leaves its reproducer in
# fuzz/crashes/ and is also copied into fuzz/corpus/<target>/ so that the
# ctest test fuzz.<target> replays it until it is fixed. Exit status 1 when
# any target found something. Environment: FUZZ_JOBS (parallel jobs per
# target, default 1), FUZZ_ARGS (extra libFuzzer flags).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-1}

if [ $# -gt 0 ]; then
    targets="$*"
else
    targets=$(cd "$here" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi

CC=clang cmake -S "$root" -B "$build" -DKW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBUILD_TESTING=OFF >/dev/null
for t in $targets; do
    cmake --build "$build" --target "fuzz_$t" -j"$(nproc)" >/dev/null
done

mkdir -p "$here/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
jobargs=""
# -jobs makes libFuzzer write fuzz-N.log into the current directory: run in the build dir.
[ "$jobs" -gt 1 ] && jobargs="-jobs=$jobs -workers=$jobs"
cd "$build"
status=0
new=""
trap '[ -z "$new" ] || rm -rf "$new"' EXIT INT TERM # also when stopped mid-run
for t in $targets; do
    bin="$build/fuzz/fuzz_$t"
    corpus="$here/corpus/$t"
    new=$(mktemp -d "${TMPDIR:-/tmp}/kw-fuzz-$t.XXXXXX")
    mkdir -p "$corpus"
    before=$(ls "$corpus" | wc -l)
    echo "fuzz: $t for ${seconds}s (corpus: $before inputs)"
    log="$build/fuzz-$t.log"
    # max_len: the pipeline needs room for several packets; ssh_stream runs
    # each input three times, byte by byte at worst, so it gets less.
    maxlen=65536
    [ "$t" = ssh_stream ] && maxlen=16384
    if "$bin" -max_total_time="$seconds" -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
        -dict="$here/ssh.dict" $jobargs -print_final_stats=1 \
        -artifact_prefix="$here/crashes/$t-" ${FUZZ_ARGS:-} "$new" "$corpus" >"$log" 2>&1; then
        :
    else
        echo "fuzz: $t FOUND A PROBLEM: see $log and $here/crashes/$t-*" >&2
        status=1
    fi
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | sed "s/^/fuzz: $t /" || true
    "$bin" -merge=1 -max_len=$maxlen "$corpus" "$new" >/dev/null 2>&1 || true
    for c in "$here/crashes/$t-"*; do
        [ -e "$c" ] || continue
        cp "$c" "$corpus/$(basename "$c")"
    done
    rm -rf "$new"
    echo "fuzz: $t corpus $before -> $(ls "$corpus" | wc -l) inputs"
done
exit $status

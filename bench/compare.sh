#!/usr/bin/env bash
# compare.sh: two kexwatch binaries on the same files, paired: A B A B ...
#
# usage: bench/compare.sh A_BINARY B_BINARY [CORPUS_DIR]   (default /tmp/kexwatch-bench)
# Environment: PAIRS=5, FILES="handshakes.pcap mixed.pcap", ARGS_A, ARGS_B
#   (extra kexwatch arguments for A or B, e.g. ARGS_B="--workers 2").
#
# Each run writes its records to a file (-w, as a sensor does) after one
# warm-up run of each binary (page cache warm); the bare libpcap loop
# (bench/bare_loop) runs in every pair too, so the ratios to it are paired
# as well. Prints, per file, the median wall and CPU (user+sys) seconds of
# A, B and the bare loop, B's CPU change against A, and both ratios to the
# bare loop; per-run numbers go to CORPUS_DIR/compare.tsv. Needs
# /usr/bin/time (package time). The machine is shared and noisy: compare
# medians of several pairs, never single runs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
A=$(readlink -f "${1:?usage: compare.sh A_BINARY B_BINARY [CORPUS_DIR]}")
B=$(readlink -f "${2:?usage: compare.sh A_BINARY B_BINARY [CORPUS_DIR]}")
CORPUS=$(cd "${3:-/tmp/kexwatch-bench}" && pwd)
PAIRS=${PAIRS:-5}
FILES=${FILES:-handshakes.pcap mixed.pcap}
read -r -a ARGS_A <<<"${ARGS_A:-}"
read -r -a ARGS_B <<<"${ARGS_B:-}"
[ -x /usr/bin/time ] || { echo "compare.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kw-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
make -s -C "$HERE" O="$WORK" >&2
TSV=$CORPUS/compare.tsv
printf 'file\twho\tpair\twall_s\tcpu_s\tmaxrss_kb\n' >"$TSV"

# one WHO FILE PAIR: run WHO on FILE once, append its times to the TSV.
one() {
    local who=$1 file=$2 pair=$3 t0 t1 wall
    local -a cmd
    case $who in
    A) cmd=("$A" -q -r "$file" -w "$WORK/out.jsonl" "${ARGS_A[@]}") ;;
    B) cmd=("$B" -q -r "$file" -w "$WORK/out.jsonl" "${ARGS_B[@]}") ;;
    bare) cmd=("$WORK/bare_loop" -r "$file") ;;
    esac
    rm -f "$WORK/out.jsonl"
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$WORK/time" "${cmd[@]}" >/dev/null 2>"$WORK/err" ||
        { echo "compare.sh: $who failed on $file: $(tail -2 "$WORK/err")" >&2; exit 1; }
    t1=$(date +%s.%N)
    wall=$(echo "$t1 - $t0" | bc -l)
    read -r u s m <"$WORK/time"
    printf '%s\t%s\t%s\t%.3f\t%.3f\t%s\n' "$(basename "$file")" "$who" "$pair" "$wall" \
        "$(echo "$u + $s" | bc -l)" "$m" >>"$TSV"
}

for f in $FILES; do
    path=$CORPUS/$f
    [ -f "$path" ] || { echo "compare.sh: no $path (bench/make-corpus.sh makes it)" >&2; exit 1; }
    one A "$path" 0
    one B "$path" 0
    for p in $(seq 1 "$PAIRS"); do
        one A "$path" "$p"
        one B "$path" "$p"
        one bare "$path" "$p"
    done
done

python3 - "$TSV" "$A" "$B" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["pair"] != "0"]
print("A = %s\nB = %s\n" % (sys.argv[2], sys.argv[3]))
print("| file | A wall | A cpu | B wall | B cpu | bare wall | B cpu vs A | A/bare wall | B/bare wall | B maxrss MB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for f in dict.fromkeys(r["file"] for r in rows):
    med = lambda who, k: statistics.median(float(r[k]) for r in rows if r["file"] == f and r["who"] == who)
    aw, ac, bw, bc, xw = med("A", "wall_s"), med("A", "cpu_s"), med("B", "wall_s"), med("B", "cpu_s"), med("bare", "wall_s")
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %+.1f%% | %.2f | %.2f | %.0f |" % (
        f, aw, ac, bw, bc, xw, 100.0 * (bc - ac) / ac, aw / xw, bw / xw, med("B", "maxrss_kb") / 1024))
PY

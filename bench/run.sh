#!/usr/bin/env bash
# run.sh: the issue-6 benchmark. Times, in one run, on the same files:
#   (a) bench/bare_loop   a bare libpcap read loop (the baseline)
#   (b) kexwatch          writing its JSON records to a file
#   (c) tshark            extracting the same SSH fields to a file
#   (d) ndpiReader        (nDPI, if installed) writing its flow CSV to a file
#   (e) write records     as many bytes as (b)'s records, written to a new
#                         file 256 KiB at a time (dd from /dev/zero): what
#                         writing the output alone costs, a floor under (b)
# and prints a Markdown table: median wall and CPU (user+sys) time over RUNS
# runs after one warm-up run per command (page cache warm), peak RSS, packets
# per second, and every ratio to (a). Runs are interleaved round-robin (a b c
# d, a b c d, ...) so drift hits every command alike.
#
# usage: bench/run.sh [CORPUS_DIR]        (default /tmp/kexwatch-bench)
#   CORPUS_DIR holds mixed.pcap and handshakes.pcap (bench/make-corpus.sh).
# Environment:
#   RUNS=5                 timed runs per command
#   FILES="mixed.pcap handshakes.pcap"   corpus files, relative to CORPUS_DIR
#   TSHARK_MAX_MB=128      tshark is slow: on a file bigger than this it runs on
#                          a prefix of that size (whole packets), and bare_loop
#                          and kexwatch are timed on the same prefix too, so the
#                          tshark ratios are measured, not extrapolated; the
#                          table also gives tshark's time scaled to the whole
#                          file (x packets ratio), marked as an estimate.
#   TSHARK_TIMEOUT=900     seconds, per tshark run (timeout kills it)
#   KEXWATCH=path          use this binary; default: build one with
#                          bench/build-kexwatch.sh under CORPUS_DIR/build:
#   KEXWATCH_REV=HEAD      ... from that commit (git archive) instead of the
#                          working tree with its uncommitted changes
#   NDPI=0                 skip ndpiReader
#   REPORT_ONLY=1          print the table again from CORPUS_DIR/results.tsv
# Writes CORPUS_DIR/results.md (the table) and CORPUS_DIR/results.tsv (runs).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CORPUS=$(cd "${1:-/tmp/kexwatch-bench}" && pwd)
RUNS=${RUNS:-5}
FILES=${FILES:-mixed.pcap handshakes.pcap}
TSHARK_MAX_MB=${TSHARK_MAX_MB:-128}
TSHARK_TIMEOUT=${TSHARK_TIMEOUT:-900}
PY=/usr/bin/python3
BIN=$CORPUS/bin
OUTD=$(mktemp -d -t kexwatch-run.XXXXXX)
trap 'rm -rf "$OUTD"' EXIT
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- packages
missing=()
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || missing+=("$2"); }
need /usr/bin/time time
need tshark tshark
need cc gcc
need make make
need cmake cmake
need pkg-config pkg-config
[ -e /usr/include/pcap/pcap.h ] || missing+=(libpcap-dev)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
[ "${NDPI:-1}" = 0 ] || need ndpiReader libndpi-bin
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || log "some packages failed to install"
fi
HAVE_NDPI=0
[ "${NDPI:-1}" != 0 ] && command -v ndpiReader >/dev/null 2>&1 && HAVE_NDPI=1

# ---------------------------------------------------------------- builds
mkdir -p "$BIN"
make -s -C "$HERE" O="$BIN" >&2
BARE=$BIN/bare_loop
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
[ -x "$KEXWATCH" ] || { echo "run.sh: no kexwatch at $KEXWATCH" >&2; exit 1; }
# a private copy: a rebuild during the run (other work on the tree) must not
# change the binary between runs
[ "$KEXWATCH" -ef "$BIN/kexwatch.timed" ] || cp "$KEXWATCH" "$BIN/kexwatch.timed"
KEXWATCH_SRC=$KEXWATCH
KEXWATCH=$BIN/kexwatch.timed
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- commands
# name|file|argv (argv words separated by \x1f); $OUTD/out.* are overwritten
TSHARK_FIELDS=(-e frame.number -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport
    -e ssh.protocol -e ssh.kex.hassh -e ssh.kex.hassh_algorithms -e ssh.kex.hasshserver
    -e ssh.kex.hasshserver_algorithms -e ssh.kex_algorithms -e ssh.server_host_key_algorithms
    -e ssh.encryption_algorithms_client_to_server -e ssh.encryption_algorithms_server_to_client
    -e ssh.mac_algorithms_client_to_server -e ssh.mac_algorithms_server_to_client
    -e ssh.compression_algorithms_client_to_server -e ssh.compression_algorithms_server_to_client)
cmd_for() { # TOOL FILE -> prints the command line, one word per line
    case $1 in
    bare) printf '%s\n' "$BARE" -r "$2" ;;
    kexwatch) printf '%s\n' "$KEXWATCH" -q -r "$2" -w "$OUTD/out.kexwatch.jsonl" ;;
    tshark) printf '%s\n' timeout "$TSHARK_TIMEOUT" tshark -n -r "$2" -Y ssh -T fields \
                -E separator=/t "${TSHARK_FIELDS[@]}" ;;
    ndpi) printf '%s\n' ndpiReader -q -i "$2" -C "$OUTD/out.ndpi.csv" ;;
    write) printf '%s\n' dd if=/dev/zero of="$OUTD/out.write.jsonl" bs=256K \
               count="$(stat -c %s "$(ref_for "$2")")" iflag=count_bytes status=none ;;
    esac
}
ref_for() { echo "$OUTD/ref.$(basename "$1").jsonl"; } # (b)'s records, kept from its warm-up
stdout_for() { case $1 in tshark) echo "$OUTD/out.tshark.tsv" ;; *) echo "$OUTD/out.$1.stdout" ;; esac; }

# prefix FILE MB OUT: the first MB megabytes of a pcap, whole packets
make_prefix() { "$PY" "$HERE/prefix.py" "$1" "$2" "$3"; }

JOBS=()   # "label|tool|file"
for name in $FILES; do
    f=$CORPUS/$name
    [ -s "$f" ] || { echo "run.sh: missing $f (run bench/make-corpus.sh first)" >&2; exit 1; }
    JOBS+=("$name|bare|$f" "$name|kexwatch|$f" "$name|write|$f")
    [ "$HAVE_NDPI" = 1 ] && JOBS+=("$name|ndpi|$f")
    size_mb=$(( $(stat -c %s "$f") / 1000000 ))
    if [ "$size_mb" -gt "$TSHARK_MAX_MB" ]; then
        p=$CORPUS/prefix-${TSHARK_MAX_MB}MB-$name
        if [ ! -s "$p" ] || [ "$p" -ot "$f" ]; then
            log "making $p"
            make_prefix "$f" "$TSHARK_MAX_MB" "$p"
        fi
        JOBS+=("$name prefix|bare|$p" "$name prefix|kexwatch|$p" "$name prefix|tshark|$p")
    else
        JOBS+=("$name|tshark|$f")
    fi
done

# packets per file, from the baseline itself
declare -A PKTS=()
for j in "${JOBS[@]}"; do
    IFS='|' read -r label tool f <<<"$j"
    [ -n "${PKTS[$f]:-}" ] || PKTS[$f]=$("$BARE" -r "$f" | awk '{print $2}')
done

# ---------------------------------------------------------------- timing
TSV=$CORPUS/results.tsv
[ "${REPORT_ONLY:-0}" = 1 ] || printf 'label\ttool\tfile\trun\twall_s\tuser_s\tsys_s\tmaxrss_kb\trc\n' >"$TSV"
measure() { # JOB RUN
    local label tool f argv=() t0 t1 rc
    IFS='|' read -r label tool f <<<"$1"
    mapfile -t argv < <(cmd_for "$tool" "$f")
    rm -f "$OUTD"/out.*
    sync -f "$OUTD" 2>/dev/null || true
    t0=$EPOCHREALTIME
    rc=0
    /usr/bin/time -f '%U %S %M' -o "$OUTD/time" "${argv[@]}" >"$(stdout_for "$tool")" 2>"$OUTD/stderr" || rc=$?
    t1=$EPOCHREALTIME
    read -r u s m < <(tail -1 "$OUTD/time")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$tool" "$f" "$2" \
        "$("$PY" -c "print('%.4f' % ($t1 - $t0))")" "$u" "$s" "$m" "$rc" >>"$TSV"
    if [ "$2" = warmup ]; then
        case $tool in
        kexwatch) log "  $label kexwatch: $(wc -l <"$OUTD/out.kexwatch.jsonl") records"
                  cp "$OUTD/out.kexwatch.jsonl" "$(ref_for "$f")" ;;
        tshark) log "  $label tshark: $(wc -l <"$OUTD/out.tshark.tsv") SSH frames" ;;
        ndpi) log "  $label ndpiReader: $(( $(wc -l <"$OUTD/out.ndpi.csv") - 1 )) flows" ;;
        bare) log "  $label bare_loop: $(cat "$OUTD/out.bare.stdout")" ;;
        esac
        [ "$rc" = 0 ] || { log "  $tool failed (rc $rc):"; head -5 "$OUTD/stderr" >&2; }
    fi
}
log "kexwatch: $KEXWATCH_SRC ($("$KEXWATCH" -V 2>&1 | head -1)), load average $LOAD_START"
if [ "${REPORT_ONLY:-0}" = 1 ]; then
    log "REPORT_ONLY=1: table from the existing $TSV, nothing timed"
    RUNS=$(awk -F'\t' 'NR > 1 && $4 != "warmup" {print $4}' "$TSV" | sort -n | tail -1)
else
    log "warm-up: each command once"
    for j in "${JOBS[@]}"; do measure "$j" warmup; done
    for ((r = 1; r <= RUNS; r++)); do
        log "run $r/$RUNS"
        for j in "${JOBS[@]}"; do measure "$j" "$r"; done
    done
fi

# ---------------------------------------------------------------- table
PKTFILE=$OUTD/pkts
for f in "${!PKTS[@]}"; do printf '%s\t%s\n' "$f" "${PKTS[$f]}"; done >"$PKTFILE"
HEADER=$CORPUS/results.header
if [ "${REPORT_ONLY:-0}" != 1 ]; then
    {
        echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
        echo "Load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine compete for the $(nproc) cores: compare CPU times when this is high)"
        echo "kexwatch: $KEXWATCH_SRC (sha256 $(sha256sum "$KEXWATCH" | cut -c1-12)), $SRC_DESC; $("$KEXWATCH" -V 2>&1 | head -1)"
        echo "$(tshark -v 2>/dev/null | head -1); $(ndpiReader -h 2>/dev/null | grep -m1 -o 'nDPI [0-9.]*' || true); libpcap $(dpkg-query -W -f '${Version}' libpcap0.8 2>/dev/null)"
    } >"$HEADER"
fi
{
    cat "$HEADER"
    echo "Median of $RUNS runs after a warm-up run; CPU = user + sys; RSS = largest of the runs."
    echo
    "$PY" - "$TSV" "$PKTFILE" <<'EOF'
import csv, statistics, sys, os
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
pkts = dict(l.rstrip('\n').split('\t') for l in open(sys.argv[2]))
runs = [r for r in rows if r['run'] != 'warmup']
order, agg = [], {}
for r in runs:
    k = (r['label'], r['tool'])
    if k not in agg:
        order.append(k)
        agg[k] = {'file': r['file'], 'wall': [], 'cpu': [], 'rss': [], 'rc': set()}
    a = agg[k]
    a['wall'].append(float(r['wall_s']))
    a['cpu'].append(float(r['user_s']) + float(r['sys_s']))
    a['rss'].append(int(r['maxrss_kb']))
    a['rc'].add(r['rc'])
names = {'bare': '(a) bare_loop', 'kexwatch': '(b) kexwatch', 'tshark': '(c) tshark', 'ndpi': '(d) ndpiReader',
         'write': '(e) write records'}
print('| corpus | command | MB | packets | wall s (median) | CPU s (median) | peak RSS MB | Mpkt/s | wall / (a) | CPU / (a) |')
print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
med = {}
for k in order:
    a = agg[k]
    w, c = statistics.median(a['wall']), statistics.median(a['cpu'])
    med[k] = (w, c, a['file'])
for k in order:
    a = agg[k]
    w, c, f = med[k]
    bw, bc, _ = med[(k[0], 'bare')]
    n = int(pkts[f])
    note = '' if a['rc'] == {'0'} else ' (rc %s)' % ','.join(sorted(a['rc']))
    print('| %s | %s%s | %.0f | %d | %.3f | %.3f | %.1f | %.2f | %.2f | %.2f |' % (
        k[0], names[k[1]], note, os.path.getsize(f) / 1e6, n, w, c, max(a['rss']) / 1024,
        n / w / 1e6, w / bw, c / bc))
# tshark scaled to the whole file, and the issue's targets
print()
for k in order:
    if k[1] != 'tshark' or not k[0].endswith(' prefix'):
        continue
    full = k[0][:-len(' prefix')]
    if (full, 'bare') not in med:
        continue
    w, c, f = med[k]
    scale = int(pkts[med[(full, 'bare')][2]]) / int(pkts[f])
    print('- %s: tshark ran on a %.0f MB prefix; scaled by packets (x%.2f) to the whole file it would take '
          'about %.0f s wall, %.1fx the bare loop on the whole file (estimate).'
          % (full, os.path.getsize(f) / 1e6, scale, w * scale, w * scale / med[(full, 'bare')][0]))
print()
print('Targets (issue 6):')
for label in dict.fromkeys(k[0] for k in order):
    if (label, 'kexwatch') in med and (label, 'bare') in med:
        r = med[(label, 'kexwatch')][0] / med[(label, 'bare')][0]
        lim = 1.5 if label.startswith('handshakes') else 1.3
        rc = med[(label, 'kexwatch')][1] / med[(label, 'bare')][1]
        print('- %s: kexwatch / bare loop wall = %.2f, CPU = %.2f (target <= %.1f%s): %s'
              % (label, r, rc, lim, ', handshake-only' if lim == 1.5 else ', mixed', 'MET' if r <= lim else 'NOT MET'))
    if (label, 'tshark') in med and (label, 'kexwatch') in med:
        r = med[(label, 'tshark')][0] / med[(label, 'kexwatch')][0]
        rc = med[(label, 'tshark')][1] / med[(label, 'kexwatch')][1]
        print('- %s: tshark / kexwatch wall = %.1f, CPU = %.1f (target >= 20): %s'
              % (label, r, rc, 'MET' if r >= 20 else 'NOT MET'))
EOF
} | tee "$CORPUS/results.md"

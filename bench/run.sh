#!/usr/bin/env bash
# bench/run.sh [DIR] - how close `mxfp4-check verify` comes to reading its
# input (SPEC §4). `make bench` runs it; bench/README.md says how to read it.
#
# Generates (once, cached in DIR, default /tmp/mxfp4-bench) a GPT-OSS-shaped
# BF16 checkpoint and its MXFP4 conversion with tests/tools/gen_sample, then,
# on a warm page cache, times BENCH_REPEAT times each (median reported):
#   read    every byte of both checkpoints, in parallel chunks (dd, nproc jobs)
#   verify  mxfp4-check verify SRC DST --backend cpu (and cuda with a GPU)
#   reader  verify --backend cuda (cpu without a GPU) reading alone
#           (MXFP4_CHECK_BENCH=read: no comparison)
# then, where it may drop the page cache (root), once each cold: read and
# verify (cuda, else cpu); with a GPU, the kernel alone against a
# device-to-device copy (tests/gpu/bench_kernel); and peak host and GPU memory
# of one verify (MXFP4_CHECK_TRACE). It prints bytes, GB/s and RATIO = time /
# read time (1.0: as fast as reading the input), with SPEC §4's targets.
#
# Environment (defaults: SPEC §4's pair, GPT-OSS-20B's shapes with 4 layers
# and the full embedding and lm_head, ~13.1 GB of files):
#   BENCH_LAYERS=4 BENCH_EXPERTS=32 BENCH_HIDDEN=2880 BENCH_INTERMEDIATE=2880
#   BENCH_VOCAB=201088 BENCH_SHARDS=3  the checkpoint (see gen_sample --help)
#   BENCH_COLD=0                     skip the cold runs
#   BENCH_REPEAT=3                   timed runs of each measurement
#   BENCH_CHUNK_MB=256               bytes per dd job of the read baseline
#   BENCH_THREADS                    passed as verify --threads when set
#   BENCH_BACKENDS="cpu cuda"        backends to try (cuda only with a GPU)
#   BENCH_MAKE=0                     use the binaries in $BUILD (default build)
#                                    as they are, without make
# Exit status: 0 done; 1 verify failed or a step broke; 2 bad usage.
set -euo pipefail
shopt -s inherit_errexit # a failed run inside $(...) stops the bench too

usage() {
    sed -n '2,31s/^# \{0,1\}//p' "$0"
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
-*) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

DIR=${1:-/tmp/mxfp4-bench}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac # before the cd below
LAYERS=${BENCH_LAYERS:-4}
EXPERTS=${BENCH_EXPERTS:-32}
HIDDEN=${BENCH_HIDDEN:-2880}
INTERMEDIATE=${BENCH_INTERMEDIATE:-2880}
VOCAB=${BENCH_VOCAB:-201088}
SHARDS=${BENCH_SHARDS:-3}
REPEAT=${BENCH_REPEAT:-3}
CHUNK_MB=${BENCH_CHUNK_MB:-256}
BACKENDS=${BENCH_BACKENDS:-cpu cuda}

for v in LAYERS EXPERTS HIDDEN INTERMEDIATE VOCAB SHARDS REPEAT CHUNK_MB; do
    case ${!v} in
    '' | *[!0-9]* | 0*) echo "bench: BENCH_$v must be a positive integer, not '${!v}'" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/mxfp4-check
GEN=$BUILD/tools/gen_sample
NPROC=$(nproc)

# ---- build and generate ------------------------------------------------------

if [ "${BENCH_MAKE:-1}" != 0 ]; then
    make --no-print-directory -s "$BIN" "$GEN" >&2
fi
for f in "$BIN" "$GEN"; do
    [ -x "$f" ] || { echo "bench: $f is missing (make it, or leave BENCH_MAKE unset)" >&2; exit 1; }
done

NAME=bench-l$LAYERS-e$EXPERTS-h$HIDDEN-i$INTERMEDIATE-v$VOCAB-s$SHARDS
SRC=$DIR/$NAME-bf16
DST=$DIR/$NAME-mxfp4
STAMP=$DIR/$NAME.done
GEN_ARGS=(--layers "$LAYERS" --experts "$EXPERTS" --hidden "$HIDDEN" --intermediate "$INTERMEDIATE"
          --vocab "$VOCAB" --shards "$SHARDS" --name "$NAME")

# A pair is reused only when its generation finished (the stamp); delete DIR
# to make it again after a change to the generator or the quantizer.
if [ ! -f "$STAMP" ]; then
    mkdir -p "$DIR"
    rm -rf "$SRC" "$DST"
    echo "bench: generating $SRC and $DST (once; about 15 s per GB of source)" >&2
    "$GEN" "${GEN_ARGS[@]}" "$DIR" >&2
    echo "$GEN ${GEN_ARGS[*]} $DIR" >"$STAMP"
fi

# ---- helpers -------------------------------------------------------------------

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# "file skip count" triples (1 MiB blocks) that cut every file of both
# checkpoints into CHUNK_MB pieces, NUL-separated for xargs -0
read_jobs() {
    local f size blocks skip
    find "$SRC" "$DST" -type f -print0 | sort -z |
        while IFS= read -r -d '' f; do
            size=$(stat -c %s "$f")
            blocks=$(((size + 1048575) / 1048576))
            skip=0
            while [ "$skip" -lt "$blocks" ]; do
                printf '%s\0%s\0%s\0' "$f" "$skip" "$CHUNK_MB"
                skip=$((skip + CHUNK_MB))
            done
        done
}

JOBS=$(mktemp "${TMPDIR:-/tmp}/mxfp4-bench-jobs.XXXXXX")
trap 'rm -f "$JOBS"' EXIT
read_jobs >"$JOBS"

read_all() {
    # shellcheck disable=SC2016 # $1..$3 belong to the inner sh
    xargs -0 -n 3 -P "$NPROC" \
        sh -c 'exec dd if="$1" of=/dev/null bs=1M skip="$2" count="$3" status=none' sh <"$JOBS"
}

VERIFY_EXTRA=()
[ -z "${BENCH_THREADS:-}" ] || VERIFY_EXTRA=(--threads "$BENCH_THREADS")

verify() {
    "$BIN" verify "$SRC" "$DST" --quiet --no-progress --backend "$1" ${VERIFY_EXTRA[@]+"${VERIFY_EXTRA[@]}"}
}

# "REAL CPU" seconds of one run of "$@" (its output discarded); CPU is the
# user + system time of it and its children: CPU / REAL = cores kept busy
time_once() {
    local TIMEFORMAT='%3R %3U %3S' t
    if ! t=$({ time "$@" >/dev/null 2>&1; } 2>&1); then
        echo "bench: failed: $*" >&2
        return 1
    fi
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$t"
}

# "REAL CPU": medians of REPEAT runs of "$@"; each run goes to stderr
time_median() {
    local i real cpu reals=() cpus=()
    for ((i = 0; i < REPEAT; i++)); do
        read -r real cpu <<<"$(time_once "$@")"
        reals+=("$real")
        cpus+=("$cpu")
    done
    echo "bench:   $*: seconds ${reals[*]}; cpu seconds ${cpus[*]}" >&2
    echo "$(median "${reals[@]}") $(median "${cpus[@]}")"
}

# ---- measure -------------------------------------------------------------------

sum_sizes() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
BYTES=$(sum_sizes "$SRC" "$DST")
SRC_BYTES=$(sum_sizes "$SRC")
AVAIL=$(awk '/^MemAvailable:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo)
if [ "$BYTES" -gt $((AVAIL * 8 / 10)) ]; then
    echo "bench: warning: $BYTES bytes of checkpoints, $AVAIL bytes of memory available:" \
         "the page cache cannot hold them, the numbers measure the disk" >&2
fi

echo "bench: warming the page cache" >&2
read_all
read_all

echo "bench: timing, $REPEAT runs each" >&2
read -r READ_S READ_CPU <<<"$(time_median read_all)"

VERSION=$("$BIN" --version)
GPUS=$(printf '%s\n' "$VERSION" | sed -n 's/.*cuda (\([0-9][0-9]*\) device.*/\1/p')
GPUS=${GPUS:-0}

declare -A VERIFY_S VERIFY_CPU VERIFY_NOTE
for b in $BACKENDS; do
    if [ "$b" = cuda ] && [ "$GPUS" -eq 0 ]; then
        VERIFY_NOTE[$b]="n/a (no CUDA device)"
        continue
    fi
    set +e
    out=$(verify "$b" 2>&1)
    rc=$?
    set -e
    if [ "$rc" -eq 2 ] && [ "$b" = cuda ]; then
        VERIFY_NOTE[$b]="n/a (exit 2: $(printf '%s\n' "$out" | head -n 1))"
        continue
    fi
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out" | tail -n 20 >&2
        echo "bench: verify --backend $b exited $rc on the generated pair; nothing to time" >&2
        exit 1
    fi
    read -r "VERIFY_S[$b]" "VERIFY_CPU[$b]" <<<"$(time_median verify "$b")"
done
FAST=cpu
[ -z "${VERIFY_S[cuda]:-}" ] || FAST=cuda

# the reader alone: verify reads everything and compares nothing (its
# verdict then means nothing: the exit status is not looked at)
reader() { MXFP4_CHECK_BENCH=read verify "$FAST" || true; }
read -r READER_S READER_CPU <<<"$(time_median reader)"

# where the time and the memory go, from one traced run
TRACE=$(MXFP4_CHECK_TRACE=1 verify "$FAST" 2>&1 >/dev/null || true)
echo "bench: trace of verify --backend $FAST:" >&2
printf '%s\n' "$TRACE" | sed 's/^/bench:   /' >&2
PEAK_HOST=$(printf '%s\n' "$TRACE" | sed -n 's/.*peak host memory \([0-9]*\) MiB.*/\1/p' | tail -n 1)
PEAK_GPU=$(printf '%s\n' "$TRACE" | sed -n 's/.*GPU memory \([0-9]*\) MiB.*/\1/p' | tail -n 1)

# where the time goes: the engine's line of a traced run of each backend,
# and what loading and unloading the CUDA driver alone costs (--version
# counts the devices: the driver starts, no context is made)
declare -A TRACE_ENGINE
for b in $BACKENDS; do
    [ -n "${VERIFY_S[$b]:-}" ] || continue
    t=$TRACE
    [ "$b" = "$FAST" ] || t=$(MXFP4_CHECK_TRACE=1 verify "$b" 2>&1 >/dev/null || true)
    TRACE_ENGINE[$b]=$(printf '%s\n' "$t" | sed -n 's/^engine: //p' | tail -n 1)
done
DRIVER_S=''
[ "$GPUS" -eq 0 ] || read -r DRIVER_S _ <<<"$(time_median "$BIN" --version)"

# cold: the page cache dropped before each (root only)
COLD_READ_S='' COLD_VERIFY_S=''
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; }
if [ "${BENCH_COLD:-1}" != 0 ] && drop_caches; then
    echo "bench: cold runs (page cache dropped before each)" >&2
    read -r COLD_READ_S _ <<<"$(time_once read_all)"
    drop_caches
    read -r COLD_VERIFY_S _ <<<"$(time_once verify "$FAST")"
    echo "bench:   cold read $COLD_READ_S s, cold verify --backend $FAST $COLD_VERIFY_S s" >&2
    read_all # warm again for whatever follows
fi

# the CPU backend's comparison alone, on data in memory (tests/tools/bench_cpu)
CPU_ALONE=''
[ ! -x "$BUILD/tools/bench_cpu" ] || CPU_ALONE=$("$BUILD/tools/bench_cpu" 2>&1 || true)

KERNEL=''
if [ "$GPUS" -gt 0 ] && [ -x "$BUILD/tests/gpu/bench_kernel" ]; then
    KERNEL=$("$BUILD/tests/gpu/bench_kernel" 2>&1 || true)
fi

# ---- report --------------------------------------------------------------------

CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=${BENCH_REV:-$(git describe --always --dirty 2>/dev/null || echo unknown)}

echo
echo "mxfp4-check bench ($REV), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "host:       $(uname -n), nproc $NPROC, ${CPU_MODEL:-unknown CPU}," \
     "$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
[ "$GPUS" -eq 0 ] || echo "gpu:        $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | paste -sd ';' -)"
echo "binary:     $(printf '%s\n' "$VERSION" | paste -sd ' ' -)"
echo "checkpoint: gen_sample ${GEN_ARGS[*]} $DIR"
echo "            $SRC_BYTES bytes of source + $((BYTES - SRC_BYTES)) converted;" \
     "page cache warm; medians of $REPEAT runs"
echo
row() { printf '%-26s %13s %9s %7s %6s %7s %s\n' "$@"; }
calc() { awk -v a="$2" -v b="$3" "BEGIN { printf \"%.2f\", $1 }"; }
row "" bytes seconds GB/s cores ratio target
row "read (dd, $NPROC jobs)" "$BYTES" "$READ_S" "$(calc 'a / b / 1e9' "$BYTES" "$READ_S")" \
    "$(calc 'a / b' "$READ_CPU" "$READ_S")" 1.00
for b in $BACKENDS; do
    target=''
    [ "$b" = cuda ] && target='<= 1.40'
    [ "$b" = cpu ] && target='<= 8.00'
    if [ -n "${VERIFY_S[$b]:-}" ]; then
        s=${VERIFY_S[$b]}
        row "verify --backend $b" "$BYTES" "$s" "$(calc 'a / b / 1e9' "$BYTES" "$s")" \
            "$(calc 'a / b' "${VERIFY_CPU[$b]}" "$s")" "$(calc 'a / b' "$s" "$READ_S")" "$target"
    else
        printf '%-26s %s\n' "verify --backend $b" "${VERIFY_NOTE[$b]:-n/a}"
    fi
done
row "reader alone ($FAST)" "$BYTES" "$READER_S" "$(calc 'a / b / 1e9' "$BYTES" "$READER_S")" \
    "$(calc 'a / b' "$READER_CPU" "$READER_S")" "$(calc 'a / b' "$READER_S" "$READ_S")"
if [ -n "$COLD_READ_S" ]; then
    row "cold read (dd)" "$BYTES" "$COLD_READ_S" "$(calc 'a / b / 1e9' "$BYTES" "$COLD_READ_S")" - 1.00
    row "cold verify --backend $FAST" "$BYTES" "$COLD_VERIFY_S" "$(calc 'a / b / 1e9' "$BYTES" "$COLD_VERIFY_S")" \
        - "$(calc 'a / b' "$COLD_VERIFY_S" "$COLD_READ_S")" '<= 1.10 (of cold read)'
else
    echo "cold runs: skipped (BENCH_COLD=0, or the page cache cannot be dropped: not root)"
fi
[ -z "$KERNEL" ] || printf '%s\n' "$KERNEL"
[ -z "$CPU_ALONE" ] || printf '%s\n' "$CPU_ALONE"
echo "peak memory of one verify --backend $FAST: host ${PEAK_HOST:-?} MiB (<= 2048), GPU ${PEAK_GPU:-?} MiB (<= 4096)"
echo "where the time goes (MXFP4_CHECK_TRACE=1, one warm run each):"
for b in $BACKENDS; do
    [ -z "${TRACE_ENGINE[$b]:-}" ] || echo "  $b: ${TRACE_ENGINE[$b]}"
done
[ -z "$DRIVER_S" ] || echo "  --version alone (the CUDA driver loaded and unloaded, no context): $DRIVER_S s"
echo
echo "ratio = seconds / read seconds (1.00: as fast as reading the input; cold rows: of the cold read);"
echo "cores = CPU seconds / seconds (user + system, children included)."

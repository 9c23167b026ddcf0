#!/bin/bash
# bench/sha256.sh [DIR] - what `verify --sha256` costs (SPEC §9), all in one
# run on a warm page cache, each a median of BENCH_REPEAT runs:
#   read      every file of both checkpoints, cut in 256 MiB pieces read by dd,
#             one job per core (the baseline of bench/run.sh)
#   verify    verify --backend cpu, no digests
#   +sha256   the same with --sha256
#   sha256sum coreutils' sha256sum of every file, one job per core
# and prints each over `read`, and the cost of --sha256 (+sha256 - verify).
# The pair is generated once in DIR (default /tmp/mxfp4-sha-bench) with
# build/tools/gen_sample; BENCH_LAYERS/EXPERTS/HIDDEN/INTERMEDIATE size it.
set -euo pipefail
DIR=${1:-/tmp/mxfp4-sha-bench}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/mxfp4-check
GEN=$BUILD/tools/gen_sample
REPEAT=${BENCH_REPEAT:-3}
NPROC=$(nproc)
[ "${BENCH_MAKE:-1}" = 0 ] || make --no-print-directory -s "$BIN" "$GEN" >&2
NAME=sha-l${BENCH_LAYERS:-2}-e${BENCH_EXPERTS:-8}-h${BENCH_HIDDEN:-2880}-i${BENCH_INTERMEDIATE:-2880}
SRC=$DIR/$NAME-bf16
DST=$DIR/$NAME-mxfp4
if [ ! -f "$DIR/$NAME.done" ]; then
    mkdir -p "$DIR"
    rm -rf "$SRC" "$DST"
    "$GEN" --layers "${BENCH_LAYERS:-2}" --experts "${BENCH_EXPERTS:-8}" --hidden "${BENCH_HIDDEN:-2880}" \
        --intermediate "${BENCH_INTERMEDIATE:-2880}" --vocab 8192 --shards 3 --name "$NAME" "$DIR" >&2
    touch "$DIR/$NAME.done"
fi
files() { find "$SRC" "$DST" -type f -print0 | sort -z; }
read_all() {
    files | while IFS= read -r -d '' f; do
        n=$((($(stat -c %s "$f") + 1048575) / 1048576))
        for ((s = 0; s < n; s += 256)); do printf '%s\0%s\0' "$f" "$s"; done
    done | xargs -0 -n 2 -P "$NPROC" sh -c 'exec dd if="$1" of=/dev/null bs=1M skip="$2" count=256 status=none' sh
}
verify_plain() { "$BIN" verify "$SRC" "$DST" --backend cpu --quiet --no-progress; }
verify_sha() { "$BIN" verify "$SRC" "$DST" --backend cpu --quiet --no-progress --sha256 --json /dev/null; }
sums() { files | xargs -0 -n 1 -P "$NPROC" sha256sum >/dev/null; }
seconds() {
    local t=() i s e
    for ((i = 0; i < REPEAT; i++)); do
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "bench: $1 failed" >&2; exit 1; }
        e=$(date +%s.%N)
        t+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')")
    done
    printf '%s\n' "${t[@]}" | sort -g | sed -n "$(((REPEAT + 1) / 2))p"
}
read_all; read_all # warm
BYTES=$(files | xargs -0 stat -c %s | awk '{ s += $1 } END { print s }')
R=$(seconds read_all); V=$(seconds verify_plain); H=$(seconds verify_sha); S=$(seconds sums)
echo "sha256 bench: $(date -u +%F) $(uname -n), $NPROC cores, $(awk -v b="$BYTES" 'BEGIN { printf "%.2f GB", b / 1e9 }') of files"
awk -v r="$R" -v v="$V" -v h="$H" -v s="$S" -v b="$BYTES" 'BEGIN {
    printf "%-10s %8s %7s %8s\n", "what", "seconds", "ratio", "GB/s"
    printf "%-10s %8.3f %7.2f %8.2f\n", "read", r, 1, b / r / 1e9
    printf "%-10s %8.3f %7.2f %8.2f\n", "verify", v, v / r, b / v / 1e9
    printf "%-10s %8.3f %7.2f %8.2f\n", "+sha256", h, h / r, b / h / 1e9
    printf "%-10s %8.3f %7.2f %8.2f\n", "sha256sum", s, s / r, b / s / 1e9
    printf "--sha256 costs %.3f s (%.0f%% of verify)\n", h - v, 100 * (h - v) / v }'

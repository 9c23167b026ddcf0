#!/usr/bin/env bash
# bench/resources.sh - how time and memory grow with the COUNT of things in a
# checkpoint (tensors, index entries, patterns, header bytes), as opposed to
# bench/run.sh, which measures bytes per second. README.md "Limits" holds the
# results.
#
# For each case, bench/gen_scale.py writes a SRC/DST pair in a temporary
# directory at the full size and at a tenth of it; then
#   verify    mxfp4-check verify SRC DST --json FILE --quiet --no-progress
#   inspect   mxfp4-check inspect --json DST  (stdout to /dev/null)
# run once each under GNU time, which gives the wall-clock seconds and the
# peak resident memory. The last columns divide the full size's figures by
# the tenth's: about 10 when the cost is linear (memory also carries a fixed
# ~10 MB of code and buffers, so its ratio comes out a little lower).
#
# Cases (full size):
#   tensors   1,000,000 tensors in one header (1 in 8 quantized), a faithful pair
#   findings  the same, but no modules_to_not_convert pattern: every kept
#             tensor is a coverage.should_quantize error (exit 1)
#   index     1,000,000 weight_map entries over 8 shards on both sides
#   patterns  100,000 modules_to_not_convert patterns (100 tensors)
#   header    a 99 MB header of the smallest tensors a header can hold
#
# Environment:
#   RES_CASES="tensors findings index patterns header"  cases to run
#   RES_SCALE=1      divide every full size by this (RES_SCALE=10: a quick run)
#   RES_BIN=PATH     the binary to measure (default: $BUILD/mxfp4-check, built
#                    with make unless RES_MAKE=0)
#   RES_TIMEOUT=600  seconds before a run is stopped and reported as such
#   RES_DIR=DIR      where to generate (default: a new temporary directory,
#                    removed at the end; a given one is kept)
# Exit status: 0 done (a run that timed out is reported, not fatal); 1 a run
# exited with a status its case does not expect; 2 bad usage.
set -euo pipefail

usage() {
    sed -n '2,34s/^# \{0,1\}//p' "$0"
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
'') ;;
*) usage >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
CASES=${RES_CASES:-tensors findings index patterns header}
SCALE=${RES_SCALE:-1}
TIMEOUT=${RES_TIMEOUT:-600}
BUILD=${BUILD:-build}
for v in SCALE TIMEOUT; do
    case ${!v} in
    '' | *[!0-9]* | 0*) echo "resources: RES_$v must be a positive integer, not '${!v}'" >&2; exit 2 ;;
    esac
done
[ -x /usr/bin/time ] || { echo "resources: needs GNU time (/usr/bin/time; scripts/deps.sh installs it)" >&2; exit 2; }
if [ -n "${RES_BIN:-}" ]; then
    BIN=$RES_BIN
else
    [ "${RES_MAKE:-1}" = 0 ] || make -s "$BUILD/mxfp4-check" >&2
    BIN=$BUILD/mxfp4-check
fi
[ -x "$BIN" ] || { echo "resources: no binary $BIN" >&2; exit 2; }
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
GEN=$PWD/bench/gen_scale.py

if [ -n "${RES_DIR:-}" ]; then
    DIR=$RES_DIR
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/mxc-resources.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi

full_size() {
    case $1 in
    tensors | findings | index) echo 1000000 ;;
    patterns) echo 100000 ;;
    header) echo 99000000 ;;
    esac
}

expected_status() {
    case $1 in findings) echo 1 ;; *) echo 0 ;; esac
}

# measure NAME CMD... -> "seconds peak_kb status" of one run (stdout of the
# command to /dev/null); seconds is "timeout" when it ran past RES_TIMEOUT.
measure() {
    local out=$DIR/time.txt st
    set +e
    /usr/bin/time -o "$out" -f '%e %M' timeout "$TIMEOUT" "$@" >/dev/null 2>"$DIR/stderr.txt"
    st=$?
    set -e
    local secs kb
    read -r secs kb < <(tail -n 1 "$out")
    [ "$st" -eq 124 ] && secs=timeout
    echo "$secs $kb $st"
}

ratio() { # ratio A B: A / B with one decimal, "-" when either is not a number
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.1f", a / b; else printf "-" }'
}

failed=0
printf '%-9s %-8s %12s %10s %10s %10s %8s %8s\n' case run size seconds peak_MB status "x time" "x mem"
for c in $CASES; do
    full=$(full_size "$c")
    [ -n "$full" ] || { echo "resources: unknown case '$c'" >&2; exit 2; }
    full=$((full / SCALE))
    tenth=$((full / 10))
    declare -A secs=() kb=()
    for size in "$tenth" "$full"; do
        d=$DIR/$c-$size
        [ -e "$d/dst" ] || python3 "$GEN" "$c" "$d" "$size"
        for run in verify inspect; do
            if [ $run = verify ]; then
                read -r s k st < <(measure "$BIN" verify "$d/src" "$d/dst" --json "$DIR/report.json" --quiet --no-progress)
                want=$(expected_status "$c")
            else
                read -r s k st < <(measure "$BIN" inspect --json "$d/dst")
                want=0 # DST is sound as a checkpoint in every case
            fi
            if [ "$s" != timeout ] && [ "$st" != "$want" ]; then
                echo "resources: $c $run at $size exited $st (expected $want): $(head -c 300 "$DIR/stderr.txt")" >&2
                failed=1
            fi
            secs[$run-$size]=$s
            kb[$run-$size]=$k
            mb=$(awk -v k="$k" 'BEGIN { printf "%.0f", k / 1024 }')
            xt=- xm=-
            if [ "$size" = "$full" ]; then
                xt=$(ratio "$s" "${secs[$run-$tenth]}")
                xm=$(ratio "$k" "${kb[$run-$tenth]}")
            fi
            printf '%-9s %-8s %12s %10s %10s %10s %8s %8s\n' "$c" $run "$size" "$s" "$mb" "$st" "$xt" "$xm"
        done
        [ -n "${RES_DIR:-}" ] || rm -rf "$d"
    done
    unset secs kb
done
exit $failed

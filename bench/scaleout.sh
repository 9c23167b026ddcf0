#!/bin/sh
# scaleout.sh [DIR] - the figures docs/scale-out.md rests on, measured on this
# machine: the plan of a header of a million tensors (MXFP4_CHECK_TRACE's
# "plan ... made after"), and `merge` of the partial reports of 10,000 and
# 100,000 tensors in 8 and 64 parts (seconds and peak memory), each merged
# report checked against the single run's (timings aside).
set -eu
DIR=${1:-/tmp/mxfp4-scaleout}
BIN=${BIN:-build/mxfp4-check}
GEN="python3 bench/gen_scale.py"
mkdir -p "$DIR"
[ -x "$BIN" ] || make -s CUDA=0 "$BIN"
echo "machine: nproc $(nproc), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"

same() { # the merged report equals the single run's, timings aside
    python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for d in (a, b):
    for k in ("started", "argv", "devices"):
        d["tool"].pop(k)
    d["summary"].pop("seconds")
sys.exit(0 if a == b else "merged report differs from the single run's")
PY
}

for n in 1000000; do
    [ -d "$DIR/t$n" ] || $GEN tensors "$DIR/t$n" $n
    for shard in 0/64 63/64; do
        MXFP4_CHECK_TRACE=1 "$BIN" verify "$DIR/t$n/src" "$DIR/t$n/dst" --shard $shard --json /dev/null \
            --quiet 2>&1 | sed -n "s|^verify: plan|part $shard: plan|p"
    done
done

for case in "findings 10000" "tensors 100000"; do
    set -- $case
    d="$DIR/$1$2"
    [ -d "$d" ] || $GEN "$1" "$d" "$2"
    "$BIN" verify "$d/src" "$d/dst" --json "$d/single.json" --quiet 2>/dev/null || true
    for parts in 8 64; do
        mkdir -p "$d/p$parts"
        i=0
        while [ $i -lt $parts ]; do
            "$BIN" verify "$d/src" "$d/dst" --shard $i/$parts --json "$d/p$parts/$i.json" --quiet \
                >/dev/null 2>&1 || true
            i=$((i + 1))
        done
        /usr/bin/time -f "merge of $2 tensors ($1) in $parts parts: %e s, %M KB peak" \
            "$BIN" merge "$d/p$parts"/*.json --json "$d/merged.json" --quiet 2>&1 | grep '^merge' || true
        same "$d/single.json" "$d/merged.json"
    done
done

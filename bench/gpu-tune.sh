#!/bin/bash
# gpu-tune.sh [DIR] - where the CUDA path's time goes, on the pair bench/run.sh
# generated in DIR: CUDA start-up alone, then verify --backend cuda with a few
# slab sizes and reader counts (MXFP4_CHECK_SLAB_BYTES, MXFP4_CHECK_READERS).
# Uses devbuild/ as bench/device-check.sh builds it.
set -u
cd "$(dirname "$0")/.." || exit 2
D=$PWD/devbuild
export LD_LIBRARY_PATH=$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
DIR=${1:-/tmp/mxfp4-bench}
src=$(find "$DIR" -maxdepth 1 -name '*-bf16' | head -n 1)
dst=${src%-bf16}-mxfp4
if [ ! -d "$src" ] || [ ! -d "$dst" ]; then echo "no benchmark pair in $DIR (run bench/run.sh first)"; exit 2; fi
bytes=$(du -cb "$src"/*.safetensors "$dst"/*.safetensors | tail -n 1 | cut -f1)
ns() { date +%s%N; }
# seconds (3 decimals) that "$@" takes
t() { local s e; s=$(ns); "$@" >/dev/null 2>&1; e=$(ns); printf '%d.%03d' $(((e - s) / 1000000000)) $(((e - s) / 1000000 % 1000)); }
echo "bytes: $bytes"
echo "startup (--version, CUDA init): $(t "$D/mxfp4-check" --version) s"
echo "inspect DST (headers + scales):  $(t "$D/mxfp4-check" inspect "$dst") s"
printf '%-12s %-8s %8s\n' slab readers seconds
for slab in 67108864 268435456; do
    for readers in 4 8 16; do
        for _ in 1 2; do
            printf '%-12s %-8s %8s\n' "$slab" "$readers" \
                "$(MXFP4_CHECK_SLAB_BYTES=$slab MXFP4_CHECK_READERS=$readers t "$D/mxfp4-check" verify "$src" "$dst" --backend cuda --quiet --no-progress)"
        done
    done
done
echo "traced (default slab and readers), cuda then cpu:"
MXFP4_CHECK_TRACE=1 "$D/mxfp4-check" verify "$src" "$dst" --backend cuda --quiet --no-progress 2>&1 | grep -E '^(verify|engine):'
MXFP4_CHECK_TRACE=1 "$D/mxfp4-check" verify "$src" "$dst" --backend cpu --quiet --no-progress 2>&1 | grep -E '^(verify|engine):'

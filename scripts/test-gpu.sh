#!/bin/sh
# GPU tests, on demand (`make test-gpu`). CI has no GPU: there this prints a
# visible SKIPPED notice and succeeds.
set -eu
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "SKIPPED: GPU tests (no NVIDIA GPU on this machine; run 'make test-gpu' on one)"
    exit 0
fi
BIN=${MXC_BIN:-./mxfp4-check}
[ -x "$BIN" ] || make mxfp4-check
out=$("$BIN" --version)
echo "$out"
echo "$out" | grep -q "cuda ([1-9][0-9]* device" || {
    echo "FAIL: the binary does not see the GPU (built without CUDA?)"; exit 1; }
echo "1 passed, 0 failed"

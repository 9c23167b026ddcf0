#!/bin/sh
# GPU tests, on demand (`make test-gpu`): the CUDA backend against the CPU
# reference (tests/gpu/). CI has no GPU: there this prints a visible SKIPPED
# notice and succeeds. On a machine without compilers, point MXC_BIN,
# MXC_GPU_TESTS, MXC_TOOLS, MXC_FIXTURES and MXC_SRCDIR at prebuilt binaries
# and data (bench/device-check.sh does).
set -eu
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "SKIPPED: GPU tests (no NVIDIA GPU on this machine; run 'make test-gpu' on one)"
    exit 0
fi
BUILD=${BUILD:-build}
BIN=${MXC_BIN:-$PWD/$BUILD/mxfp4-check}
TESTS=${MXC_GPU_TESTS:-$PWD/$BUILD/tests/gpu}
if command -v "${CC:-cc}" >/dev/null 2>&1 && [ -f Makefile ] && [ -z "${MXC_GPU_TESTS:-}" ]; then
    make gpu-tests
fi
out=$("$BIN" --version)
echo "$out"
if ! echo "$out" | grep -q "cuda ([1-9][0-9]* device"; then
    echo "FAIL: the binary does not see the GPU (built without CUDA?)"
    echo "0 passed, 1 failed"
    exit 1
fi
export MXC_BIN="$BIN" MXC_TOOLS="${MXC_TOOLS:-$PWD/$BUILD/tools}" \
    MXC_FIXTURES="${MXC_FIXTURES:-$(cd .. && pwd)/shared/fixtures}" MXC_SRCDIR="${MXC_SRCDIR:-$PWD}"
# shellcheck disable=SC2046 # the suites, one word each
exec ./scripts/run-tests.sh $(find "$TESTS" -maxdepth 1 -name 'test_*' ! -name '*.d' | sort)

#!/bin/bash
# device-check.sh - the GPU machine in one call (GPU time is scarce): the
# CUDA build sees the GPU, the parity suite (make test-gpu) and every suite
# pass with the CUDA-enabled binaries, then the benchmark of SPEC §4
# (bench/run.sh: generates the 13.1 GB pair there and prints every ratio).
#
# Here (the GPU machine has no compilers' -dev packages):
#   bash bench/device-check.sh pack [PACK]
# builds the CUDA binaries in devbuild/ and assembles PACK (default
# devbuild-pack/, < 64 MiB): the binaries (stripped), the shared libraries,
# the fixture, and this tree's files (tree/), so the call needs nothing else
# from the repository it is sent with. There, carrying PACK:
#   bash PACK/tree/bench/device-check.sh        (or from a tree with devbuild/)
# BENCH_SKIP=1: the build check and the suites only (a short call);
# CHECK_SKIP=1: the benchmark only (a tuning call); SUITES_SKIP=1: the parity
# suite and the benchmark, not every suite; other BENCH_* variables
# go to bench/run.sh.
set -u
cd "$(dirname "$0")/.." || exit 2

if [ "${1:-}" = pack ]; then
    PACK=${2:-devbuild-pack}
    ARCH="-gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90"
    # shellcheck disable=SC2046 # the suites, one word each
    make -j"$(nproc)" BUILD=devbuild CUDA_ARCH="$ARCH" devbuild/mxfp4-check devbuild/tools/gen_sample \
        devbuild/tools/plant devbuild/tools/bench_cpu devbuild/tests/gpu/test_gpu_parity devbuild/tests/gpu/bench_kernel \
        devbuild/tests/faultshim.so $(ls tests/test_*.c | sed 's|tests/\(.*\)\.c|devbuild/tests/\1|') >/dev/null || exit 1
    rm -rf "$PACK"
    mkdir -p "$PACK/lib" "$PACK/fixtures" "$PACK/tools" "$PACK/tests/gpu" "$PACK/tree"
    cp devbuild/mxfp4-check "$PACK/"
    cp devbuild/tools/gen_sample devbuild/tools/plant devbuild/tools/bench_cpu "$PACK/tools/"
    cp devbuild/tests/gpu/test_gpu_parity devbuild/tests/gpu/bench_kernel "$PACK/tests/gpu/"
    cp devbuild/tests/faultshim.so "$PACK/tests/"
    find devbuild/tests -maxdepth 1 -name 'test_*' ! -name '*.d' -exec cp {} "$PACK/tests/" \;
    strip --strip-debug "$PACK"/mxfp4-check "$PACK"/tools/* "$PACK"/tests/test_* "$PACK"/tests/gpu/*
    cp -L /usr/lib/x86_64-linux-gnu/{libcjson.so.1,libyaml-0.so.2,libcmocka.so.0,libunistring.so.2,libpcre2-8.so.0,libcrypto.so.3} "$PACK/lib/"
    cp -r ../shared/fixtures/seedconv-small "$PACK/fixtures/"
    # the working tree as it is (uncommitted changes too), for the scripts and test data
    git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$PACK/tree"
    git describe --always --dirty >"$PACK/tree/.rev" 2>/dev/null
    du -sh "$PACK"
    exit 0
fi

if [ -x ../mxfp4-check ] && [ -d ../tests ]; then D=$(cd .. && pwd); else D=$PWD/devbuild; fi
export LD_LIBRARY_PATH=$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export BENCH_REV
BENCH_REV=$(cat .rev 2>/dev/null || echo unknown)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if [ -z "${CHECK_SKIP:-}" ]; then
echo "== test-gpu (CUDA backend against the CPU reference)"
MXC_BIN=$D/mxfp4-check MXC_GPU_TESTS=$D/tests/gpu MXC_TOOLS=$D/tools MXC_FIXTURES=$D/fixtures \
    MXC_SRCDIR=$PWD ./scripts/test-gpu.sh 2>&1 | tee "${OUT:-/tmp}/gpu.log" | grep -E 'FAIL|ERROR|passed|SKIPPED|backends'
grep -B2 -A6 'ERROR' "${OUT:-/tmp}/gpu.log" | head -40
# The machine has no python3-jsonschema: MXC_SCHEMA_OPTIONAL=1 lets test_verify
# go on past its schema checks there (CI checks the schema); everything must
# pass. test_scale's resident-memory bound is set for CI's 2 cores: with 16
# OpenMP threads, glibc's per-thread arenas take more. TEST_JOBS=1: the suites
# one after the other, as they were timed here (run-tests.sh would otherwise
# start one per CPU, all on the one GPU).
if [ -z "${SUITES_SKIP:-}" ]; then
echo "== suites (CUDA-enabled build)"
mapfile -t suites < <(find "$D/tests" -maxdepth 1 -name 'test_*' ! -name '*.d' | sort)
MXC_BIN=$D/mxfp4-check MXC_TOOLS=$D/tools MXC_FIXTURES=$D/fixtures MXC_SRCDIR=$PWD MXC_FAULTSHIM=$D/tests/faultshim.so MXC_SCHEMA_OPTIONAL=1 \
    TEST_JOBS=1 ./scripts/run-tests.sh "${suites[@]}" > "${OUT:-/tmp}/suites.log" 2>&1
tail -n 1 "${OUT:-/tmp}/suites.log"
grep -E '^\[  FAILED  \]|^failing' "${OUT:-/tmp}/suites.log" | head -20
fi
fi
# BENCH_SKIP=1: the build check and the suites only (a short device call)
[ -z "${BENCH_SKIP:-}" ] || exit 0
echo "== bench"
BUILD=$D BENCH_MAKE=0 ./bench/run.sh "${BENCH_DIR:-/tmp/mxfp4-bench}" 2>&1 | tee "${OUT:-/tmp}/bench.log" | tail -n 24

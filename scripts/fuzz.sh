#!/bin/sh
# fuzz.sh CC SECONDS - builds every fuzz/fuzz_NAME.c with libFuzzer, ASan and
# UBSan (UB aborts: -fno-sanitize-recover) against the library sources, and
# runs each for SECONDS on a fresh copy of fuzz/seeds/NAME/ (with
# fuzz/NAME.dict as a libFuzzer dictionary when it exists). Prints one line
# per fuzzer; exits non-zero if a fuzzer fails to build or finds a crash,
# leak or timeout. Everything goes under build-fuzz/: the binary, the corpus
# copy, the log and any reproducer (build-fuzz/NAME/crash-*).
set -eu

usage() { echo "usage: $0 CC SECONDS   (e.g. $0 clang-14 60)" >&2; exit 2; }
[ $# -eq 2 ] || usage
CC=$1
SECS=$2
case $SECS in '' | *[!0-9]*) usage ;; esac

cd "$(dirname "$0")/.."
OUT=build-fuzz
mkdir -p "$OUT"

# The library: src/*.c but main(), anything CUDA (none today) and the MPI runner.
LIBSRC=
for f in src/*.c; do
    [ "$f" = src/main.c ] && continue
    grep -q -e 'cuda_runtime' -e '__global__' "$f" && continue
    grep -q -e '#include <mpi.h>' "$f" && continue # only in `make MPI=1`
    LIBSRC="$LIBSRC $f"
done
# The built-in rule files, embedded as the Makefile does.
mkdir -p "$OUT/gen"
./scripts/embed-rules.sh "$OUT/gen/rules_builtin.c" default=rules/default.yaml strict=rules/strict.yaml \
    gpt-oss=rules/gpt-oss.yaml
LIBSRC="$LIBSRC $OUT/gen/rules_builtin.c"
OMP=
# shellcheck disable=SC2086 # LIBSRC is a word list on purpose
if grep -q -e '#include <omp.h>' -e '#pragma omp' $LIBSRC; then OMP=-fopenmp; fi

failed=0
found=0
for src in fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    found=1
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    dir=$OUT/$name
    bin=$OUT/fuzz_$name
    log=$dir/fuzz.log
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    echo "fuzz: $name: building $bin"
    # shellcheck disable=SC2086 # LIBSRC and OMP are word lists on purpose
    if ! "$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -DMXC_HAVE_CUDA=0 -DMXC_HAVE_MPI=0 \
        -DMXC_VERSION='"fuzz"' -Isrc -I/usr/include/cjson $OMP \
        -o "$bin" "$src" $LIBSRC -lcjson -lyaml -lunistring -lpcre2-8 -lcrypto -lm >"$dir/build.log" 2>&1; then
        cat "$dir/build.log" >&2
        echo "fuzz: $name: FAILED to build (log: $dir/build.log)"
        failed=1
        continue
    fi
    if [ -d "fuzz/seeds/$name" ]; then cp -R "fuzz/seeds/$name/." "$dir/corpus/"; fi
    seeds=$(find "$dir/corpus" -type f | wc -l)
    echo "fuzz: $name: running for ${SECS}s from $seeds seeds"
    dict=
    if [ -f "fuzz/$name.dict" ]; then dict=-dict=fuzz/$name.dict; fi
    rc=0
    # shellcheck disable=SC2086 # dict is empty or one word
    "$bin" "$dir/corpus" -max_total_time="$SECS" -max_len=65536 -timeout=10 $dict \
        -print_final_stats=1 -artifact_prefix="$dir/" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    repro=$(find "$dir" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
        echo "fuzz: $name: ok (${runs:-?} runs, ${cov:-cov: ?}, log: $log)"
    else
        tail -n 40 "$log" >&2
        echo "fuzz: $name: FAILED (exit $rc, reproducer: ${repro:-none}, log: $log)"
        failed=1
    fi
done

if [ "$found" -eq 0 ]; then
    echo "fuzz: no fuzz/fuzz_*.c found" >&2
    exit 1
fi
exit "$failed"

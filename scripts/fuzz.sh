#!/bin/sh
# fuzz.sh CC SECONDS - builds every fuzz/fuzz_NAME.c with libFuzzer, ASan and
# UBSan (UB aborts: -fno-sanitize-recover) against the library sources, and
# runs each for SECONDS on a fresh copy of fuzz/seeds/NAME/ (with
# fuzz/NAME.dict as a libFuzzer dictionary when it exists). Prints one line
# per fuzzer; exits non-zero if a fuzzer fails to build or finds a crash,
# leak or timeout. Everything goes under build-fuzz/: the binary, the corpus
# copy, the log and any reproducer (build-fuzz/NAME/crash-*).
#
# The library is compiled once for all the fuzzers (every harness uses the
# same flags), FUZZ_JOBS files at a time. The fuzzers then run FUZZ_JOBS at a
# time (default: the number of CPUs): libFuzzer runs one thread, so each one
# still has a CPU to itself for its SECONDS; their reports are printed in
# order as each batch ends.
set -eu

usage() { echo "usage: $0 CC SECONDS   (e.g. $0 clang-14 60)" >&2; exit 2; }
[ $# -eq 2 ] || usage
CC=$1
SECS=$2
case $SECS in '' | *[!0-9]*) usage ;; esac
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $JOBS in '' | 0 | *[!0-9]*) echo "$0: FUZZ_JOBS must be a positive number" >&2; exit 2 ;; esac

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
# Split into words where used: the quotes of MXC_VERSION are part of its value.
# shellcheck disable=SC2089,SC2090
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
-std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -DMXC_HAVE_CUDA=0 -DMXC_HAVE_MPI=0 \
-DMXC_VERSION=\"fuzz\" -Isrc -I/usr/include/cjson $OMP"
LIBS="-lcjson -lyaml -lunistring -lpcre2-8 -lcrypto -lm"

NAMES=
for src in fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    NAMES="$NAMES ${name#fuzz_}"
done
if [ -z "$NAMES" ]; then
    echo "fuzz: no fuzz/fuzz_*.c found" >&2
    exit 1
fi

# The library objects, OBJ/NAME.o each (the sources' base names are distinct).
OBJ=$OUT/obj
rm -rf "$OBJ"
mkdir -p "$OBJ"
LIBOBJ=
for f in $LIBSRC; do LIBOBJ="$LIBOBJ $OBJ/$(basename "$f" .c).o"; done
echo "fuzz: building the library, $JOBS files at a time"
# shellcheck disable=SC2090
export CC FLAGS
# shellcheck disable=SC2016 # expanded by the sh that xargs runs
for f in $LIBSRC; do echo "$OBJ/$(basename "$f" .c).o $f"; done |
    xargs -n 2 -P "$JOBS" sh -c '$CC $FLAGS -c -o "$0" "$1" >"$0.log" 2>&1 || rm -f "$0"' || true
libfailed=
for o in $LIBOBJ; do
    if [ ! -f "$o" ]; then
        cat "$o.log" >&2
        libfailed="$libfailed $o.log"
    fi
done
if [ -n "$libfailed" ]; then
    for name in $NAMES; do echo "fuzz: $name: FAILED to build (the library did not compile, log:$libfailed)"; done
    exit 1
fi

# Builds and runs one fuzzer; what it has to say goes to $OUT/NAME/report,
# and $OUT/NAME/failed marks a failure.
fuzz_one() {
    name=$1
    dir=$OUT/$name
    bin=$OUT/fuzz_$name
    log=$dir/fuzz.log
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    exec >"$dir/report" 2>&1
    echo "fuzz: $name: building $bin"
    # shellcheck disable=SC2086,SC2090 # FLAGS, LIBOBJ and LIBS are word lists on purpose
    if ! "$CC" $FLAGS -o "$bin" "fuzz/fuzz_$name.c" $LIBOBJ $LIBS >"$dir/build.log" 2>&1; then
        cat "$dir/build.log"
        echo "fuzz: $name: FAILED to build (log: $dir/build.log)"
        : >"$dir/failed"
        return
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
        tail -n 40 "$log"
        echo "fuzz: $name: FAILED (exit $rc, reproducer: ${repro:-none}, log: $log)"
        : >"$dir/failed"
    fi
}

# Prints the reports of a batch, in order.
report() {
    for name in "$@"; do
        cat "$OUT/$name/report"
        [ ! -e "$OUT/$name/failed" ] || failed=1
    done
}

failed=0
batch=
n=0
for name in $NAMES; do
    (fuzz_one "$name") &
    batch="$batch $name"
    n=$((n + 1))
    if [ "$n" -eq "$JOBS" ]; then
        wait
        # shellcheck disable=SC2086 # batch is a word list on purpose
        report $batch
        batch=
        n=0
    fi
done
wait
# shellcheck disable=SC2086 # batch is a word list on purpose
report $batch
exit "$failed"

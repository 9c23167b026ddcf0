#!/bin/sh
# run-tests.sh TEST... - runs each cmocka suite, keeps going after a failing
# one, and ends with one line of totals ("N passed, N failed") for people and
# CI. The environment (MXC_BIN, MXC_FIXTURES, ...) is passed through.
set -u
passed=0
failed=0
bad=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
    echo "== $t"
    "$t" 2>&1 | tee "$log"
    rc=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    fc=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    passed=$((passed + rc))
    failed=$((failed + fc))
    # a suite that crashed before cmocka's summary counts as a failure too
    if ! grep -q '^\[  PASSED  \]\|^\[  FAILED  \]' "$log" || [ "$fc" -gt 0 ]; then
        bad="$bad $t"
        [ "$fc" -gt 0 ] || failed=$((failed + 1))
    fi
done
[ -z "$bad" ] || echo "failing suites:$bad"
echo "$passed passed, $failed failed"
[ -z "$bad" ]

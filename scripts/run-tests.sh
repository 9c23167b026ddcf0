#!/bin/sh
# run-tests.sh TEST... - runs each cmocka suite, keeps going after a failing
# one, and ends with one line of totals ("N passed, N failed") for people and
# CI. A suite fails by its failed tests, by ending before cmocka's summary,
# or by a nonzero exit status. The environment (MXC_BIN, MXC_FIXTURES, ...) is passed through.
#
# TEST_JOBS suites run at a time (default: the number of CPUs; 1 runs them
# one after the other). Each suite's output is kept and printed whole, under
# its "== TEST (N s)" line, in the order given: as soon as it and those
# before it have ended.
set -u
jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | 0 | *[!0-9]*) echo "$0: TEST_JOBS must be a positive number" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A finished suite writes its number here; opened read-write, so that reading
# waits for a writer without ever seeing the end of the file.
mkfifo "$tmp/done"
exec 3<>"$tmp/done"

passed=0
failed=0
bad=""
# Runs suite number $1 ($2) into $tmp/$1.log, its seconds into $tmp/$1.time.
run_one() {
    echo "$2" >"$tmp/$1.name"
    start=$(date +%s)
    "$2" >"$tmp/$1.log" 2>&1
    echo $? >"$tmp/$1.rc"
    echo $(($(date +%s) - start)) >"$tmp/$1.t"
    mv "$tmp/$1.t" "$tmp/$1.time" # whole when it appears: it says the suite ended
    echo "$1" >&3
}
# Prints and counts suite number $1.
report() {
    log=$tmp/$1.log
    name=$(cat "$tmp/$1.name")
    echo "== $name ($(cat "$tmp/$1.time") s)"
    cat "$log"
    rc=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    fc=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    passed=$((passed + rc))
    failed=$((failed + fc))
    # a suite that crashed before cmocka's summary, or whose exit status says
    # it failed after it (a sanitizer's leak report at exit), counts as a
    # failure too
    status=$(cat "$tmp/$1.rc")
    if ! grep -q '^\[  PASSED  \]\|^\[  FAILED  \]' "$log" || [ "$fc" -gt 0 ] || [ "$status" -ne 0 ]; then
        [ "$status" -eq 0 ] || [ "$fc" -gt 0 ] || echo "$name: exit status $status"
        bad="$bad $name"
        [ "$fc" -gt 0 ] || failed=$((failed + 1))
    fi
}
# Prints the suites that have ended, up to the first one still running.
next=1
report_ended() {
    while [ -e "$tmp/$next.time" ]; do
        report "$next"
        next=$((next + 1))
    done
}

i=0
running=0
for t in "$@"; do
    if [ "$running" -ge "$jobs" ]; then
        read -r _ <&3
        running=$((running - 1))
        report_ended
    fi
    i=$((i + 1))
    run_one "$i" "$t" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    read -r _ <&3
    running=$((running - 1))
    report_ended
done
wait
[ -z "$bad" ] || echo "failing suites:$bad"
echo "$passed passed, $failed failed"
[ -z "$bad" ]

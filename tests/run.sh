#!/bin/sh
# Runs every unit test binary, then every end-to-end script, and adds up
# their "N passed, N failed" lines. Set DLTRAIN_SKIP_SLOW=1 to leave out the
# Fashion-MNIST accuracy tier (tests/e2e/slow_*.sh).
# usage: tests/run.sh BUILD_TEST_DIR
bindir=${1:-build/tests}
passed=0
failed=0
log=$(mktemp)

count() { # suite name, log file, exit status
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
    p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
    f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
    if [ -z "$line" ]; then p=0; f=1; fi
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    status=ok
    [ "$f" -ne 0 ] && status=FAILED
    printf '%-32s %5d passed, %d failed  %s\n' "$1" "$p" "$f" "$status"
    if [ "$f" -ne 0 ]; then sed 's/^/    | /' "$2" | tail -n 40; fi
}

for t in "$bindir"/test_*; do
    [ -x "$t" ] || continue
    "$t" >"$log" 2>&1
    count "$(basename "$t")" "$log" $?
done

for t in tests/e2e/test_*.sh tests/e2e/slow_*.sh; do
    [ -f "$t" ] || continue
    case "$t" in
    tests/e2e/slow_*) [ -n "$DLTRAIN_SKIP_SLOW" ] && { echo "$(basename "$t"): skipped (DLTRAIN_SKIP_SLOW)"; continue; } ;;
    esac
    sh "$t" >"$log" 2>&1
    count "$(basename "$t")" "$log" $?
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

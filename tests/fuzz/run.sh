#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR (make fuzz): first each saved
# input of tests/fuzz/regressions/<target>/ once, then SECONDS of fuzzing
# from the seeds in tests/fuzz/corpus/<target>/ (with <target>.dict when
# there is one). New inputs are kept in BUILD_DIR/corpus/<target>/, a crash,
# leak, timeout or undefined behaviour in BUILD_DIR/findings/<target>/ (copy
# it to regressions/ to keep it). Exits 1 if any target failed.
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS
build=${1:-build/fuzz}
seconds=${2:-60}
log=$(mktemp)
failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fail() { # target, what
    failed=1
    echo "$1: FAILED ($2)"
    grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x|^(resolved|emitted|failed|tensor)' "$log" |
        grep -vE 'fuzzer::|__sanitizer|__asan|__interceptor| in (main|malloc|calloc|realloc|_start) |libc[._-]' |
        head -n 30 | sed 's/^/    | /'
}

for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    for input in tests/fuzz/regressions/"$name"/*; do
        [ -f "$input" ] || continue
        "$bin" "$input" >"$log" 2>&1 || fail "$name" "regression $input"
    done
    mkdir -p "$build/corpus/$name" "$build/findings/$name"
    dict=
    [ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
    "$bin" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 $dict \
        -artifact_prefix="$build/findings/$name/" "$build/corpus/$name" \
        "tests/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ "$rc" -ne 0 ]; then
        fail "$name" "exit $rc; input in $build/findings/$name/"
    else
        printf '%-14s %9s runs in %ss, %6s exec/s  ok\n' "$name" "$runs" "$seconds" "$rate"
    fi
done
rm -f "$log"
[ "$failed" -eq 0 ]

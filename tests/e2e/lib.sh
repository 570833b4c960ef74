# lib.sh: helpers for the end-to-end tests (sourced). Each test script runs
# ./dltrain in a scratch directory and ends with "N passed, N failed".
DLTRAIN=${DLTRAIN:-$(pwd)/dltrain}
ROOT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }

# check NAME CONDITION...: runs the condition as a command
check() {
    name=$1
    shift
    if "$@"; then ok; else bad "$name"; fi
}

# run_dl EXPECTED_EXIT ARGS...: runs dltrain, keeps stdout/stderr in
# $WORK/out and $WORK/err, checks the exit code
run_dl() {
    want=$1
    shift
    "$DLTRAIN" "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "dltrain $* exited $got, expected $want"
        sed 's/^/    stderr: /' "$WORK/err" | head -n 20
    fi
}

# err_has TEXT: the last stderr contains TEXT
err_has() { if grep -qF -- "$1" "$WORK/err"; then ok; else bad "stderr lacks '$1'"; sed 's/^/    stderr: /' "$WORK/err" | head -n 5; fi; }
out_has() { if grep -qF -- "$1" "$WORK/out"; then ok; else bad "stdout lacks '$1'"; sed 's/^/    stdout: /' "$WORK/out" | head -n 5; fi; }

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# venv_setup PACKAGES...: a virtual environment (tests/.venv, kept between
# runs) with the PyPI packages installed; sets $PY to its python.
venv_setup() {
    venv=${DLTRAIN_VENV:-$ROOT/tests/.venv}
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" || return 1
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" || return 1
    PY=$venv/bin/python
}

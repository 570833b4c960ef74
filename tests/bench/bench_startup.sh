#!/bin/sh
# bench_startup.sh: `make bench-startup`. How long it takes to get going,
# which is what a sweep or a shell loop of short runs pays on every run:
#   dltrain check configs/examples/fashion_mnist_mlp.yaml
#   dltrain fit of one epoch on a tiny generated dataset (600 rows of 4 features)
#   /usr/bin/python3 -c pass            (the interpreter alone, for reference)
#   /usr/bin/python3 -c "import torch"  (Debian's python3-torch)
#   python -c "import keras"            (Keras 3 + JAX in the virtual environment
#                                        that `make bench` sets up; left out when missing)
# all in one run, and prints the mean wall time of each and its ratio to the
# dltrain commands as a markdown table. Uses hyperfine (installed with
# apt-get when running as root), else a shell loop timed with date +%s.%N.
# A benchmark, not a test: it passes no judgement.
#
# Environment:
#   BENCH_RUNS=10                  timed runs of each command (after 2 warm-up runs)
#   BENCH_VENV=tests/.venv/bench   Keras's virtual environment (bench.sh makes it)
#   BENCH_OUT=build/bench-startup  data, runs, hyperfine's JSON, results.md
#
# usage: sh tests/bench/bench_startup.sh   (from the repository root; ./dltrain built)
set -u
cd "$(dirname "$0")/../.." || exit 1

RUNS=${BENCH_RUNS:-10}
VENV=${BENCH_VENV:-tests/.venv/bench}
OUT=${BENCH_OUT:-build/bench-startup}
PY=/usr/bin/python3
CONFIG=configs/examples/fashion_mnist_mlp.yaml

die() { echo "bench-startup: $*" >&2; exit 1; }
note() { echo "bench-startup: $*" >&2; }

case "$RUNS" in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer, got '$RUNS'" ;; esac
[ -x ./dltrain ] || die "./dltrain is not built: run 'make bench-startup' (or 'make' first)"
[ -x "$PY" ] || die "$PY is missing"
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

if ! command -v hyperfine >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] &&
    command -v apt-get >/dev/null 2>&1; then
    note "installing hyperfine (apt-get)"
    apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1 ||
        note "hyperfine did not install; timing with a shell loop"
fi

# The tiny dataset and its one-epoch config.
"$PY" tests/e2e/gen_data.py "$OUT" || die "cannot generate the tiny dataset"
cat >"$OUT/tiny.yaml" <<YAML
seed: 1
data:
  train: {format: csv, path: $OUT/blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
  validation_split: 0.2
model:
  input_shape: [4]
  layers:
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 1
YAML

# The commands: label|command (the fit's run directory is removed before each run).
FIT_DIR=$OUT/fit-run
CMDS=$OUT/commands.txt
{
    echo "dltrain check|./dltrain check $CONFIG"
    echo "dltrain fit, 1 epoch, 480 rows|./dltrain fit $OUT/tiny.yaml -q --threads 1 --run-dir $FIT_DIR"
    echo "python3 -c pass|$PY -c pass"
} >"$CMDS"
if "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "python3 -c 'import torch'|$PY -c 'import torch'" >>"$CMDS"
    torch_note="PyTorch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    torch_note="PyTorch: not installed for $PY (apt-get install python3-torch); left out"
    note "$torch_note"
fi
keras_note="Keras: no virtual environment with keras in $VENV (run 'make bench' once to make it); left out"
for be in jax tensorflow; do
    if KERAS_BACKEND=$be "$VENV/bin/python" -c "import keras, $be" >/dev/null 2>&1; then
        echo "python -c 'import keras' ($be)|env KERAS_BACKEND=$be $VENV/bin/python -c 'import keras'" >>"$CMDS"
        keras_note="$(KERAS_BACKEND=$be "$VENV/bin/python" -c "import keras, $be as b; print('Keras', keras.__version__, '+ $be', b.__version__)" 2>/dev/null)"
        break
    fi
done
case "$keras_note" in Keras:*) note "$keras_note" ;; esac

# Each command must work before it is timed.
while IFS='|' read -r label cmd; do
    rm -rf "$FIT_DIR"
    sh -c "$cmd" >/dev/null 2>"$OUT/probe.err" || {
        sed 's/^/    | /' "$OUT/probe.err" | tail -n 5 >&2
        die "'$cmd' failed"
    }
done <"$CMDS"

RESULTS=$OUT/results.tsv   # label, mean s, stddev s, runs
: >"$RESULTS"
if command -v hyperfine >/dev/null 2>&1; then
    timer="hyperfine $(hyperfine --version | cut -d' ' -f2), $RUNS runs after 2 warm-ups"
    set --
    while IFS='|' read -r label cmd; do
        set -- "$@" --command-name "$label" "$cmd"
    done <"$CMDS"
    hyperfine --style none --warmup 2 --runs "$RUNS" --prepare "rm -rf $FIT_DIR" \
        --export-json "$OUT/hyperfine.json" "$@" >"$OUT/hyperfine.log" 2>&1 ||
        die "hyperfine failed; see $OUT/hyperfine.log"
    "$PY" -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%s\t%.6f\t%.6f\t%d" % (r["command"], r["mean"], r["stddev"] or 0, len(r["times"])))
' "$OUT/hyperfine.json" >"$RESULTS"
else
    timer="a shell loop timed with date +%s.%N (no hyperfine), $RUNS runs after 2 warm-ups"
    while IFS='|' read -r label cmd; do
        i=0
        times=""
        while [ $i -lt $((RUNS + 2)) ]; do
            rm -rf "$FIT_DIR"
            t0=$(date +%s.%N)
            sh -c "$cmd" >/dev/null 2>&1
            t1=$(date +%s.%N)
            [ $i -ge 2 ] && times="$times $(echo "$t1 - $t0" | awk '{ print $1 - $3 }')"
            i=$((i + 1))
        done
        echo "$times" | awk -v label="$label" '{
            for (i = 1; i <= NF; i++) { s += $i; ss += $i * $i }
            m = s / NF; v = ss / NF - m * m
            printf "%s\t%.6f\t%.6f\t%d\n", label, m, (v > 0 ? sqrt(v) : 0), NF }' >>"$RESULTS"
    done <"$CMDS"
fi
rm -rf "$FIT_DIR"

{
    echo "## Start-up: dltrain against importing PyTorch and Keras"
    echo
    echo "- machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- $(./dltrain --version); $torch_note; $keras_note"
    echo "- timer: $timer; wall time of the whole process"
    echo
    "$PY" -c '
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
base = {r[0]: float(r[1]) for r in rows}
check = base.get("dltrain check")
fit = next((v for k, v in base.items() if k.startswith("dltrain fit")), None)
print("| command | mean ms | ± ms | runs | ÷ dltrain check | ÷ dltrain fit 1 epoch |")
print("|---|---:|---:|---:|---:|---:|")
for label, mean, sd, n in rows:
    mean, sd = float(mean), float(sd)
    print("| %s | %.1f | %.1f | %s | %.1f | %.1f |" % (
        label, 1e3 * mean, 1e3 * sd, n, mean / check, mean / fit))
' "$RESULTS"
} >"$OUT/results.md"
cat "$OUT/results.md"

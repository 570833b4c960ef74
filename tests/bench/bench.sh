#!/bin/sh
# bench.sh: `make bench`. Trains the Fashion-MNIST examples
#   mlp: configs/examples/fashion_mnist_mlp.yaml (784-256-128-10), batch 32 and 256
#   cnn: configs/examples/fashion_mnist_cnn.yaml (2 conv + 2 pool + dense), batch 64
# with Adam at a constant 1e-3 in dltrain, in PyTorch (Debian's python3-torch;
# for the CNN in NCHW and in channels_last) and in Keras 3 (JAX or TensorFlow
# backend from PyPI, in a virtual environment), on 1 and 2 threads, and prints
# seconds per epoch, test accuracy and peak RSS of each as markdown tables.
# A benchmark, not a test: it passes no judgement.
# What is measured and how: tests/bench/README.md.
#
# Environment:
#   BENCH_MODEL=all         mlp, cnn or all
#   BENCH_EPOCHS=3          MLP: epochs per run (s/epoch is the mean of epochs 2..E)
#   BENCH_REPEAT=3          MLP: runs of each setting (median and range shown)
#   BENCH_BATCHES="32 256"  BENCH_THREADS="1 2"   MLP settings
#   BENCH_CNN_EPOCHS=2  BENCH_CNN_REPEAT=1  BENCH_CNN_BATCHES=64  BENCH_CNN_THREADS="1 2"
#   BENCH_CNN_CHANNELS_LAST=1  0: no PyTorch channels_last run
#   BENCH_TORCH_ENV=        VAR=value ... added to the PyTorch runs' environment
#   BENCH_KERAS=1           0: leave Keras out
#   BENCH_VENV=tests/.venv/bench   Keras's virtual environment (made if missing)
#   BENCH_OUT=build/bench   logs, per-run results (results.jsonl), results.md
#   BENCH_OPENBLAS_NATIVE=1 unset OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for the runs
#
# usage: sh tests/bench/bench.sh   (from the repository root; ./dltrain built)
set -u
cd "$(dirname "$0")/../.." || exit 1

MODELS=${BENCH_MODEL:-all}
KERAS=${BENCH_KERAS:-1}
TORCH_ENV=${BENCH_TORCH_ENV:-}
VENV=${BENCH_VENV:-tests/.venv/bench}
OUT=${BENCH_OUT:-build/bench}
PY=/usr/bin/python3 # Debian's python, the one python3-torch installs into
DATA=/usr/share/datasets/fashion-mnist
HERE=tests/bench

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# setting MODEL NAME: $BENCH_NAME for the MLP, $BENCH_CNN_NAME for the CNN,
# else the model's default.
setting() {
    case "$1.$2" in
    mlp.EPOCHS) d=3 ;; mlp.REPEAT) d=3 ;; mlp.BATCHES) d="32 256" ;; mlp.THREADS) d="1 2" ;;
    cnn.EPOCHS) d=2 ;; cnn.REPEAT) d=1 ;; cnn.BATCHES) d=64 ;; cnn.THREADS) d="1 2" ;;
    cnn.CHANNELS_LAST) d=1 ;; *) d= ;;
    esac
    if [ "$1" = mlp ]; then eval "v=\${BENCH_$2-}"; else eval "v=\${BENCH_CNN_$2-}"; fi
    echo "${v:-$d}"
}

case "$MODELS" in
all) MODELS="mlp cnn" ;;
mlp | cnn) ;;
*) die "BENCH_MODEL must be mlp, cnn or all, got '$MODELS'" ;;
esac

# apt_install PACKAGE: installs a Debian package when running as root.
apt_updated=0
apt_install() {
    is_root && command -v apt-get >/dev/null 2>&1 || return 1
    note "installing $1 (apt-get)"
    if [ "$apt_updated" -eq 0 ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1
}

# ---- prerequisites --------------------------------------------------------
for m in $MODELS; do
    # dltrain's epoch 1 is timed from its "Epoch 1/E" line, printed only when E > 1.
    e=$(setting "$m" EPOCHS) r=$(setting "$m" REPEAT)
    case "$e" in *[!0-9]* | 0 | 1) die "$m: epochs must be an integer >= 2, got '$e'" ;; esac
    case "$r" in *[!0-9]* | 0) die "$m: repeats must be a positive integer, got '$r'" ;; esac
    [ -f "configs/examples/fashion_mnist_$m.yaml" ] || die "configs/examples/fashion_mnist_$m.yaml is missing"
done
[ -x ./dltrain ] || die "./dltrain is not built: run 'make bench' (or 'make' first)"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$DATA/$f.gz" ] && continue
    apt_install dataset-fashion-mnist
    [ -f "$DATA/$f.gz" ] || die "Fashion-MNIST is missing ($DATA/$f.gz): apt-get install dataset-fashion-mnist"
done
[ -x "$PY" ] || apt_install python3 || true
[ -x "$PY" ] || die "$PY is missing: apt-get install python3 python3-torch"
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    apt_install python3-torch || true
    "$PY" -c 'import torch' >/dev/null 2>&1 ||
        die "PyTorch is missing for $PY: run 'apt-get install python3-torch' as root (Debian's package; this benchmark does not pip-install torch)"
fi
if [ ! -x /usr/bin/time ]; then
    apt_install time || true
    [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time, for peak RSS) is missing: apt-get install time"
fi
command -v taskset >/dev/null 2>&1 || apt_install util-linux || true
command -v taskset >/dev/null 2>&1 || note "taskset missing: runs are not pinned to T cores"

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, pick OpenBLAS's kernels
# for dltrain and PyTorch alike; BENCH_OPENBLAS_NATIVE=1 drops them so that
# OpenBLAS detects the CPU itself (see README.md, Environment).
if [ "${BENCH_OPENBLAS_NATIVE:-0}" = 1 ]; then
    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi
blas_core=$(OPENBLAS_VERBOSE=2 ./dltrain --version 2>&1 | sed -n 's/^Core: //p' | head -n 1)

mkdir -p "$OUT" || die "cannot create $OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# helper COMMAND ARGS...: timestamps, parsing, the table (bench_helper.py).
helper() { "$PY" "$HERE/bench_helper.py" "$@"; }

TIMEFMT='%M %e %U %S %x %R' # peak RSS KiB, wall s, user s, sys s, exit status, minor page faults

# pin T: the taskset prefix that keeps a run on T cores (empty if impossible).
pin() {
    command -v taskset >/dev/null 2>&1 || return 0
    cpus=$(helper cpus "$1")
    [ -n "$cpus" ] && echo "taskset -c $cpus"
}

# show_failure LOG: the end of a failed run's log on stderr.
show_failure() { sed 's/^/    | /' "$1" | tail -n 20 >&2; }

run_dltrain() { # model batch threads
    m=$1 b=$2 t=$3 tag=$1-dltrain-b$2-t$3-r$rep
    rundir=$OUT/runs/$tag
    rm -rf "$rundir"
    mkdir -p "$OUT/runs"
    # The CNN example decays its learning rate; the peers use a constant
    # 1e-3, so dltrain does too here. Default verbosity: with stderr not a
    # terminal, dltrain prints "Epoch k/E" when an epoch starts and Keras's
    # verbose=2 line when it ends; --json puts one JSON line per epoch on
    # stdout as it ends. Both go through one pipe to the timestamping reader.
    # shellcheck disable=SC2046
    /usr/bin/time -f "$TIMEFMT" -o "$OUT/$tag.time" $(pin "$t") ./dltrain fit \
        "configs/examples/fashion_mnist_$m.yaml" \
        --set fit.batch_size="$b" --set fit.epochs="$EPOCHS" --threads "$t" \
        --set compile.optimizer.learning_rate=0.001 \
        --run-dir "$rundir" --json 2>&1 | helper stamp >"$OUT/$tag.log"
    r=$(helper dltrain "$m" "$OUT/$tag.log" "$OUT/$tag.time" "$b" "$t" "$EPOCHS")
    echo "$r" >>"$RESULTS"
    rm -rf "$rundir"
    case "$r" in *'"error"'*)
        show_failure "$OUT/$tag.log"
        die "dltrain failed ($m, batch $b, threads $t); log: $OUT/$tag.log" ;;
    esac
}

# run_python FRAMEWORK PYTHON "SCRIPT [ARGS]" MODEL BATCH THREADS [VAR=value...]
# (SCRIPT and its extra arguments are split on spaces).
run_python() {
    fw=$1 py=$2 script=$3 m=$4 b=$5 t=$6
    shift 6
    tag=$m-$fw-b$b-t$t-r$rep
    # shellcheck disable=SC2046,SC2086
    env "$@" /usr/bin/time -f "$TIMEFMT" -o "$OUT/$tag.time" $(pin "$t") \
        "$py" $script --model "$m" --batch "$b" --epochs "$EPOCHS" --threads "$t" \
        >"$OUT/$tag.out" 2>"$OUT/$tag.log"
    r=$(helper python "$fw" "$m" "$OUT/$tag.out" "$OUT/$tag.time" "$b" "$t")
    echo "$r" >>"$RESULTS"
    case "$r" in *'"error"'*)
        show_failure "$OUT/$tag.log"
        note "$fw run failed ($m, batch $b, threads $t); log: $OUT/$tag.log"
        return 1 ;;
    esac
}

# ---- Keras: a virtual environment with keras + jax[cpu], else tensorflow-cpu
KERAS_BACKEND_NAME=
KERAS_WHY=
keras_probe() {
    [ -x "$VENV/bin/python" ] || return 1
    for be in jax tensorflow; do
        if KERAS_BACKEND=$be "$VENV/bin/python" -c "import keras, $be" >/dev/null 2>&1; then
            KERAS_BACKEND_NAME=$be
            return 0
        fi
    done
    return 1
}
pip_install() {
    timeout 1200 "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@" >>"$ilog" 2>&1
}
keras_setup() {
    if [ "$KERAS" = 0 ]; then KERAS_WHY="left out: BENCH_KERAS=0"; return 1; fi
    keras_probe && return 0
    ilog=$OUT/keras-install.log
    note "setting up Keras in $VENV (pip: keras + jax[cpu]; a one-time install, log $ilog)"
    : >"$ilog"
    # (re)make the environment unless its python runs and has pip
    if ! "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
        made=0
        for p in python3 "$PY"; do
            command -v "$p" >/dev/null 2>&1 || continue
            rm -rf "$VENV"
            if "$p" -m venv "$VENV" >>"$ilog" 2>&1; then made=1; break; fi
        done
        if [ "$made" -eq 0 ]; then
            KERAS_WHY="python3 -m venv failed (apt-get install python3-venv?), see $ilog"
            return 1
        fi
    fi
    if pip_install keras 'jax[cpu]' && keras_probe; then return 0; fi
    note "keras + jax[cpu] did not install; trying keras + tensorflow-cpu"
    if pip_install keras tensorflow-cpu && keras_probe; then return 0; fi
    KERAS_WHY="pip install of keras with jax[cpu] or tensorflow-cpu failed: $(grep -E 'ERROR|error' "$ilog" | tail -n 1 | cut -c1-120)"
    return 1
}
keras_setup || note "Keras: not available ($KERAS_WHY)"

# run_model MODEL: all runs of one model. Repeats go round all its settings,
# so that a busy spell of the machine is spread over settings rather than
# spoiling one.
run_model() {
    m=$1
    EPOCHS=$(setting "$m" EPOCHS) repeat=$(setting "$m" REPEAT)
    batches=$(setting "$m" BATCHES) threads=$(setting "$m" THREADS)
    cl=0
    [ "$m" = cnn ] && cl=$(setting cnn CHANNELS_LAST)
    note "$m: $EPOCHS epochs per run, $repeat run(s) of each setting; batch {$batches} x threads {$threads}; logs in $OUT"
    rep=1
    while [ "$rep" -le "$repeat" ]; do
        for b in $batches; do
            for t in $threads; do
                if [ -z "$(helper cpus "$t")" ]; then
                    [ "$rep" -eq 1 ] && note "skipping threads=$t: only $(nproc) CPUs available"
                    continue
                fi
                note "$m, run $rep/$repeat, batch $b, threads $t: dltrain, PyTorch$([ "$cl" = 1 ] && echo ' (NCHW, channels_last)')${KERAS_BACKEND_NAME:+, Keras ($KERAS_BACKEND_NAME)}"
                run_dltrain "$m" "$b" "$t"
                # shellcheck disable=SC2086
                run_python pytorch "$PY" "$HERE/torch_fit.py" "$m" "$b" "$t" $TORCH_ENV ||
                    die "PyTorch run failed"
                if [ "$cl" = 1 ]; then
                    # shellcheck disable=SC2086
                    run_python pytorch-cl "$PY" "$HERE/torch_fit.py --channels-last" "$m" "$b" "$t" $TORCH_ENV ||
                        die "PyTorch channels_last run failed"
                fi
                if [ -n "$KERAS_BACKEND_NAME" ]; then
                    run_python keras "$VENV/bin/python" "$HERE/keras_fit.py" "$m" "$b" "$t" \
                        KERAS_BACKEND="$KERAS_BACKEND_NAME" || true
                fi
            done
        done
        rep=$((rep + 1))
    done
}

# ---- the runs ---------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
torch_v=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)
keras_v=
[ -n "$KERAS_BACKEND_NAME" ] && keras_v=$(KERAS_BACKEND=$KERAS_BACKEND_NAME "$VENV/bin/python" -c \
    "import keras, $KERAS_BACKEND_NAME as b; print('keras', keras.__version__, '+ $KERAS_BACKEND_NAME', b.__version__)" 2>/dev/null)
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
case "$load_before" in [1-9]* | 0.[5-9]*)
    note "warning: the machine is busy (load average $load_before): timings will be noisy, the 2-thread ones most" ;;
esac
start=$(date +%s)
for m in $MODELS; do run_model "$m"; done
elapsed=$(($(date +%s) - start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

{
    echo "## dltrain vs PyTorch vs Keras: Fashion-MNIST ($(echo "$MODELS" | tr 'a-z ' 'A-Z/'))"
    echo
    echo "- machine: ${cpu:-?}, $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- $(./dltrain --version 2>/dev/null); PyTorch $torch_v (/usr/bin/python3)${keras_v:+; $keras_v}"
    echo "- load average (1, 5, 15 min) before the runs: ${load_before:-?}; after: ${load_after:-?}"
    [ -n "$TORCH_ENV" ] && echo "- PyTorch runs' extra environment (BENCH_TORCH_ENV): $TORCH_ENV"
    echo "- OpenBLAS kernels: ${blas_core:-?} (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}); the system OpenBLAS does dltrain's matrix products, convolutions' included, and PyTorch's Linear layers; PyTorch's convolutions run in oneDNN, which picks its own kernels"
    for m in $MODELS; do
        echo "- $m: $(setting "$m" EPOCHS) epochs per run, $(setting "$m" REPEAT) run(s) (processes) of each setting, interleaved"
    done
    echo "- s/epoch = mean of epochs 2..E (training pass + validation) of a run;" \
        "epoch 1 s shown apart (Keras: includes XLA compilation); peak RSS = max RSS of the whole process;" \
        "CPU % = (user+sys)/wall of the whole process; each run pinned to T cores with taskset;" \
        "with several runs a cell is their median, s/epoch also shows the fastest–slowest run"
    echo
    helper table "$RESULTS" "$KERAS_WHY"
    echo
    echo "(bench wall time ${elapsed}s; per-run logs and results.jsonl in $OUT; see tests/bench/README.md)"
} >"$OUT/results.md"
cat "$OUT/results.md"

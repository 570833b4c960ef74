#!/bin/sh
# bench_mlp.sh: `make bench`. Trains configs/examples/fashion_mnist_mlp.yaml
# (Fashion-MNIST MLP 784-256-128-10, Adam 1e-3) in dltrain, in PyTorch
# (Debian's python3-torch) and in Keras 3 (JAX or TensorFlow backend from
# PyPI, in a virtual environment) for batch 32 and 256 and 1 and 2 threads,
# and prints seconds per epoch, test accuracy and peak RSS of each as a
# markdown table. A benchmark, not a test: it passes no judgement.
# What is measured and how: tests/bench/README.md.
#
# Environment:
#   BENCH_EPOCHS=3          epochs per run (s/epoch is the mean of epochs 2..E)
#   BENCH_REPEAT=3          runs of each setting (median and range shown)
#   BENCH_BATCHES="32 256"  BENCH_THREADS="1 2"
#   BENCH_KERAS=1           0: leave Keras out
#   BENCH_VENV=tests/.venv/bench   Keras's virtual environment (made if missing)
#   BENCH_OUT=build/bench   logs, per-run results (results.jsonl), results.md
#   BENCH_OPENBLAS_NATIVE=1 unset OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for the runs
#
# usage: sh tests/bench/bench_mlp.sh   (from the repository root; ./dltrain built)
set -u
cd "$(dirname "$0")/../.." || exit 1

EPOCHS=${BENCH_EPOCHS:-3}
REPEAT=${BENCH_REPEAT:-3}
BATCHES=${BENCH_BATCHES:-32 256}
THREADS=${BENCH_THREADS:-1 2}
KERAS=${BENCH_KERAS:-1}
VENV=${BENCH_VENV:-tests/.venv/bench}
OUT=${BENCH_OUT:-build/bench}
PY=/usr/bin/python3 # Debian's python, the one python3-torch installs into
CONFIG=configs/examples/fashion_mnist_mlp.yaml
DATA=/usr/share/datasets/fashion-mnist
HERE=tests/bench

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }

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
# dltrain's epoch 1 is timed from its "Epoch 1/E" line, printed only when E > 1.
case "$EPOCHS" in '' | *[!0-9]* | 0 | 1) die "BENCH_EPOCHS must be an integer >= 2, got '$EPOCHS'" ;; esac
case "$REPEAT" in '' | *[!0-9]* | 0) die "BENCH_REPEAT must be a positive integer, got '$REPEAT'" ;; esac
[ -x ./dltrain ] || die "./dltrain is not built: run 'make bench' (or 'make' first)"
[ -f "$CONFIG" ] || die "$CONFIG is missing"
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

# ---- helpers (Python: timestamps, parsing JSON, the table) -----------------
# helper COMMAND ARGS...: one Python program, written out once (not fed on
# stdin: `helper stamp` reads the runs' output there).
HELPER_PY=$OUT/helper.py
cat >"$HELPER_PY" <<'PYEOF'
import json, os, sys, time

cmd, args = sys.argv[1], sys.argv[2:]

def time_file(path):
    """GNU time's '-f %M %e %U %S %x' line: the last line of the file."""
    try:
        with open(path) as f:
            last = f.read().split("\n")
            last = [l for l in last if l.strip()][-1].split()
        kib, wall, user, sys_, status = last[:5]
        return {"max_rss_kib": int(kib), "wall_s": float(wall),
                "cpu_pct": 100.0 * (float(user) + float(sys_)) / max(float(wall), 1e-9),
                "exit": int(status)}
    except Exception as e:
        return {"exit": -1, "time_error": str(e)}

if cmd == "stamp":
    # Prefix each line of stdin with the wall-clock time it arrived at.
    inp = sys.stdin.buffer
    while True:
        line = inp.readline()
        if not line:
            break
        sys.stdout.write("%.6f %s" % (time.time(), line.decode("utf-8", "replace")))
        sys.stdout.flush()

elif cmd == "cpus":
    # The first T CPUs this process may run on, for taskset -c.
    t = int(args[0])
    cpus = sorted(os.sched_getaffinity(0))
    print(",".join(map(str, cpus[:t])) if t <= len(cpus) else "")

elif cmd == "dltrain":
    # log (timestamped stdout+stderr), time file, batch, threads, epochs
    log, tfile, batch, threads, epochs = args
    starts, ends, final = {}, {}, None
    for raw in open(log, encoding="utf-8", errors="replace"):
        ts, _, line = raw.rstrip("\n").partition(" ")
        ts = float(ts)
        if line.startswith("Epoch ") and "/" in line:
            starts[int(line.split()[1].split("/")[0])] = ts
        elif line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if "epoch" in obj and "status" not in obj:
                ends[obj["epoch"]] = ts
            elif "test" in obj:
                final = obj
    r = {"framework": "dltrain", "batch": int(batch), "threads": int(threads),
         "epochs": int(epochs)}
    r.update(time_file(tfile))
    secs = []
    for k in sorted(ends):
        start = starts.get(k, ends.get(k - 1))
        if start is not None:
            secs.append(ends[k] - start)
    r["epoch_seconds"] = secs
    if final is None or len(secs) != int(epochs) or r.get("exit") != 0:
        r["error"] = "dltrain run failed or printed no final 'test' line (exit %s)" % r.get("exit")
    else:
        r["test_accuracy"] = final["test"]["accuracy"]
        r["first_epoch_s"] = secs[0]
        r["rest_mean_s"] = sum(secs[1:]) / len(secs[1:]) if len(secs) > 1 else None
    print(json.dumps(r))

elif cmd == "python":
    # framework, stdout file (result JSON as its last line), time file, batch, threads
    fw, outfile, tfile, batch, threads = args
    r = None
    try:
        lines = [l for l in open(outfile) if l.strip().startswith("{")]
        r = json.loads(lines[-1])
    except Exception:
        r = None
    t = time_file(tfile)
    if r is None or t.get("exit") != 0:
        r = {"framework": fw, "batch": int(batch), "threads": int(threads),
             "error": "run failed (exit %s)" % t.get("exit")}
    r["self_max_rss_kib"] = r.pop("max_rss_kib", None)
    r.update(t)
    print(json.dumps(r))

elif cmd == "table":
    results_path, keras_note, epochs = args
    rows = [json.loads(l) for l in open(results_path) if l.strip()]
    names = {"dltrain": "dltrain", "pytorch": "PyTorch", "keras": "Keras"}

    def per_epoch(r):
        return r.get("rest_mean_s") if r.get("rest_mean_s") is not None else r.get("first_epoch_s")

    def median(vals):
        vals = sorted(v for v in vals if v is not None)
        if not vals:
            return None
        n = len(vals)
        return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2

    def f(v, fmt):
        return "–" if v is None else fmt % v

    # one summary per (framework, batch, threads), in the order first run
    groups, order = {}, []
    for r in rows:
        key = (r["framework"], r["batch"], r["threads"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    summary = {}
    for key in order:
        ok = [r for r in groups[key] if "error" not in r]
        if not ok:
            summary[key] = {"error": groups[key][0]["error"]}
            continue
        pe = [per_epoch(r) for r in ok]
        summary[key] = {
            "s": median(pe), "lo": min(pe), "hi": max(pe), "n": len(ok),
            "failed": len(groups[key]) - len(ok),
            "e1": median(r.get("first_epoch_s") for r in ok),
            "acc": median(r.get("test_accuracy") for r in ok),
            "rss": median(r.get("max_rss_kib") for r in ok),
            "cpu": median(r.get("cpu_pct") for r in ok)}

    out = []
    out.append("| framework | batch | threads | s/epoch | epoch 1 s | test acc (after %s epochs) | peak RSS MiB | CPU %% |" % epochs)
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in order:
        fw, b, t = key
        m = summary[key]
        name = names.get(fw, fw)
        if "error" in m:
            out.append("| %s | %d | %d | %s | | | | |" % (name, b, t, m["error"]))
            continue
        s_txt = f(m["s"], "%.3f")
        if m["n"] > 1:
            s_txt += " (%.3f–%.3f)" % (m["lo"], m["hi"])
        if m["failed"]:
            s_txt += " [%d run(s) failed]" % m["failed"]
        out.append("| %s | %d | %d | %s | %s | %s | %s | %s |" % (
            name, b, t, s_txt, f(m["e1"], "%.3f"), f(m["acc"], "%.4f"),
            f(m["rss"] and m["rss"] / 1024, "%.0f"), f(m["cpu"], "%.0f")))
    if keras_note:
        out.append("| Keras: not available (%s) | | | | | | | |" % keras_note)
    out.append("")
    out.append("| batch | threads | PyTorch s/epoch ÷ dltrain s/epoch | Keras s/epoch ÷ dltrain s/epoch | dltrain RSS ÷ PyTorch RSS |")
    out.append("|---:|---:|---:|---:|---:|")

    def ratio(a, c):
        return "–" if a is None or not c else "%.2f" % (a / c)
    for key in order:
        fw, b, t = key
        if fw != "dltrain" or "error" in summary[key]:
            continue
        d = summary[key]
        p = summary.get(("pytorch", b, t), {})
        k = summary.get(("keras", b, t), {})
        out.append("| %d | %d | %s | %s | %s |" % (
            b, t, ratio(p.get("s"), d["s"]), ratio(k.get("s"), d["s"]), ratio(d["rss"], p.get("rss"))))
    print("\n".join(out))
PYEOF
helper() { "$PY" "$HELPER_PY" "$@"; }

TIMEFMT='%M %e %U %S %x'

# pin T: the taskset prefix that keeps a run on T cores (empty if impossible).
pin() {
    command -v taskset >/dev/null 2>&1 || return 0
    cpus=$(helper cpus "$1")
    [ -n "$cpus" ] && echo "taskset -c $cpus"
}

run_dltrain() { # batch threads
    b=$1 t=$2 tag=dltrain-b$1-t$2-r$rep
    rundir=$OUT/runs/$tag
    rm -rf "$rundir"
    mkdir -p "$OUT/runs"
    # The example decays its learning rate; the peers use a constant 1e-3,
    # so dltrain does too here. Default verbosity: with stderr not a terminal, dltrain prints "Epoch k/E"
    # when an epoch starts and Keras's verbose=2 line when it ends; --json puts
    # one JSON line per epoch on stdout as it ends. Both go through one pipe to
    # the timestamping reader.
    # shellcheck disable=SC2046
    /usr/bin/time -f "$TIMEFMT" -o "$OUT/$tag.time" $(pin "$t") ./dltrain fit "$CONFIG" \
        --set fit.batch_size="$b" --set fit.epochs="$EPOCHS" --threads "$t" \
        --set compile.optimizer.learning_rate=0.001 \
        --run-dir "$rundir" --json 2>&1 | helper stamp >"$OUT/$tag.log"
    r=$(helper dltrain "$OUT/$tag.log" "$OUT/$tag.time" "$b" "$t" "$EPOCHS")
    echo "$r" >>"$RESULTS"
    rm -rf "$rundir"
    case "$r" in *'"error"'*)
        sed 's/^/    | /' "$OUT/$tag.log" | tail -n 20 >&2
        die "dltrain failed (batch $b, threads $t); log: $OUT/$tag.log" ;;
    esac
}

run_python() { # framework python script batch threads [env...]
    fw=$1 py=$2 script=$3 b=$4 t=$5
    shift 5
    tag=$fw-b$b-t$t-r$rep
    # shellcheck disable=SC2046
    env "$@" /usr/bin/time -f "$TIMEFMT" -o "$OUT/$tag.time" $(pin "$t") \
        "$py" "$script" --batch "$b" --epochs "$EPOCHS" --threads "$t" \
        >"$OUT/$tag.out" 2>"$OUT/$tag.log"
    r=$(helper python "$fw" "$OUT/$tag.out" "$OUT/$tag.time" "$b" "$t")
    echo "$r" >>"$RESULTS"
    case "$r" in *'"error"'*)
        sed 's/^/    | /' "$OUT/$tag.log" | tail -n 20 >&2
        return 1 ;;
    esac
    return 0
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

# ---- the runs ---------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
torch_v=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)
keras_v=
[ -n "$KERAS_BACKEND_NAME" ] && keras_v=$(KERAS_BACKEND=$KERAS_BACKEND_NAME "$VENV/bin/python" -c \
    "import keras, $KERAS_BACKEND_NAME as b; print('keras', keras.__version__, '+ $KERAS_BACKEND_NAME', b.__version__)" 2>/dev/null)
note "$EPOCHS epochs per run, $REPEAT run(s) of each setting; batch {$BATCHES} x threads {$THREADS}; logs in $OUT"
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
case "$load_before" in [1-9]* | 0.[5-9]*)
    note "warning: the machine is busy (load average $load_before): timings will be noisy, the 2-thread ones most" ;;
esac
start=$(date +%s)
# Repeats go round all settings, so that a busy spell of the machine is spread
# over settings rather than spoiling one.
rep=1
while [ "$rep" -le "$REPEAT" ]; do
    for b in $BATCHES; do
        for t in $THREADS; do
            if [ -z "$(helper cpus "$t")" ]; then
                [ "$rep" -eq 1 ] && note "skipping threads=$t: only $(nproc) CPUs available"
                continue
            fi
            note "run $rep/$REPEAT, batch $b, threads $t: dltrain, PyTorch${KERAS_BACKEND_NAME:+, Keras ($KERAS_BACKEND_NAME)}"
            run_dltrain "$b" "$t"
            run_python pytorch "$PY" "$HERE/torch_mlp.py" "$b" "$t" ||
                die "PyTorch run failed (batch $b, threads $t); log: $OUT/pytorch-b$b-t$t-r$rep.log"
            if [ -n "$KERAS_BACKEND_NAME" ]; then
                run_python keras "$VENV/bin/python" "$HERE/keras_mlp.py" "$b" "$t" \
                    KERAS_BACKEND="$KERAS_BACKEND_NAME" ||
                    note "Keras run failed (batch $b, threads $t); log: $OUT/keras-b$b-t$t-r$rep.log"
            fi
        done
    done
    rep=$((rep + 1))
done
elapsed=$(($(date +%s) - start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

{
    echo "## dltrain vs PyTorch vs Keras: Fashion-MNIST MLP (784-256-128-10, Adam 1e-3)"
    echo
    echo "- machine: ${cpu:-?}, $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- $(./dltrain --version 2>/dev/null); PyTorch $torch_v (/usr/bin/python3)${keras_v:+; $keras_v}"
    echo "- load average (1, 5, 15 min) before the runs: ${load_before:-?}; after: ${load_after:-?}"
    echo "- OpenBLAS kernels: ${blas_core:-?} (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; dltrain and PyTorch share the system OpenBLAS)"
    echo "- $EPOCHS epochs per run, $REPEAT run(s) (processes) of each setting, interleaved;" \
        "s/epoch = mean of epochs 2..$EPOCHS (training pass + validation) of a run;" \
        "epoch 1 s shown apart (Keras: includes XLA compilation); peak RSS = max RSS of the whole process;" \
        "CPU % = (user+sys)/wall of the whole process; each run pinned to T cores with taskset"
    [ "$REPEAT" -gt 1 ] && echo "- each cell: the median over the runs; s/epoch also shows the fastest–slowest run"
    echo
    helper table "$RESULTS" "$KERAS_WHY" "$EPOCHS"
    echo
    echo "(bench wall time ${elapsed}s; per-run logs and results.jsonl in $OUT; see tests/bench/README.md)"
} >"$OUT/results.md"
cat "$OUT/results.md"

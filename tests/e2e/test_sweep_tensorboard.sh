#!/bin/sh
# Interop: TensorBoard's own loading (tests/e2e/tb_read.py in a virtual
# environment with the `tensorboard` package) of a sweep directory. The
# HParams experiment that dltrain sweep writes at the root lists the swept
# hyperparameters with their domains (the grid's values, the random range,
# the choices) and the metric columns; the HParams table has a row per
# trial with its hyperparameter values and its metrics as the run logged
# them.
. tests/e2e/lib.sh
if ! venv_setup tensorboard; then
    bad "cannot create the Python environment (python3 -m venv, pip install tensorboard)"
    finish
    exit 1
fi
TB_READ=$ROOT/tests/e2e/tb_read.py
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1
cat >tb.yaml <<YAML
seed: 3
runs_dir: $WORK/runs
data:
  train: {format: idx, images: blobs_train-images.idx.gz, labels: blobs_train-labels.idx.gz}
  validation_split: 0.2
  rescale: 0.00392156862745098
model:
  input_shape: [8, 8]
  layers:
    - Flatten
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 3
  batch_size: 16
YAML

run_dl 0 sweep tb.yaml --grid 'compile.optimizer.learning_rate=[0.1, 0.01]' \
    --grid 'model.layers[1].Dense.units=[4, 16]' --jobs 2 --sweep-dir grid -q
run_dl 0 sweep tb.yaml --random 'compile.optimizer.learning_rate=loguniform(1e-4, 1e-1)' \
    --random 'model.layers[1].Dense.units=choice(4, 8, 16)' --trials 3 --seed 5 \
    --sweep-dir random -q
for dir in grid random; do
    "$PY" "$TB_READ" $dir >$dir.tb.json 2>$dir.tb.err
    check "tensorboard loads the $dir sweep" test -s $dir.tb.json
    sed 's/^/    tb_read: /' $dir.tb.err | tail -n 5
done

# check.py SWEEP_DIR TB_JSON LR_DOMAIN UNITS_DOMAIN
cat >check.py <<'PY'
import json, os, sys
sweep, tb = sys.argv[1], json.load(open(sys.argv[2]))
want_lr, want_units = json.loads(sys.argv[3]), json.loads(sys.argv[4])
LR, UNITS = "compile.optimizer.learning_rate", "model.layers[1].Dense.units"
problems = []

def expect(cond, what):
    if not cond:
        problems.append(what)

experiment = tb["runs"]["."]["hparams"]["_hparams_/experiment"]
domains = {h["name"]: h["domain"] for h in experiment["hparams"]}
expect(domains.get(LR) == want_lr, f"lr domain {domains.get(LR)}")
expect(domains.get(UNITS) == want_units, f"units domain {domains.get(UNITS)}")
expect(domains.get("compile.optimizer") == ["Adam"], f"optimizer domain {domains}")
metrics = {(m["group"], m["tag"]) for m in experiment["metrics"]}
for m in (("train", "epoch_loss"), ("validation", "epoch_loss"), ("validation", "epoch_accuracy")):
    expect(m in metrics, f"metric column {m} missing: {metrics}")

table = tb["hparams_table"]
expect(LR in table["hparam_columns"] and UNITS in table["hparam_columns"], f"columns {table['hparam_columns']}")
manifest = json.load(open(os.path.join(sweep, "sweep.json")))
groups = {g["name"]: g for g in table["session_groups"]}
expect(len(groups) == len(manifest["trials"]), f"{len(groups)} rows for {len(manifest['trials'])} trials")
for trial in manifest["trials"]:
    row = groups.get(trial["name"])
    if not row:
        problems.append(f"no row for {trial['name']}")
        continue
    values = dict(o.split("=", 1) for o in trial["overrides"])
    expect(row["hparams"].get(LR) == float(values[LR]), f"{trial['name']}: lr {row['hparams'].get(LR)}")
    expect(row["hparams"].get(UNITS) == float(values[UNITS]), f"{trial['name']}: units {row['hparams'].get(UNITS)}")
    expect(row["sessions"][0]["status"] == "STATUS_SUCCESS", f"{trial['name']}: {row['sessions']}")
    final = json.loads(open(os.path.join(sweep, trial["name"], "fit.jsonl")).read().splitlines()[-1])
    got = row["metrics"].get("validation/epoch_loss")
    expect(got is not None and abs(got - final["last"]["val_loss"]) <= 1e-6,
           f"{trial['name']}: validation/epoch_loss {got} vs {final['last']['val_loss']}")
    expect("validation/epoch_accuracy" in row["metrics"], f"{trial['name']}: metrics {row['metrics']}")
print("\n".join(problems) if problems else "ok")
PY
"$PY" check.py grid grid.tb.json '[0.1, 0.01]' '[4.0, 16.0]' >grid.check 2>&1
check "grid: the HParams table lists every trial" grep -q "^ok$" grid.check
grep -qx ok grid.check || head -n 20 grid.check
"$PY" check.py random random.tb.json '{"max": 0.1, "min": 0.0001}' '[4.0, 8.0, 16.0]' \
    >random.check 2>&1
check "random: the HParams table lists every trial" grep -q "^ok$" random.check
grep -qx ok random.check || head -n 20 random.check

# a resumed sweep keeps the one experiment at its root
rm -r grid/t002-*
run_dl 0 sweep --resume grid -q
check "resume: one event file at the root" test "$(ls grid/events.out.tfevents.* | wc -l)" -eq 1
"$PY" "$TB_READ" grid >resumed.tb.json 2>resumed.tb.err
"$PY" check.py grid resumed.tb.json '[0.1, 0.01]' '[4.0, 16.0]' >resumed.check 2>&1
check "resume: the table still lists every trial once" grep -q "^ok$" resumed.check
grep -qx ok resumed.check || head -n 20 resumed.check
finish

#!/bin/sh
# Interop: TensorBoard's own event loading (the `tensorboard` package from
# PyPI, via tests/e2e/tb_read.py) reads what dltrain writes: scalars for
# every epoch with the values --json printed, batch scalars, histograms,
# images, the config text, the Keras graph and the HParams table of a 2-run
# sweep; then the same after a run is killed with SIGKILL mid-epoch.
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
runs_dir: $WORK/sweep
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
  epochs: 4
  batch_size: 16
  callbacks:
    - TensorBoard: {histogram_freq: 1, write_images: true, update_freq: 5}
YAML
for lr in 0.01 0.001; do
    run_dl 0 fit tb.yaml -q --json --set compile.optimizer.learning_rate=$lr --run-name lr$lr
    cp "$WORK/out" "lr$lr.json"
done
"$PY" "$TB_READ" sweep >tb.json 2>tb.err
check "tensorboard loads the sweep" test -s tb.json
"$PY" - tb.json lr0.01.json lr0.001.json >check.out 2>&1 <<'PY'
import json, sys
tb = json.load(open(sys.argv[1]))
runs, problems = tb["runs"], []

def expect(cond, what):
    if not cond:
        problems.append(what)

for path in sys.argv[2:]:
    name = path[:-5]
    lines = [json.loads(l) for l in open(path)]
    epochs, final = lines[:-1], lines[-1]
    train, val = runs[name + "/train"], runs[name + "/validation"]
    for key, run, tag in (("loss", train, "epoch_loss"), ("accuracy", train, "epoch_accuracy"),
                          ("val_loss", val, "epoch_loss"), ("val_accuracy", val, "epoch_accuracy")):
        points = run["scalars"].get(tag, [])
        expect([p[0] for p in points] == list(range(len(epochs))), f"{name} {tag} steps {points}")
        for (step, value), e in zip(points, epochs):
            expect(abs(value - e[key]) <= 1e-6 * max(1, abs(e[key])), f"{name} {tag}@{step}: {value} vs {e[key]}")
    expect("epoch_learning_rate" in train["scalars"], f"{name}: no epoch_learning_rate")
    batch = train["scalars"].get("batch_loss", [])
    expect(len(batch) == 4 * 30 // 5 and batch[0][0] == 5, f"{name}: batch_loss points {len(batch)}")
    expect("evaluation_loss_vs_iterations" in val["scalars"], f"{name}: no evaluation_loss_vs_iterations")
    expect(val["scalars"]["evaluation_loss_vs_iterations"][-1][0] == 4 * 30, f"{name}: iterations step")
    hist = train.get("histograms", {})
    for tag in ("dense/kernel/histogram", "dense/bias/histogram", "dense_1/kernel/histogram"):
        expect(tag in hist and hist[tag]["steps"] == [0, 1, 2, 3], f"{name}: histogram {tag}")
    expect(hist.get("dense/kernel/histogram", {}).get("counts", [0])[0] == 64 * 16, f"{name}: histogram counts")
    images = train.get("images", {})
    expect("dense/kernel/image" in images, f"{name}: no weight image")
    graph = train.get("graph_keras_model", {}).get("keras", {})
    expect(any(n.endswith("dense_1") for n in graph.get("nodes", [])), f"{name}: graph {graph}")
    text = runs[name].get("text", {}).get("config", [[0, ""]])[0][1]
    expect("units: 16" in text, f"{name}: config text")
    start = runs[name]["hparams"]["_hparams_/session_start_info"]["hparams"]
    expect(start["compile.optimizer.learning_rate"] == float(name[2:]), f"{name}: hparam lr {start}")
    expect(runs[name]["hparams"]["_hparams_/session_end_info"]["status"] == "STATUS_SUCCESS", f"{name}: status")
    group = [g for g in tb["hparams_table"]["session_groups"] if g["name"] == name]
    expect(len(group) == 1, f"{name}: hparams table row")
    if group:
        got = group[0]["metrics"]["validation/epoch_loss"]
        expect(abs(got - final["last"]["val_loss"]) <= 1e-6, f"{name}: table val_loss {got}")
        expect(group[0]["hparams"]["model.layers[1].Dense.units"] == 16, f"{name}: units hparam")
expect(len(tb["hparams_table"]["session_groups"]) == 2, "two sessions in the table")
print("\n".join(problems) if problems else "ok")
PY
check "tensorboard content matches the run" grep -q "^ok$" check.out
cat check.out | head -20

# SIGKILL mid-epoch: the files still load, up to the last complete record
python3 "$ROOT/tests/e2e/gen_data.py" "$WORK" big
sed -e 's/blobs_train-/blobs_big-/g' -e 's/units: 16/units: 512/' -e 's/epochs: 4/epochs: 1000/' \
    -e 's/update_freq: 5/update_freq: 20/' tb.yaml >long.yaml
"$DLTRAIN" fit long.yaml -q --json --run-name killed >killed.out 2>killed.err &
pid=$!
for i in $(seq 1 200); do
    [ "$(wc -l <killed.out)" -ge 2 ] && break
    sleep 0.1
done
sleep 1.3
kill -9 $pid
wait $pid 2>/dev/null
done_epochs=$(wc -l <killed.out)
check "killed after 2+ epochs ($done_epochs)" test "$done_epochs" -ge 2
"$PY" "$TB_READ" sweep/killed >killed.json 2>killed.tb.err
check "tensorboard loads the killed run" test -s killed.json
"$PY" - killed.json "$done_epochs" >killed.check 2>&1 <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
epochs = int(sys.argv[2])
loss = runs["train"]["scalars"]["epoch_loss"]
# An epoch's --json line comes out before the end-of-epoch callbacks run
# (TensorBoard writes the epoch there): a kill in between leaves that one
# epoch out of the event file.
assert len(loss) >= epochs - 1, (len(loss), epochs)
assert [p[0] for p in loss] == list(range(len(loss)))
assert len(runs["train"]["scalars"]["batch_loss"]) >= 1
assert "_hparams_/session_start_info" in runs["."]["hparams"]
print("ok", len(loss), "epochs,", len(runs["train"]["scalars"]["batch_loss"]), "batch points")
PY
check "the killed run's scalars load" grep -q "^ok" killed.check
cat killed.check
finish

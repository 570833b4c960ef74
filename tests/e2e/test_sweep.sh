#!/bin/sh
# dltrain sweep on data the test generates: a 2x2 grid run two at a time
# (trial directories, sweep.csv, leaderboard order, JSON), a seeded random
# search (same seed, same trials), the config's sweep: section, a trial that
# fails on purpose while the others complete, --resume after a trial's
# results are removed and after SIGINT (finished trials untouched), and bad
# sweep specs (exit 2, the place named, nothing created).
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1

cat >blobs.yaml <<YAML
name: blobs
seed: 3
runs_dir: $WORK/runs
data:
  train: {format: csv, path: blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
  test: {format: csv, path: blobs_test.csv, label: species, features: [f1, f2, f3, f4]}
  validation_split: 0.2
model:
  input_shape: [4]
  layers:
    - Dense: {units: 8, activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 4
  batch_size: 32
YAML

# py SCRIPT ARGS...: a Python check that prints "ok" or what is wrong
py() { python3 -c "$@" >py.out 2>&1; grep -q '^ok$' py.out || sed 's/^/    py: /' py.out | head -n 10; grep -q '^ok$' py.out; }

# ---- a 2x2 grid, two trials at a time ----------------------------------------
LR='compile.optimizer.learning_rate=[0.1, 0.01]'
UNITS='model.layers[0].Dense.units=[4, 16]'
run_dl 0 sweep blobs.yaml --grid "$LR" --grid "$UNITS" --jobs 2 --json
S=runs/sweeps/blobs
check "sweep directory" test -f $S/sweep.json
for t in t001-learning_rate=0.1_units=4 t002-learning_rate=0.1_units=16 \
    t003-learning_rate=0.01_units=4 t004-learning_rate=0.01_units=16; do
    check "trial $t has a model" test -s "$S/$t/model.safetensors"
    check "trial $t has fit.jsonl" grep -q '"status":"completed"' "$S/$t/fit.jsonl"
done
check "4 trial directories" test "$(ls -d $S/t0* | wc -l)" -eq 4
check "sweep.csv: header + 4 rows" test "$(wc -l <$S/sweep.csv)" -eq 5
check "two at a time, one thread each" grep -q "2 at a time with" "$WORK/err"
check "leaderboard on stderr" grep -q "^rank  trial  overrides" "$WORK/err"
check "leaderboard rows" test "$(grep -cE '^ +[1-4]  t00[1-4] ' "$WORK/err")" -eq 4
cp "$WORK/out" grid.json
check "csv ranked by val_loss" py '
import csv
rows = list(csv.DictReader(open("runs/sweeps/blobs/sweep.csv")))
losses = [float(r["best_val_loss"]) for r in rows]
assert [r["rank"] for r in rows] == ["1", "2", "3", "4"], rows
assert losses == sorted(losses), losses
assert all(r["status"] == "completed" and r["exit_code"] == "0" for r in rows)
assert sorted(r["model.layers[0].Dense.units"] for r in rows) == ["16", "16", "4", "4"]
assert all(float(r["test_accuracy"]) > 0.5 for r in rows)
print("ok")'
check "json: a line per trial, then the summary" py '
import json
lines = [json.loads(l) for l in open("grid.json")]
trials, summary = lines[:-1], lines[-1]
assert len(trials) == 4 and [t["rank"] for t in trials] == [1, 2, 3, 4]
assert all(t["status"] == "completed" and t["epochs"] == 4 for t in trials)
vals = [t["best_value"] for t in trials]
assert vals == sorted(vals) and vals[0] == summary["best_value"]
assert trials[0]["best"]["val_loss"] == vals[0]
assert trials[0]["overrides"]["compile.optimizer.learning_rate"] in (0.1, 0.01)
assert summary["status"] == "completed" and summary["completed"] == 4, summary
assert summary["monitor"] == "val_loss" and summary["mode"] == "min"
assert summary["best_model"].endswith("/model.safetensors")
print("ok")'
run_dl 0 sweep blobs.yaml --grid "$LR" --set fit.epochs=1 -q
check "a second sweep gets blobs_1" test -f runs/sweeps/blobs_1/sweep.csv

# ---- a seeded random search -------------------------------------------------------
random_sweep() { # DIR SEED
    run_dl 0 sweep blobs.yaml --random 'compile.optimizer.learning_rate=loguniform(1e-4, 1e-1)' \
        --random 'model.layers[0].Dense.units=choice(4, 8, 16)' --trials 3 --seed "$2" \
        --set fit.epochs=2 --sweep-dir "$1" -q
}
trial_names() { python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(open(sys.argv[1]))["trials"]))' "$1/sweep.json"; }
random_sweep r1 11
random_sweep r2 11
random_sweep r3 12
check "random: 3 trials" test "$(ls -d r1/t00* | wc -l)" -eq 3
check "same seed, same trials" test "$(trial_names r1)" = "$(trial_names r2)"
check "other seed, other trials" test "$(trial_names r1)" != "$(trial_names r3)"
check "random values in range" py '
import json
for t in json.load(open("r1/sweep.json"))["trials"]:
    lr, units = (o.split("=", 1)[1] for o in t["overrides"])
    assert 1e-4 <= float(lr) <= 1e-1 and units in ("4", "8", "16"), t
print("ok")'

# ---- the config's sweep: section (fit ignores it) ----------------------------------
cp blobs.yaml section.yaml
cat >>section.yaml <<'YAML'
sweep:
  grid:
    fit.batch_size: [16, 64]
  random:
    compile.optimizer.learning_rate: "uniform(0.005, 0.05)"
  trials: 2
  jobs: 2
  monitor: val_accuracy
YAML
run_dl 0 fit section.yaml -q --run-dir fitted
check "fit ignores the sweep: section" test -s fitted/model.safetensors
sweeps_before=$(ls runs/sweeps 2>/dev/null | wc -l)
run_dl 0 check section.yaml
check "check: the section's 4 trials checked" grep -q "^sweep: 4 trials, each one's config" "$WORK/err"
check "check creates no sweep directory" test "$(ls runs/sweeps 2>/dev/null | wc -l)" -eq "$sweeps_before"
run_dl 0 sweep section.yaml --set fit.epochs=2 --sweep-dir sec --json
check "section: 2 grid points x 2 draws" test "$(ls -d sec/t00* | wc -l)" -eq 4
check "section: its monitor, maximised" py '
import json
summary = json.loads(open("'"$WORK"'/out").read().splitlines()[-1])
assert summary["monitor"] == "val_accuracy" and summary["mode"] == "max", summary
print("ok")'

# ---- a trial that fails on purpose ------------------------------------------------
run_dl 0 sweep blobs.yaml --grid 'data.train.path=[blobs_train.csv, missing.csv]' --sweep-dir f1
check "failure: reported on stderr" grep -q "failed (exit 1)" "$WORK/err"
check "failure: recorded, the other trial completed" py '
import csv
rows = list(csv.DictReader(open("f1/sweep.csv")))
assert [r["status"] for r in rows] == ["completed", "failed"], rows
assert rows[1]["exit_code"] == "1" and "missing.csv" in rows[1]["error"], rows[1]
print("ok")'
check "failure: the good trial has its model" test -s f1/t001-path=blobs_train.csv/model.safetensors
run_dl 1 sweep blobs.yaml --grid 'data.train.path=[missing.csv, gone.csv]' --sweep-dir f2 --json
out_has '"status":"failed"'

# ---- --resume after a trial's results are removed -------------------------------
for t in t001 t002 t004; do cp $S/$t-*/model.safetensors $t.before; done
stamps() { for t in t001 t002 t004; do stat -c %Y $S/$t-*/model.safetensors; done; }
before=$(stamps)
rm -r $S/t003-learning_rate=0.01_units=4
sleep 1
run_dl 0 sweep --resume $S --json
check "resume: only the missing trial ran" grep -q "3 of 4 trials done, 1 to run" "$WORK/err"
check "resume: one trial line" test "$(grep -c '^sweep: \[' "$WORK/err")" -eq 1
check "resume: the missing trial has its model again" test -s $S/t003-learning_rate=0.01_units=4/model.safetensors
for t in t001 t002 t004; do check "resume: $t untouched" cmp -s $t.before $S/$t-*/model.safetensors; done
check "resume: model times unchanged" test "$before" = "$(stamps)"
check "resume: csv has 4 rows" test "$(wc -l <$S/sweep.csv)" -eq 5
run_dl 0 sweep --resume $S -q
check "resume of a finished sweep runs nothing" test "$before" = "$(stamps)"

# ---- SIGINT: stop, record, continue with --resume --------------------------------
python3 "$ROOT/tests/e2e/gen_data.py" "$WORK" big
cat >big.yaml <<YAML
seed: 4
data:
  train: {format: idx, images: blobs_big-images.idx.gz, labels: blobs_big-labels.idx.gz}
  validation_split: 0.1
  rescale: 0.00392156862745098
model:
  input_shape: [8, 8]
  layers:
    - Flatten
    - Dense: {units: 64, activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
fit:
  epochs: 1
YAML
"$DLTRAIN" sweep big.yaml --grid 'fit.epochs=[1, 60, 2]' --sweep-dir i1 >int.out 2>int.err &
pid=$!
for i in $(seq 1 600); do [ -s i1/t002-epochs=60/fit.jsonl ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
check "SIGINT: exit 130 (got $?)" test $? -eq 130
check "SIGINT: says how to continue" grep -q "dltrain sweep --resume" int.err
check "SIGINT: statuses recorded" py '
import json
trials = json.load(open("i1/sweep.json"))["trials"]
assert [t["status"] for t in trials] == ["completed", "interrupted", "pending"], trials
print("ok")'
cp i1/t001-epochs=1/model.safetensors t001.int
run_dl 0 sweep --resume i1
check "SIGINT resume: two trials left" grep -q "1 of 3 trials done, 2 to run" "$WORK/err"
check "SIGINT resume: the first trial untouched" cmp -s t001.int i1/t001-epochs=1/model.safetensors
check "SIGINT resume: the interrupted trial finished all its epochs" \
    test "$(grep -c '"epoch":' i1/t002-epochs=60/fit.jsonl)" -eq 60
check "SIGINT resume: the last trial ran" test -s i1/t003-epochs=2/model.safetensors

# ---- bad sweep specs: exit 2, the place named, no sweep directory -----------------
bad_spec() { # MESSAGE ARGS...
    msg=$1
    shift
    run_dl 2 sweep "$@"
    err_has "$msg"
}
rm -rf runs/sweeps
bad_spec "unknown distribution 'logunifrm'; did you mean 'loguniform'?" blobs.yaml \
    --random 'compile.optimizer.learning_rate=logunifrm(1e-4, 1e-1)'
bad_spec "expected a non-empty YAML list" blobs.yaml --grid 'model.layers[0].Dense.units=[]'
bad_spec '--grid model.layers[0].Dense.units=[8, ten]: model.layers[0].Dense.units: expected a positive integer, got "ten"' \
    blobs.yaml --grid 'model.layers[0].Dense.units=[8, ten]'
bad_spec "int(0, 3): model.layers[0].Dense.units: expected a positive integer" \
    blobs.yaml --random 'model.layers[0].Dense.units=int(0, 3)'
bad_spec "low must be below high" blobs.yaml --random 'compile.optimizer.learning_rate=uniform(0.1, 0.01)'
bad_spec "loguniform() needs low > 0" blobs.yaml --random 'compile.optimizer.learning_rate=loguniform(0, 1)'
bad_spec "unknown key; did you mean 'learning_rate'?" blobs.yaml --grid 'compile.optimizer.learnin_rate=[1]'
bad_spec "nothing to sweep" blobs.yaml
bad_spec "the sweep has no random dimension" blobs.yaml --grid "$LR" --trials 3
bad_spec "'val_acc' is not a metric" blobs.yaml --grid "$LR" --monitor val_acc
bad_spec "--jobs expects an integer" blobs.yaml --grid "$LR" --jobs 0
bad_spec "unknown option" blobs.yaml --grid "$LR" --frobnicate 1
bad_spec "takes only --jobs" --resume $S --grid "$LR"
bad_spec "already holds a sweep" blobs.yaml --grid "$LR" --sweep-dir i1
bad_spec "is it a directory dltrain sweep wrote?" --resume "$WORK"
# a broken sweep: section stops `dltrain check` the same way
bad_section() { # MESSAGE
    bad_spec "$1" b.yaml
    run_dl 2 check b.yaml
    err_has "$1"
}
cp section.yaml b.yaml
sed -i 's/  trials: 2/  trials: two/' b.yaml
bad_section 'b.yaml:25:11: sweep.trials: expected an integer in [1, 10000], got "two"'
sed -e 's/uniform(0.005/unifrm(0.005/' section.yaml >b.yaml
bad_section "b.yaml:24:38: sweep.random.compile.optimizer.learning_rate: unknown distribution 'unifrm'"
sed -e 's/\[16, 64\]/[16, sixty]/' section.yaml >b.yaml
bad_section 'b.yaml:22:21: sweep.grid.fit.batch_size: fit.batch_size: expected a positive integer, got "sixty"'
sed -e 's/  jobs: 2/  jbos: 2/' section.yaml >b.yaml
bad_section "b.yaml:26:3: sweep.jbos: unknown key; did you mean 'jobs'?"
check "bad specs leave no sweep directory" test ! -e runs/sweeps
finish

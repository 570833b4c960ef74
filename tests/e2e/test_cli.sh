#!/bin/sh
# End to end on data the test generates: fit (IDX and CSV, classification
# and regression), evaluate, predict, summary, check, help; JSON output,
# run directories, callbacks, determinism and exit codes.
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1

cat >idx.yaml <<YAML
name: blobs
seed: 3
runs_dir: $WORK/runs
data:
  train: {format: idx, images: blobs_train-images.idx.gz, labels: blobs_train-labels.idx.gz}
  test: {format: idx, images: blobs_test-images.idx.gz, labels: blobs_test-labels.idx.gz}
  validation_split: 0.2
  rescale: 0.00392156862745098
  class_names: [top, middle, bottom]
model:
  input_shape: [8, 8]
  layers:
    - Flatten
    - Dense: {units: 16, activation: relu, kernel_regularizer: {class_name: L2, l2: 0.001}}
    - Dropout: {rate: 0.2}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy, {class_name: SparseTopKCategoricalAccuracy, k: 2}]
fit:
  epochs: 5
  batch_size: 16
  callbacks:
    - ModelCheckpoint: {filepath: "ckpt/e{epoch:02d}-{val_loss:.3f}.safetensors"}
    - CSVLogger: {filename: history.csv}
YAML

run_dl 0 fit idx.yaml --json -q
check "run dir" test -d runs/blobs
check "resolved config written" grep -q "kernel_initializer: glorot_uniform" runs/blobs/config.yaml
check "model written" test -s runs/blobs/model.safetensors
check "5 epoch lines + final" test "$(wc -l <"$WORK/out")" -eq 6
check "json final line" grep -q '"status":"completed"' "$WORK/out"
acc=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test"]["accuracy"])')
check "blobs test accuracy $acc > 0.9" python3 -c "import sys; sys.exit(0 if $acc > 0.9 else 1)"
check "checkpoints per epoch" test "$(ls runs/blobs/ckpt | wc -l)" -eq 5
check "csv logger header" grep -q "^epoch,accuracy,loss,sparse_top_k_categorical_accuracy,val_accuracy,val_loss" runs/blobs/history.csv
check "csv logger rows" test "$(wc -l <runs/blobs/history.csv)" -eq 6

run_dl 0 evaluate runs/blobs/model.safetensors --json -q
eacc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$WORK/out")
check "evaluate = fit's test accuracy ($acc / $eacc)" test "$acc" = "$eacc"

# same seed, same threads: bit-identical model; a second run gets blobs_1
run_dl 0 fit idx.yaml -q --threads 1
run_dl 0 fit idx.yaml -q --threads 1
check "second run dir" test -d runs/blobs_1
check "third run dir" test -d runs/blobs_2
check "bit-identical runs" cmp -s runs/blobs_1/model.safetensors runs/blobs_2/model.safetensors
run_dl 0 fit idx.yaml -q --threads 1 --seed 4 --run-name other
check "other seed differs" sh -c '! cmp -s runs/blobs_1/model.safetensors runs/other/model.safetensors'
run_dl 2 fit idx.yaml -q --run-dir runs/blobs
err_has "already holds a model"

# predict: IDX in, CSV with class names out
run_dl 0 predict runs/blobs/model.safetensors blobs_test-images.idx.gz --output pred.csv
check "predict header" grep -q '^"top","middle","bottom",class$' pred.csv
check "predict rows" test "$(wc -l <pred.csv)" -eq 201
correct=$(python3 - <<'PY'
import gzip
labels = gzip.open("blobs_test-labels.idx.gz").read()[8:]
names = ["top", "middle", "bottom"]
rows = open("pred.csv").read().splitlines()[1:]
print(sum(r.split(",")[-1].strip('"') == names[l] for r, l in zip(rows, labels)))
PY
)
check "predicted classes mostly right ($correct/200)" test "$correct" -gt 180

# CSV classification with validation from a separate file, text column skipped
cat >csv.yaml <<YAML
seed: 5
runs_dir: $WORK/runs
data:
  train: {format: csv, path: blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
  validation: {format: csv, path: blobs_test.csv, label: species, features: [f1, f2, f3, f4]}
model:
  input_shape: [4]
  layers:
    - Dense: {units: 16, activation: tanh}
    - Dense: {units: 3}
compile:
  optimizer: {class_name: SGD, learning_rate: 0.1, momentum: 0.9}
  loss: {class_name: SparseCategoricalCrossentropy, from_logits: true}
  metrics: [accuracy]
fit:
  epochs: 10
  batch_size: 32
  callbacks:
    - EarlyStopping: {monitor: val_accuracy, patience: 2, restore_best_weights: true, verbose: 1}
    - ReduceLROnPlateau: {patience: 1, verbose: 1}
YAML
run_dl 0 fit csv.yaml --json
check "csv run named after the file" test -d runs/csv
vacc=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["best"]["val_accuracy"])')
check "csv val accuracy $vacc > 0.9" python3 -c "import sys; sys.exit(0 if $vacc > 0.9 else 1)"
check "progress lines on stderr" grep -q "/step - accuracy: " "$WORK/err"
check "epoch header" grep -q "^Epoch 1/10$" "$WORK/err"

# regression on CSV
cat >reg.yaml <<YAML
seed: 6
runs_dir: $WORK/runs
data:
  train: {format: csv, path: linear_train.csv, label: y}
  test: {format: csv, path: linear_test.csv, label: y}
model:
  input_shape: [3]
  layers:
    - Dense: {units: 1}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.05}
  loss: mse
  metrics: [mae]
fit:
  epochs: 30
YAML
run_dl 0 fit reg.yaml --json -q
mae=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test"]["mae"])')
check "regression test mae $mae < 0.1" python3 -c "import sys; sys.exit(0 if $mae < 0.1 else 1)"
run_dl 0 predict runs/reg/model.safetensors linear_test.csv
check "regression predictions" test "$(wc -l <"$WORK/out")" -eq 201
out_has "prediction_0"

# summary and check
run_dl 0 summary idx.yaml
out_has 'Model: "sequential"'
out_has "dense (Dense)"
out_has "Total params: 1,091 (4.26 KB)"
run_dl 0 summary runs/blobs/model.safetensors
out_has "dense_1 (Dense)"
run_dl 0 check idx.yaml --set fit.epochs=2
out_has "epochs: 2"
run_dl 0 --help
out_has "dltrain fit CONFIG"
run_dl 0 help fit
out_has "--run-name"
run_dl 0 --version
out_has "dltrain "
run_dl 2 frobnicate
run_dl 2 evaluate
run_dl 1 evaluate nothing.safetensors
err_has "nothing.safetensors"
run_dl 1 fit idx.yaml -q --device gpu
err_has "gpu"
finish

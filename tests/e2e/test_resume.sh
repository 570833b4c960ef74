#!/bin/sh
# Nothing lost: 2 epochs + resume for 2 more = 4 epochs straight, byte for
# byte (model and history), also after SIGINT mid-epoch; a second SIGINT
# exits at once; SIGKILL leaves the previous checkpoint loadable; a full
# disk (a file-size limit) is a clear error that keeps the old checkpoint;
# a non-finite loss stops with the batch and the layer named.
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
python3 tests/e2e/gen_data.py "$WORK" big
cd "$WORK" || exit 1
cat >res.yaml <<YAML
seed: 11
runs_dir: $WORK/runs
data:
  train: {format: idx, images: blobs_big-images.idx.gz, labels: blobs_big-labels.idx.gz}
  validation_split: 0.2
  rescale: 0.00392156862745098
model:
  input_shape: [8, 8]
  layers:
    - Flatten
    - Dense: {units: 1024, activation: relu}
    - Dropout: {rate: 0.3}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Nadam, learning_rate: {class_name: CosineDecay, initial_learning_rate: 0.01, decay_steps: 5000}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy, auc]
fit:
  epochs: 4
  batch_size: 32
  callbacks:
    - EarlyStopping: {monitor: val_loss, patience: 5, restore_best_weights: true}
    - ReduceLROnPlateau: {patience: 1}
    - CSVLogger: {}
    - ModelCheckpoint: {save_best_only: true, filepath: best.safetensors}
YAML
sed 's/    - ReduceLROnPlateau: {patience: 1}//' res.yaml >res.tmp && mv res.tmp res.yaml

run_dl 0 fit res.yaml -q --json --threads 1 --run-name straight
cp "$WORK/out" straight.json
run_dl 0 fit res.yaml -q --json --threads 1 --run-name split --set fit.epochs=2
check "checkpoint written" test -s runs/split/checkpoints/last.safetensors
run_dl 0 fit res.yaml -q --json --threads 1 --resume runs/split
check "2 + 2 epochs = 4 straight: model" cmp -s runs/straight/model.safetensors runs/split/model.safetensors
check "2 + 2 epochs = 4 straight: history" cmp -s runs/straight/history.csv runs/split/history.csv
check "2 + 2 epochs = 4 straight: best checkpoint" cmp -s runs/straight/best.safetensors runs/split/best.safetensors
check "resumed run prints epochs 3 and 4" test "$(grep -c '"epoch":' "$WORK/out")" -eq 2
run_dl 2 fit res.yaml -q --resume runs/split --set fit.epochs=3
err_has "raise fit.epochs"
run_dl 2 fit res.yaml -q --resume runs/nothing
err_has "runs/nothing"

# SIGINT mid-epoch: a checkpoint at that batch, exit 130, then an exact resume
"$DLTRAIN" fit res.yaml -q --json --threads 1 --run-name intr >intr.out 2>intr.err &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
check "SIGINT exits 130" test $? -eq 130
check "SIGINT says where the checkpoint is" grep -q "checkpoint saved to .*runs/intr/checkpoints/last.safetensors" intr.err
check "stopped mid-run" test "$(grep -c '"epoch":' intr.out)" -lt 4
run_dl 0 fit res.yaml -q --json --threads 1 --resume runs/intr
check "interrupted + resumed = straight: model" cmp -s runs/straight/model.safetensors runs/intr/model.safetensors
check "interrupted + resumed = straight: history" cmp -s runs/straight/history.csv runs/intr/history.csv

# a second SIGINT ends at once (the first asks for a batch to finish first)
"$DLTRAIN" fit res.yaml -q --threads 1 --run-name twice --set fit.epochs=50 >/dev/null 2>&1 &
pid=$!
sleep 1
kill -INT $pid
kill -INT $pid
wait $pid
check "second SIGINT exits 130" test $? -eq 130

# SIGKILL: the last checkpoint stays loadable and resumable
"$DLTRAIN" fit res.yaml -q --json --threads 1 --run-name killed --set fit.epochs=50 >killed.out 2>&1 &
pid=$!
for i in $(seq 1 100); do
    [ "$(grep -c '"epoch":' killed.out)" -ge 2 ] && break
    sleep 0.1
done
sleep 0.3
kill -KILL $pid
wait $pid 2>/dev/null
run_dl 0 evaluate runs/killed/checkpoints/last.safetensors -q --set 'data.test={format: idx, images: blobs_test-images.idx.gz, labels: blobs_test-labels.idx.gz}'
out_has "accuracy:"
run_dl 0 fit res.yaml -q --json --threads 1 --resume runs/killed --set fit.epochs=4
check "the killed run resumes to the end" test -s runs/killed/model.safetensors

# a full disk: the checkpoint write fails with the path named, the old one stays
run_dl 0 fit res.yaml -q --threads 1 --run-name full --set fit.epochs=1
cp runs/full/checkpoints/last.safetensors saved.safetensors
(ulimit -f 200; "$DLTRAIN" fit res.yaml -q --threads 1 --resume runs/full --set fit.epochs=3 >"$WORK/out" 2>"$WORK/err"; echo $? >rc)
check "full disk exits 1" test "$(cat rc)" -eq 1
err_has "runs/full/"
err_has "File too large"
check "the old checkpoint is untouched" cmp -s saved.safetensors runs/full/checkpoints/last.safetensors
check "no temporary files left" test -z "$(find runs/full -name '*.tmp.*')"
run_dl 0 evaluate runs/full/checkpoints/last.safetensors -q --set 'data.test={format: idx, images: blobs_test-images.idx.gz, labels: blobs_test-labels.idx.gz}'

# an unwritable run directory (a file in the way)
printf 'not a directory' >blocker
run_dl 1 fit res.yaml -q --threads 1 --run-dir blocker/run --set fit.epochs=1
err_has "blocker"

# a learning rate that explodes in the second epoch (steps 1,000-2,000): stop,
# name the batch and the layer, exit 1, keep the last good checkpoint
run_dl 1 fit res.yaml -q --threads 1 --run-name nan --set fit.epochs=5 \
    --set 'compile.optimizer={class_name: SGD, learning_rate: {class_name: ExponentialDecay, initial_learning_rate: 0.01, decay_steps: 100, decay_rate: 16}}'
check "stopped after epoch 1" grep -qE "training stopped at epoch [2-5], batch [0-9]+: the loss is" "$WORK/err"
err_has "the loss is"
err_has "is the first to hold non-finite values"
err_has "the last good checkpoint is"
check "no model saved" test ! -e runs/nan/model.safetensors
run_dl 0 evaluate runs/nan/checkpoints/last.safetensors -q --set 'data.test={format: idx, images: blobs_test-images.idx.gz, labels: blobs_test-labels.idx.gz}'
finish

#!/bin/sh
# Convolutional models through the CLI: `dltrain summary` prints Keras's
# output shapes and parameter counts for the Keras tutorial CNN, a shape
# that does not fit is a config error (exit 2), and a small model with
# every kind of layer here (Conv2D, AveragePooling2D, Conv1D,
# GlobalMaxPooling1D) trains on the generated 8x8 blobs, its saved model
# summarising the same way.
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1

# row_has NAME SHAPE PARAMS: one table row holds the three cells (NAME is
# a regex of the first line of its cell: long ones wrap before the class)
row_has() {
    if grep -qE "│ $1 +│ \\($2\\) +│ +$3 │" "$WORK/out"; then ok; else
        bad "summary lacks the row $1 | ($2) | $3"
        sed 's/^/    stdout: /' "$WORK/out"
    fi
}

cat >cnn.yaml <<YAML
name: cnn
data:
  train: {format: idx, images: unused.idx, labels: unused.idx}
model:
  input_shape: [28, 28, 1]
  layers:
    - Conv2D: {filters: 32, kernel_size: 3}
    - MaxPooling2D
    - Flatten
    - Dense: {units: 10}
compile: {loss: mse}
YAML

run_dl 0 summary cnn.yaml
row_has 'conv2d \(Conv2D\)' 'None, 26, 26, 32' 320
row_has 'max_pooling2d \(MaxPooling2D\)' 'None, 13, 13, 32' 0
row_has 'flatten \(Flatten\)' 'None, 5408' 0
row_has 'dense \(Dense\)' 'None, 10' '54,090'
out_has "Total params: 54,410 (212.54 KB)"

# a flat input cannot feed Conv2D; a 3x3 window does not fit 2x2
run_dl 2 summary cnn.yaml --set 'model.input_shape=[784]'
err_has "model.layers[0] (Conv2D): expected an input of shape (None, height, width, channels), got (None, 784)"
run_dl 2 summary cnn.yaml --set 'model.input_shape=[2, 2, 1]'
err_has "expected height >= 3"
run_dl 2 check cnn.yaml --set 'model.layers[0].Conv2D.strides=2' \
    --set 'model.layers[0].Conv2D.dilation_rate=2'
err_has "strides > 1 is not supported together with dilation_rate > 1"

cat >blobs_cnn.yaml <<YAML
name: blobs_cnn
seed: 3
runs_dir: $WORK/runs
data:
  train: {format: idx, images: blobs_train-images.idx.gz, labels: blobs_train-labels.idx.gz}
  test: {format: idx, images: blobs_test-images.idx.gz, labels: blobs_test-labels.idx.gz}
  validation_split: 0.2
  rescale: 0.00392156862745098
model:
  input_shape: [8, 8, 1]
  layers:
    - Conv2D: {filters: 4, kernel_size: 3, padding: same, activation: relu}
    - AveragePooling2D: {pool_size: 2}
    - Reshape: {target_shape: [16, 4]}
    - Conv1D: {filters: 4, kernel_size: 2, activation: relu}
    - GlobalMaxPooling1D
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.02}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit: {epochs: 5, batch_size: 16}
YAML

run_dl 0 fit blobs_cnn.yaml --json -q
acc=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test"]["accuracy"])')
check "blobs CNN test accuracy $acc > 0.9" python3 -c "import sys; sys.exit(0 if $acc > 0.9 else 1)"
run_dl 0 summary runs/blobs_cnn/model.safetensors
row_has 'conv2d \(Conv2D\)' 'None, 8, 8, 4' 40
row_has 'average_pooling2d' 'None, 4, 4, 4' 0
row_has 'conv1d \(Conv1D\)' 'None, 15, 4' 36
row_has 'global_max_pooling1d' 'None, 4' 0
finish

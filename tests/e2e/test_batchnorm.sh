#!/bin/sh
# End to end with BatchNormalization: fit a small dense model with a
# BatchNormalization layer on the blobs CSV, then `summary` of the saved
# model (the moving statistics are its 2 x 16 non-trainable parameters)
# and `evaluate` (inference mode on the saved moving statistics, which the
# fit moved away from their initial zeros and ones).
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1

cat >bn.yaml <<YAML
seed: 8
runs_dir: $WORK/runs
data:
  train: {format: csv, path: blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
  test: {format: csv, path: blobs_test.csv, label: species, features: [f1, f2, f3, f4]}
model:
  input_shape: [4]
  layers:
    - Dense: {units: 16}
    - BatchNormalization
    - Activation: {activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 5
  batch_size: 32
YAML

run_dl 0 fit bn.yaml --json -q
check "model written" test -s runs/bn/model.safetensors
acc=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test"]["accuracy"])')
check "blobs test accuracy $acc > 0.9" python3 -c "import sys; sys.exit(0 if $acc > 0.9 else 1)"

# Dense 4*16 + 16, BatchNormalization 4*16 (32 non-trainable), Dense 16*3 + 3;
# the table wraps the layer name above its type
run_dl 0 summary runs/bn/model.safetensors
out_has "(BatchNormalization)"
out_has "Total params: 195 (780.00 B)"
out_has "Trainable params: 163 (652.00 B)"
out_has "Non-trainable params: 32 (128.00 B)"

run_dl 0 evaluate runs/bn/model.safetensors --json -q
eacc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$WORK/out")
check "evaluate = fit's test accuracy ($acc / $eacc)" test "$acc" = "$eacc"

# the saved moving statistics: 16 floats each, moved off zeros / ones
moved=$(python3 - runs/bn/model.safetensors <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
def tensor(suffix):
    name = next(k for k in header if k.endswith(suffix))
    begin, end = header[name]["data_offsets"]
    return struct.unpack("<%df" % ((end - begin) // 4), data[8 + n + begin:8 + n + end])
mean, var = tensor("moving_mean"), tensor("moving_variance")
print(len(mean) == 16 and len(var) == 16 and any(m != 0 for m in mean)
      and any(v != 1 for v in var) and all(v > 0 for v in var))
PY
)
check "moving statistics saved and updated ($moved)" test "$moved" = True

finish

#!/bin/sh
# Interop: Python's `safetensors` package (PyPI) opens a model dltrain saved,
# finds the resolved config in its metadata, and a numpy forward pass over
# its weights gives the probabilities `dltrain predict` prints.
. tests/e2e/lib.sh
if ! venv_setup safetensors numpy; then
    bad "cannot create the Python environment (python3 -m venv, pip install safetensors numpy)"
    finish
    exit 1
fi
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1
cat >cfg.yaml <<YAML
seed: 9
data:
  train: {format: csv, path: blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
model:
  input_shape: [4]
  layers:
    - Dense: {units: 8, activation: tanh}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
fit:
  epochs: 3
YAML
run_dl 0 fit cfg.yaml -q --run-dir run
run_dl 0 predict run/model.safetensors blobs_test.csv --output pred.csv
"$PY" - run/model.safetensors blobs_test.csv pred.csv >py.out 2>&1 <<'PY'
import csv, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, data, pred = sys.argv[1:]
weights = load_file(path)
with safe_open(path, "np") as f:
    meta = f.metadata()
assert meta["format"] == "pt", meta
assert "Dense" in meta["dltrain.config"] and "units: 8" in meta["dltrain.config"]
assert sorted(weights) == ["dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel"], sorted(weights)
assert weights["dense/kernel"].shape == (4, 8) and weights["dense/kernel"].dtype == np.float32
rows = list(csv.DictReader(open(data)))
x = np.array([[float(r[k]) for k in ("f1", "f2", "f3", "f4")] for r in rows], np.float32)
h = np.tanh(x @ weights["dense/kernel"] + weights["dense/bias"])
z = h @ weights["dense_1/kernel"] + weights["dense_1/bias"]
p = np.exp(z - z.max(1, keepdims=True))
p /= p.sum(1, keepdims=True)
got = np.array([[float(v) for v in r[:3]] for r in list(csv.reader(open(pred)))[1:]], np.float32)
err = np.abs(got - p).max()
print("max |dltrain - numpy| =", err)
assert err < 1e-5, err
print("ok")
PY
check "safetensors + numpy agree with dltrain predict" grep -q "^ok$" py.out
cat py.out
finish

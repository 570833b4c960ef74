#!/bin/sh
# The accuracy tier: the shipped Fashion-MNIST MLP example reaches Keras-level
# test accuracy (>= 0.88) on the real data, and `dltrain evaluate` on the
# saved model reports the same number.
. tests/e2e/lib.sh
data=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ ! -f "$data" ]; then
    bad "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
    finish
    exit 1
fi
run_dl 0 fit configs/examples/fashion_mnist_mlp.yaml --run-dir "$WORK/mlp" --json -q
cp "$WORK/out" "$WORK/fit.json"
acc=$(tail -n 1 "$WORK/fit.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test"]["accuracy"])')
echo "test accuracy after fit: $acc"
check "test accuracy >= 0.88 (got $acc)" python3 -c "import sys; sys.exit(0 if $acc >= 0.88 else 1)"
check "10 epochs" grep -q '"epochs":10' "$WORK/fit.json"
run_dl 0 evaluate "$WORK/mlp/model.safetensors" --json -q
eval_acc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$WORK/out")
echo "test accuracy from evaluate: $eval_acc"
check "evaluate reports the same accuracy ($acc vs $eval_acc)" test "$acc" = "$eval_acc"
finish

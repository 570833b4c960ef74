#!/bin/sh
# The accuracy tier for convolutions: the shipped Fashion-MNIST CNN example
# (Conv2D 32, MaxPooling2D, Conv2D 64, MaxPooling2D, Flatten, Dense 128,
# Dropout, Dense 10; Adam, batch 64, 10 epochs) reaches test accuracy >= 0.91,
# and `dltrain evaluate` on the saved model reports the same number.
. tests/e2e/lib.sh
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    bad "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
    finish
    exit 1
fi
run_dl 0 fit configs/examples/fashion_mnist_cnn.yaml --run-dir "$WORK/cnn" --json -q
acc=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test"]["accuracy"])')
echo "test accuracy after fit: $acc"
check "test accuracy >= 0.91 (got $acc)" python3 -c "import sys; sys.exit(0 if $acc >= 0.91 else 1)"
run_dl 0 evaluate "$WORK/cnn/model.safetensors" --json -q
eval_acc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$WORK/out")
check "evaluate reports the same accuracy ($acc vs $eval_acc)" test "$acc" = "$eval_acc"
run_dl 0 summary "$WORK/cnn/model.safetensors"
out_has "Total params: 225,034 (879.04 KB)"
finish

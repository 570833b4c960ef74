#!/bin/sh
# The device choice end to end. On every machine: `--device gpu` without a
# usable GPU fails with the reason and exit 1 (no driver, a stub driver, a
# backend file that does not exist) and `--device auto` trains on the CPU
# and says so; where the CUDA backend was built, its library exports one
# symbol, needs cuBLAS and cuDNN's sub-libraries (not the cudnn shim, not a
# shared CUDA runtime) and embeds sm_80, sm_90 and compute_90 code. With a
# GPU: a model trained on the GPU evaluates on the CPU to the same accuracy
# and the reverse (within 1e-3), and the Fashion-MNIST example configs
# train on the GPU when the dataset is installed, their epoch lines printed.
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
BACKEND=$(dirname "$DLTRAIN")/libdltrain_cuda.so
STUB=${CUDA_HOME:-/usr/local/cuda}/lib64/stubs/libcuda.so
FASHION=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
cd "$WORK" || exit 1

cat >blobs.yaml <<YAML
seed: 3
runs_dir: $WORK/runs
data:
  train: {format: idx, images: blobs_train-images.idx.gz, labels: blobs_train-labels.idx.gz}
  test: {format: idx, images: blobs_test-images.idx.gz, labels: blobs_test-labels.idx.gz}
  rescale: 0.00392156862745098
model:
  input_shape: [8, 8, 1]
  layers:
    - Conv2D: {filters: 6, kernel_size: 3, padding: same, activation: relu}
    - BatchNormalization
    - MaxPooling2D
    - Flatten
    - Dropout: {rate: 0.2}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 3
  batch_size: 32
YAML

gpu_present() {
    ls /proc/driver/nvidia/gpus/* >/dev/null 2>&1 || nvidia-smi -L >/dev/null 2>&1
}
# json_value KEY... <output: the value at KEY... in the last JSON line
json_value() {
    python3 -c 'import json, sys
value = json.loads(sys.stdin.readlines()[-1])
for key in sys.argv[1:]:
    value = value[key]
print(value)' "$@"
}
# close A B TOLERANCE: |A - B| <= TOLERANCE
close() { python3 -c "import sys; sys.exit(0 if abs($1 - $2) <= $3 else 1)"; }

# a backend file that does not exist, whatever the machine has
export DLTRAIN_CUDA_BACKEND=$WORK/missing/libdltrain_cuda.so
run_dl 1 fit blobs.yaml -q --device gpu --run-name missing
err_has "dltrain: device: gpu: no CUDA backend: $WORK/missing/libdltrain_cuda.so"
run_dl 0 fit blobs.yaml -q --device auto --run-name missing_auto
err_has "device auto: no CUDA backend: $WORK/missing/libdltrain_cuda.so"
err_has "; training on the CPU"
check "auto fell back and trained" test -s runs/missing_auto/model.safetensors
unset DLTRAIN_CUDA_BACKEND

if [ -f "$BACKEND" ]; then
    exported=$(nm -D --defined-only "$BACKEND" | awk '{print $3}')
    check "the backend exports only its entry point ($exported)" \
        test "$exported" = dl_cuda_backend_create
    readelf -d "$BACKEND" >needed
    for lib in libcublas.so.13 libcudnn_graph.so.9 libcudnn_ops.so.9 libcudnn_cnn.so.9; do
        check "the backend needs $lib" grep -qF "[$lib]" needed
    done
    check "no cudnn shim, no shared CUDA runtime" \
        sh -c '! grep -qE "\[libcudnn\.so|\[libcudart" needed'
    python3 "$ROOT/tests/e2e/fatbin_targets.py" "$BACKEND" >targets
    for target in "elf sm_80" "elf sm_90" "ptx compute_90"; do
        check "the backend embeds $target" grep -qx "$target" targets
    done
    if [ -f "$STUB" ]; then
        mkdir stub && ln -s "$STUB" stub/libcuda.so.1
        LD_LIBRARY_PATH=$WORK/stub "$DLTRAIN" fit blobs.yaml -q --device gpu >out 2>err
        check "stub driver: exit 1" test $? -eq 1
        check "stub driver: named" grep -q "cuInit error 34 (stub driver library" err
    fi
else
    echo "the CUDA backend was not built ($BACKEND): its library checks skipped"
fi

if ! gpu_present; then
    echo "GPU tests: skipped: no NVIDIA GPU here (no /proc/driver/nvidia/gpus, no nvidia-smi)"
    run_dl 1 fit blobs.yaml -q --device gpu --run-name gpu
    err_has "dltrain: device: gpu: "
    check "no run directory for a failed device" test ! -e runs/gpu
    run_dl 0 fit blobs.yaml -q --device auto --run-name auto
    err_has "; training on the CPU"
    check "auto trained on the CPU" test -s runs/auto/model.safetensors
    finish
    exit
fi

# trained on one device, evaluated on the other: the same test accuracy
for pair in gpu:cpu cpu:gpu; do
    train=${pair%:*} evaluate=${pair#*:}
    run_dl 0 fit blobs.yaml --json -q --device "$train" --run-name "$train"
    acc=$(json_value test accuracy <"$WORK/out")
    check "trained on the $train: test accuracy $acc > 0.9" close "$acc" 1 0.1
    run_dl 0 evaluate "runs/$train/model.safetensors" --json -q --set "device=$evaluate"
    eacc=$(json_value accuracy <"$WORK/out")
    check "evaluated on the $evaluate: $eacc, trained on the $train: $acc" \
        close "$eacc" "$acc" 1e-3
done
run_dl 0 fit blobs.yaml -v --device gpu --run-name verbose --set fit.epochs=1
err_has "device gpu: training on "

if [ -f "$FASHION" ]; then
    for name in fashion_mnist_mlp fashion_mnist_cnn; do
        run_dl 0 fit "$ROOT/configs/examples/$name.yaml" --json --device gpu --run-name "$name" \
            --set "runs_dir=$WORK/runs" --set fit.epochs=2
        acc=$(json_value test accuracy <"$WORK/out")
        grep "/step" "$WORK/err" | sed "s|^|$name on the GPU: |"
        check "$name on the GPU: test accuracy $acc > 0.8" close "$acc" 1 0.2
    done
else
    echo "Fashion-MNIST on the GPU: skipped: $FASHION not installed (dataset-fashion-mnist)"
fi
finish

#!/bin/sh
# Broken configs and overrides: each must exit 2, name file:line:column and
# the key path, and leave no run directory behind.
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1

good() {
    cat <<YAML
name: t
seed: 1
runs_dir: $WORK/runs
data:
  train: {format: csv, path: blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
model:
  input_shape: [4]
  layers:
    - Dense: {units: 8, activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 1
YAML
}

# variant SED-SCRIPT: cfg.yaml = the good config edited by sed
variant() { good | sed "$1" >cfg.yaml; }

# expect_bad NAME WHERE KEY: cfg.yaml fails check and fit with exit 2, the message
# names WHERE (file:line:col) and KEY, and no run directory is left
expect_bad() {
    run_dl 2 check cfg.yaml
    err_has "$2"
    err_has "$3"
    run_dl 2 fit cfg.yaml
    check "$1: no run directory" test ! -e "$WORK/runs/t"
}

good >ok.yaml
run_dl 0 check ok.yaml
out_has "kernel_initializer: glorot_uniform"

variant 's/units: 8,/units: ten,/'
expect_bad units-type "cfg.yaml:9:22" "model.layers[0].Dense.units"
err_has 'expected a positive integer, got "ten"'
variant 's/units: 8,/units: 0,/'
expect_bad units-range "cfg.yaml:9:22" "model.layers[0].Dense.units"
variant 's/units: 8,/unit: 8,/'
expect_bad unknown-key "cfg.yaml:9:15" "model.layers[0].Dense.unit"
err_has "did you mean 'units'"
variant 's/- Dense: {units: 8/- Dens: {units: 8/'
expect_bad unknown-layer "cfg.yaml:9:7" "model.layers[0]"
err_has "did you mean 'Dense'"
variant 's/activation: relu/activation: rellu/'
expect_bad activation "cfg.yaml:9:37" "model.layers[0].Dense.activation"
err_has "did you mean 'relu'"
variant 's/optimizer: adam/optimizer: adamm/'
expect_bad optimizer "cfg.yaml:12:14" "compile.optimizer"
variant 's/optimizer: adam/optimizer: {class_name: Adam, learning_rate: -1}/'
expect_bad lr-negative "cfg.yaml:12:48" "compile.optimizer.learning_rate"
variant 's/optimizer: adam/optimizer: {class_name: Adam, beta_1: 1.5}/'
expect_bad beta "cfg.yaml:12:41" "compile.optimizer.beta_1"
variant 's/optimizer: adam/optimizer: {class_name: SGD, clipnorm: 1, clipvalue: 1}/'
expect_bad two-clips "cfg.yaml:12:14" "compile.optimizer"
variant 's/loss: sparse_categorical_crossentropy/loss: sparse_categorical_crossentrop/'
expect_bad loss-typo "cfg.yaml:13:9" "compile.loss"
variant 's/metrics: \[accuracy\]/metrics: [acuracy]/'
expect_bad metric-typo "cfg.yaml:14:13" "compile.metrics[0]"
variant 's/epochs: 1/epochs: "3"/'
expect_bad epochs-quoted "cfg.yaml:16:11" "fit.epochs"
err_has "remove the quotes"
variant 's/epochs: 1/epochs: 1\n  batch_sise: 8/'
expect_bad fit-typo "cfg.yaml:17:3" "fit.batch_sise"
variant 's/^seed: 1/seed: [1]/'
expect_bad seed-list "cfg.yaml:2:7" "seed: expected an integer"
variant 's/^seed: 1/seed: 1\ndevice: tpu/'
expect_bad device "cfg.yaml:3:9" "device: unknown value \"tpu\""
variant 's/input_shape: \[4\]/input_shape: [4, 0]/'
expect_bad input-shape "cfg.yaml:7:20" "model.input_shape"
variant 's/input_shape: \[4\]/input_shape: four/'
expect_bad input-shape-type "cfg.yaml:7:16" "model.input_shape"
variant 's/    - Dense: {units: 3, activation: softmax}/    - Dense: {units: 3, activation: softmax}\n    - Reshape: {target_shape: [2, 2]}/'
expect_bad reshape "cfg.yaml:11:7" "model.layers[2] (Reshape)"
variant 's/    - Dense: {units: 8, activation: relu}/    - Dropout: {rate: 1.5}/'
expect_bad dropout-rate "cfg.yaml:9:23" "model.layers[0].Dropout.rate"
variant 's/units: 3, activation: softmax/units: 1, activation: sigmoid/'
expect_bad loss-fit "cfg.yaml:13:9" "compile.loss"
variant 's/format: csv/format: parquet/'
expect_bad format "cfg.yaml:5:19" "data.train"
good | sed 's/label: species, //' | sed 's/path: blobs_train.csv/paht: blobs_train.csv/' >cfg.yaml
expect_bad csv-key "cfg.yaml:5:24" "data.train.paht"
variant 's/^data:/data:\n  validation_split: 1.0/'
expect_bad split "cfg.yaml:5:21" "data.validation_split"
variant 's/^compile:/compile:\n  loss: mse/'
expect_bad duplicate-key "cfg.yaml:14:3" "duplicate key 'loss'"
variant 's/^fit:/fitt:/'
expect_bad top-typo "cfg.yaml:15:1" "fitt: unknown key"
err_has "did you mean 'fit'"
variant 's/^model:/model: [/'
expect_bad yaml-syntax "cfg.yaml:" "YAML"
variant 's/^  epochs: 1/  epochs: 1\n  callbacks:\n    - EarlyStopping: {patience: -1}/'
expect_bad callback "cfg.yaml:18:33" "fit.callbacks[0].EarlyStopping.patience"
variant 's/    - Dense: {units: 8, activation: relu}/    - Dense: {units: 8, kernel_initializer: glorot_unifrom}/'
expect_bad initializer "cfg.yaml:9:45" "kernel_initializer"
printf 'a: &a [1, 2]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n' >cfg.yaml
expect_bad aliases "cfg.yaml:" "alias"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "["; print "" }' >cfg.yaml
expect_bad deep-nesting "cfg.yaml:" "deep"

# overrides: same checks, the message names the override
good >cfg.yaml
run_dl 2 check cfg.yaml --set model.layers[0].Dense.units=ten
err_has "--set model.layers[0].Dense.units=ten"
err_has "model.layers[0].Dense.units"
run_dl 2 check cfg.yaml --set model.layers[5].Dense.units=3
err_has "index 5"
run_dl 2 check cfg.yaml --set fit.epochz=3
err_has "fit.epochz"
err_has "did you mean 'epochs'"
run_dl 2 check cfg.yaml --set 'compile.optimizer={class_name: Adam, learning_rate: [1]}'
err_has "compile.optimizer.learning_rate"
run_dl 2 check cfg.yaml --set 'model.input_shape=[4'
err_has "--set model.input_shape=[4"
run_dl 2 check cfg.yaml --set noequals
err_has "--set noequals"
run_dl 0 check cfg.yaml --set model.layers[0].Dense.units=16 --set 'fit.epochs=3'
out_has "units: 16"
out_has "epochs: 3"
run_dl 2 check missing.yaml
err_has "missing.yaml"
run_dl 2 fit
run_dl 2 fit cfg.yaml --bogus
err_has "--bogus"
finish

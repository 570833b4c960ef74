#!/bin/sh
# Bad data and model files through the CLI: a clear error naming the file
# and the place, exit 1, and nothing written (no run directory).
. tests/e2e/lib.sh
python3 tests/e2e/gen_data.py "$WORK"
cd "$WORK" || exit 1

# config TRAIN-SOURCE: a small classifier config over the given data source
config() {
    cat >cfg.yaml <<YAML
name: t
seed: 1
runs_dir: $WORK/runs
data:
  train: $1
model:
  input_shape: [4]
  layers:
    - Dense: {units: 3, activation: softmax}
compile:
  loss: sparse_categorical_crossentropy
YAML
}

# fails NAME TEXT...: fit exits 1, stderr has every TEXT, no run directory
fails() {
    name=$1
    shift
    run_dl 1 fit cfg.yaml -q
    for text in "$@"; do err_has "$text"; done
    check "$name: no run directory" test ! -e "$WORK/runs/t"
}

csv_source="{format: csv, path: d.csv, label: species}"
config "$csv_source"
printf 'f1,f2,f3,f4,species\n1,2,3,4,0\n1,2,3,0\n' >d.csv
fails ragged "d.csv:3" "expected 5 fields, got 4"
printf 'f1,f2,f3,f4,species\n1,2,3,4,0\n1,x2,3,4,1\n' >d.csv
fails non-numeric "d.csv:3" "f2" '"x2"'
printf 'f1,f2,f3,f4,species\n1,2,3,4,0\n1,2,3,4,7\n' >d.csv
fails label-range "d.csv:3" "label 7 is outside the model's 3 classes"
printf 'f1,f2,f3,f4,species\n1,2,3,4,0\n1,2,3,4,1.5\n' >d.csv
fails label-fraction "d.csv:3" "1.5"
printf '' >d.csv
fails empty "d.csv" "empty"
printf 'f1,f2,f3,species\n1,2,3,0\n' >d.csv
run_dl 2 fit cfg.yaml -q
err_has "cfg.yaml:5:10: data.train (d.csv): samples have 3 values, but model.input_shape [4] takes 4"
rm -f d.csv
fails missing "d.csv" "No such file"

idx_source="{format: idx, images: i.idx, labels: l.idx}"
config "$idx_source"
sed -i 's/input_shape: \[4\]/input_shape: [8, 8]/; s/    - Dense/    - Flatten\n    - Dense/' cfg.yaml
gzip -dc blobs_train-images.idx.gz >i.idx
gzip -dc blobs_train-labels.idx.gz >l.idx
run_dl 0 check cfg.yaml
head -c 1000 i.idx >short.idx && mv short.idx i.idx
fails truncated "i.idx" "byte"
gzip -dc blobs_train-images.idx.gz >i.idx
printf '\001\002\010\003' | dd of=i.idx conv=notrunc 2>/dev/null
fails magic "i.idx" "magic"
gzip -dc blobs_train-images.idx.gz >i.idx
head -c 500 l.idx >short.idx && mv short.idx l.idx
fails labels-truncated "l.idx"
gzip -dc blobs_test-labels.idx.gz >l.idx
fails count-mismatch "i.idx" "l.idx" "600" "200"
head -c 20000 blobs_train-images.idx.gz >i.idx
gzip -dc blobs_train-labels.idx.gz >l.idx
fails gzip-truncated "i.idx"

# model files: corrupt and hostile
cat >ok.yaml <<YAML
seed: 2
runs_dir: $WORK/runs
data:
  train: {format: csv, path: blobs_train.csv, label: species, features: [f1, f2, f3, f4]}
  test: {format: csv, path: blobs_test.csv, label: species, features: [f1, f2, f3, f4]}
model:
  input_shape: [4]
  layers:
    - Dense: {units: 3, activation: softmax}
compile:
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
YAML
run_dl 0 fit ok.yaml -q --run-dir good
model=good/model.safetensors
run_dl 0 evaluate "$model" -q
# bad_model NAME TEXT: evaluate and summary refuse m.safetensors with TEXT
bad_model() {
    run_dl 1 evaluate m.safetensors -q
    err_has "m.safetensors"
    err_has "$2"
    run_dl 1 summary m.safetensors
}
head -c 7 "$model" >m.safetensors
bad_model tiny "too small"
head -c 100 "$model" >m.safetensors
bad_model truncated "header"
cp "$model" m.safetensors && printf 'x' >>m.safetensors
bad_model trailing "data"
printf '\377\377\377\377\377\377\377\177' | cat - "$model" >m.safetensors
bad_model huge-header "header"
python3 - "$model" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]

def write(path, h, d):
    text = json.dumps(h).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + d)

# every tensor aliasing the same bytes
alias = json.loads(json.dumps(header))
for k, v in alias.items():
    if k != "__metadata__":
        v["data_offsets"] = [0, v["data_offsets"][1] - v["data_offsets"][0]]
write("alias.safetensors", alias, data)
# a tensor with the wrong shape for the config
shape = json.loads(json.dumps(header))
shape["dense/kernel"]["shape"] = [3, 4]
write("shape.safetensors", shape, data)
# no config in the metadata
bare = json.loads(json.dumps(header))
bare["__metadata__"] = {"format": "pt"}
write("bare.safetensors", bare, data)
# a config that is not valid
badcfg = json.loads(json.dumps(header))
badcfg["__metadata__"]["dltrain.config"] = "model: [unclosed"
write("badcfg.safetensors", badcfg, data)
PY
cp alias.safetensors m.safetensors
bad_model alias "offset"
cp shape.safetensors m.safetensors
bad_model shape "dense/kernel"
cp bare.safetensors m.safetensors
bad_model no-config "dltrain.config"
cp badcfg.safetensors m.safetensors
run_dl 2 evaluate m.safetensors -q
err_has "m.safetensors [dltrain.config]:2:1: YAML syntax error"
finish

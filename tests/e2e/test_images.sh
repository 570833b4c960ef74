#!/bin/sh
# End to end on a PNG folder dataset (format: images): 3 classes of 16x16
# patterns (horizontal stripes, vertical stripes, a centred square) with
# noise, written as gray, RGB, palette and RGBA PNGs, some at 24x24 (resized
# on loading); fit with a validation split, summary, and a non-PNG file
# skipped or refused.
. tests/e2e/lib.sh
cd "$WORK" || exit 1

python3 - <<'PY'
import os, random, struct, zlib

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

def write_png(path, size, color_type, rows, palette=b""):
    raw = b"".join(b"\0" + bytes(row) for row in rows)
    head = struct.pack(">IIBBBBB", size, size, 8, color_type, 0, 0, 0)
    body = chunk(b"IHDR", head) + (chunk(b"PLTE", palette) if palette else b"")
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + body)

def lit(pattern, y, x):  # on a 16x16 grid
    if pattern == "hstripes":
        return y // 2 % 2 == 0
    if pattern == "vstripes":
        return x // 2 % 2 == 0
    return 4 <= y < 12 and 4 <= x < 12

rng = random.Random(5)
gray_palette = bytes(v for g in range(256) for v in (g, g, g))
for pattern in ("hstripes", "vstripes", "square"):
    os.makedirs(f"shapes/{pattern}/more")
    for i in range(40):
        size = 24 if i % 5 == 4 else 16
        base = [[200 if lit(pattern, y * 16 // size, x * 16 // size) else 40
                 for x in range(size)] for y in range(size)]
        gray = [[max(0, min(255, int(v + rng.gauss(0, 25)))) for v in row] for row in base]
        kind = i % 4
        if kind == 0:
            rows, color_type = gray, 0
        elif kind == 1:
            rows, color_type = [[v for g in row for v in (g, g, g)] for row in gray], 2
        elif kind == 2:
            rows, color_type = gray, 3
        else:
            alpha = rng.randrange(256)  # dropped on loading, as Keras does
            rows, color_type = [[v for g in row for v in (g, g, g, alpha)] for row in gray], 6
        folder = f"shapes/{pattern}/more" if i % 7 == 0 else f"shapes/{pattern}"
        palette = gray_palette if kind == 2 else b""
        write_png(f"{folder}/{i:02d}.png", size, color_type, rows, palette)
os.makedirs("shapes/.cache")
open("shapes/.cache/ignored.png", "wb").write(b"hidden directories are not classes")
open("shapes/readme.txt", "w").write("files at the top are not classes")
open("shapes/square/notes.jpg", "wb").write(b"\xff\xd8\xff\xe0 not really a photo")
PY

cat >images.yaml <<YAML
name: shapes
seed: 4
runs_dir: $WORK/runs
data:
  train: {format: images, directory: shapes, color_mode: grayscale, image_size: [16, 16],
          on_error: skip}
  validation_split: 0.2
  rescale: 0.00392156862745098
  class_names: [hstripes, square, vstripes]
model:
  input_shape: [16, 16, 1]
  layers:
    - Flatten
    - Dense: {units: 32, activation: relu}
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {class_name: Adam, learning_rate: 0.005}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 5
  batch_size: 16
YAML

run_dl 0 fit images.yaml --json -q
check "json final line" grep -q '"status":"completed"' "$WORK/out"
err_has "shapes/square/notes.jpg: a JPEG image; dltrain reads PNG images only; skipped"
vacc=$(tail -n 1 "$WORK/out" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["last"]["val_accuracy"])')
check "validation accuracy $vacc >= 0.8" python3 -c "import sys; sys.exit(0 if $vacc >= 0.8 else 1)"
check "resolved config keeps the image defaults" grep -q "seed: 1337" runs/shapes/config.yaml

# predict on PNG files: the top classes by name
run_dl 0 predict runs/shapes/model.safetensors shapes/hstripes/01.png shapes/square/02.png \
    shapes/vstripes/03.png
out_has "shapes/hstripes/01.png: hstripes "
out_has "shapes/square/02.png: square "
out_has "shapes/vstripes/03.png: vstripes "
check "three classes per line" test "$(grep -o ',' "$WORK/out" | wc -l)" -eq 6
run_dl 1 predict runs/shapes/model.safetensors shapes/square/02.png shapes/square/notes.jpg
err_has "notes.jpg"

run_dl 1 fit images.yaml -q --set data.train.on_error=error --run-name strict
err_has "shapes/square/notes.jpg: a JPEG image"

run_dl 0 summary images.yaml
out_has 'Model: "sequential"'
out_has "dense_1 (Dense)"
out_has "Total params: 8,323"

finish

#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/ (small valid and
near-valid inputs; the fuzzers mutate them). Standard library only; run
from anywhere: python3 tests/fuzz/seeds.py"""
import gzip, json, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# ---- yaml: the examples without comments, and configs using other kinds ----
def strip_comments(text):
    lines = (line.split(" #")[0].rstrip() for line in text.splitlines())
    return "\n".join(l for l in lines if l and not l.startswith("#")) + "\n"

for name in ("fashion_mnist_mlp", "seattle_weather_csv"):
    with open(os.path.join(ROOT, "configs", "examples", name + ".yaml")) as f:
        put("yaml", name + ".yaml", strip_comments(f.read()))

put("yaml", "cnn_images.yaml", """\
name: cnn
seed: -1
device: cpu
data:
  train: {format: images, directory: shapes, color_mode: rgb, image_size: [16, 16],
          class_names: [a, b], on_error: skip, follow_links: false}
  validation_split: 0.2
  rescale: 0.00392156862745098
model:
  input_shape: [16, 16, 3]
  layers:
    - RandomFlip: {mode: horizontal}
    - RandomRotation: {factor: 0.1}
    - Conv2D: {filters: 4, kernel_size: 3, padding: same, activation: relu}
    - BatchNormalization
    - MaxPooling2D: {pool_size: 2}
    - ZeroPadding2D: {padding: [1, 1]}
    - GlobalAveragePooling2D
    - Dense: {units: 2, activation: softmax, kernel_initializer: he_normal}
compile:
  optimizer: {class_name: SGD, learning_rate: 0.01, momentum: 0.9, nesterov: true}
  loss: {class_name: SparseCategoricalCrossentropy, from_logits: false}
  metrics: [accuracy, {SparseTopKCategoricalAccuracy: {k: 1}}]
fit:
  epochs: 3
  batch_size: 8
  verbose: 2
  callbacks:
    - ReduceLROnPlateau: {monitor: val_loss, factor: 0.5, patience: 1}
    - TerminateOnNaN
""")
put("yaml", "conv1d_anchors.yaml", """\
data:
  train: {format: csv, path: d.csv, label: 0, features: ['1', '2'], header: false,
          delimiter: ';'}
  test: {format: idx, images: i.idx, labels: l.idx}
model:
  input_shape: [8, 1]
  layers:
    - Conv1D: {filters: 2, kernel_size: 3}
    - AveragePooling1D: {pool_size: 2}
    - Flatten
    - Dense: &dense {units: 4, activation: tanh}
    - Dense: *dense
    - Reshape: {target_shape: [2, -1]}
    - LayerNormalization
    - Flatten
    - Dense: {units: 1}
compile:
  optimizer:
    class_name: AdamW
    learning_rate: {class_name: PiecewiseConstantDecay, boundaries: [10, 20],
                    values: [0.1, 0.01, 0.001]}
    clipnorm: 1.0
  loss: huber
  metrics: [mae]
fit: {epochs: 1, shuffle: false}
""")
put("yaml", "bad_key.yaml", "data: {train: {format: idx, images: a}}\nmodel:\n"
    "  input_shape: [4]\n  layers: [{Dense: {unitz: 3}}]\ncompile: {loss: mse}\n")

# ---- set: NUL-separated --set lists for fuzz_set.c's base config ----
put("set", "scalars", "fit.epochs=5\0seed=-1\0name=x\0fit.verbose=auto")
put("set", "kinds", "compile.optimizer={class_name: SGD, momentum: 0.9}\0"
    "compile.loss=mse\0model.layers[2].Dense.units=1\0compile.metrics=[mae]")
put("set", "columns", "data.train.label=1\0data.train.features=[0, 2]\0"
    "data.train.header=false\0model.layers[1]=Flatten")
put("set", "new_keys", "fit.callbacks[0].EarlyStopping.patience=4\0"
    "data.test={format: csv, path: t.csv}\0compile.optimizer.learning_rate=0.5")
put("set", "bad", "model.layers[9].units=1\0fit..epochs=2\0=3\0data.train=[")

# ---- idx: images, optionally "\n--labels--\n" and labels ----
def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

SEP = b"\n--labels--\n"
images = idx(0x08, [3, 2, 2], bytes(range(12)))
labels = idx(0x08, [3], bytes([0, 1, 2]))
put("idx", "ubyte_labels", images + SEP + labels)
put("idx", "ubyte_predict", images)
put("idx", "float_labels", idx(0x0D, [2, 3], struct.pack(">6f", 0, 1.5, -2, 3, 4e3, 5))
    + SEP + idx(0x09, [2], b"\x01\x00"))
put("idx", "short_double", idx(0x0B, [2, 1], b"\x01\x00\xff\xff") + SEP
    + idx(0x0E, [1], struct.pack(">d", 1)))
put("idx", "gzip", gzip.compress(images, mtime=0) + SEP + gzip.compress(labels, mtime=0))
put("idx", "int32_4d", idx(0x0C, [1, 1, 2, 1, 2], struct.pack(">4i", 1, -1, 7, 2**31 - 1)))

# ---- csv (fuzz_csv.c loads each three ways) ----
put("csv", "header", "a,b,y\n1,2,0\n3.5,-4e2,1\n")
put("csv", "no_header", "0,1.5,2\n1,3,4\n\n2,5,6\n")
put("csv", "semicolon", "a;b;c;y\n1;2;3;0\n\"4\";5;6;1\n")
put("csv", "quoted", 'a,"b ""q""",y\n"1","2\n",1\r\n-0,inf,x\n')
put("csv", "ragged", "a,b,y\n1,2\n3,4,5,6\n")

# ---- png: 3 parameter bytes (channels, height, width), then the file ----
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

def png(w, h, bit_depth, color_type, rows, extra=b""):
    head = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + extra
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

gray = [[(x * 37 + y * 11) % 256 for x in range(4)] for y in range(4)]
rgba16 = [[v for x in range(3) for v in (x, 9, 200, 7, 1, 2, 255, 255)] for y in range(2)]
put("png", "gray8_same", bytes([0, 3, 3]) + png(4, 4, 8, 0, gray))
put("png", "rgb_resize", bytes([2, 7, 2]) + png(4, 4, 8, 2, [[v for g in r for v in (g, 255 - g, 9)] for r in gray]))
put("png", "palette_trns", bytes([3, 4, 4]) + png(4, 4, 8, 3, gray,
    chunk(b"PLTE", bytes(v for g in range(256) for v in (g, g, 255 - g))) + chunk(b"tRNS", b"\x00\x80")))
put("png", "rgba16", bytes([1, 1, 2]) + png(3, 2, 16, 6, rgba16))
put("png", "gray1", bytes([1, 8, 8]) + png(8, 2, 1, 0, [[0xA5], [0x3C]]))
put("png", "graya", bytes([3, 2, 9]) + png(2, 2, 8, 4, [[1, 2, 3, 4], [5, 6, 7, 8]]))

# ---- safetensors ----
def safetensors(tensors, meta=None):
    header, data = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data

put("safetensors", "dense", safetensors([
    ("dense/kernel", "F32", [2, 2], struct.pack("<4f", 1, -2, 3.5, 0)),
    ("dense/bias", "F32", [2], struct.pack("<2f", 0.5, -0.5))],
    {"format": "pt", "dltrain.config": "model: {}"}))
put("safetensors", "dtypes", safetensors([
    ("a", "F16", [3], struct.pack("<3H", 0x3C00, 0x8001, 0x7C00)),
    ("b", "BF16", [1, 2], struct.pack("<2H", 0x3F80, 0xFF80)),
    ("c", "F64", [], struct.pack("<d", 2.5)),
    ("d", "I64", [1], struct.pack("<q", -3)),
    ("e", "U8", [2, 1], b"\x07\x08"),
    ("f", "BOOL", [1], b"\x01"),
    ("g", "F32", [0, 5], b"")]))
put("safetensors", "empty", safetensors([], {}))

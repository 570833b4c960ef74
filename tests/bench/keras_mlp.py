"""Keras half of `make bench`: configs/examples/fashion_mnist_mlp.yaml in Keras 3.

Run by the benchmark's virtual environment's python (tests/.venv/bench),
with KERAS_BACKEND set by the driver (jax, else tensorflow). The model and
the fit call are the Keras tutorial's, the reference dltrain follows:
  Flatten, Dense 256 relu, Dense 128 relu, Dense 10 softmax (glorot_uniform
  kernels, zero biases: Keras's defaults), Adam lr 1e-3 (eps 1e-7),
  sparse_categorical_crossentropy, accuracy,
  model.fit(x, y, validation_split=0.1, epochs=E, batch_size=B, verbose=2)
  (validation = the last 10% of train, the rest shuffled every epoch).

Threads: the variables below are set before the backend loads; they are
requests, not guarantees (XLA sizes its own pools; see tests/bench/README.md).
The driver also pins the process to T cores with taskset, which is the
limit that holds.

Each epoch's time is measured by a callback from on_epoch_begin to
on_epoch_end (training pass + validation). The first epoch includes the XLA
compilation of the train and eval steps, so it is reported on its own, and
the mean of the rest separately. Prints one JSON line on stdout.

usage: python keras_mlp.py --batch B --epochs E --threads T
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--batch", type=int, default=32)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--data", default=DATA)
args = p.parse_args()

T = str(args.threads)
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[var] = T
if args.threads == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1").strip()
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import keras  # noqa: E402

backend = keras.backend.backend()
if backend == "tensorflow":
    import tensorflow as tf  # noqa: E402
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:3] != b"\0\0\x08":
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(prefix):
    x = read_idx(os.path.join(args.data, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(args.data, f"{prefix}-labels-idx1-ubyte.gz"))
    x = x.astype(np.float32)
    x /= np.float32(255.0)  # in place: no second float32 copy in the peak RSS
    return x, y.astype(np.int64)


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):  # after the validation pass
        self.seconds.append(time.perf_counter() - self.t0)


def main():
    keras.utils.set_random_seed(args.seed)
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")

    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    # verbose=2 prints one line per epoch to stdout: send it to stderr so that
    # stdout carries only the result line.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        model.fit(x_train, y_train, validation_split=0.1, epochs=args.epochs,
                  batch_size=args.batch, verbose=2, callbacks=[timer])
        test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=args.batch, verbose=0)
    finally:
        sys.stdout = real_stdout
    rest = timer.seconds[1:]
    print(json.dumps({
        "framework": "keras",
        "version": f"keras {keras.__version__}, {backend} {_backend_version(backend)}",
        "batch": args.batch, "threads": args.threads, "epochs": args.epochs,
        "epoch_seconds": timer.seconds,
        "first_epoch_s": timer.seconds[0] if timer.seconds else None,
        "rest_mean_s": sum(rest) / len(rest) if rest else None,
        "test_accuracy": float(test_acc), "test_loss": float(test_loss),
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }), flush=True)


def _backend_version(name):
    try:
        return __import__(name).__version__
    except Exception:  # pragma: no cover - informational only
        return "?"


if __name__ == "__main__":
    main()

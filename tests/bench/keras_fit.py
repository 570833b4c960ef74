"""Keras part of `make bench`: configs/examples/fashion_mnist_{mlp,cnn}.yaml in Keras 3.

Run by the benchmark's virtual environment's python (tests/.venv/bench),
with KERAS_BACKEND set by the driver (jax, else tensorflow). The models and
the fit call are the Keras tutorials', the reference dltrain follows:
  mlp: Flatten, Dense 256 relu, Dense 128 relu, Dense 10 softmax;
  cnn: Conv2D 32 3x3 relu, MaxPooling2D, Conv2D 64 3x3 relu, MaxPooling2D,
       Flatten, Dense 128 relu, Dropout 0.3, Dense 10 softmax (NHWC);
  glorot_uniform kernels, zero biases (Keras's defaults), Adam lr 1e-3
  (eps 1e-7), sparse_categorical_crossentropy, accuracy,
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

usage: python keras_fit.py --model mlp|cnn --batch B --epochs E --threads T
"""
import os
import sys
import time

import bench_common as bc

args = bc.parse_args(__doc__)
bc.set_thread_env(args.threads, ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"))
if args.threads == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1").strip()
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402

backend = keras.backend.backend()
if backend == "tensorflow":
    import tensorflow as tf  # noqa: E402
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):  # after the validation pass
        self.seconds.append(time.perf_counter() - self.t0)


def build(model):
    L = keras.layers
    if model == "mlp":
        return keras.Sequential([
            keras.Input(shape=(28, 28)), L.Flatten(),
            L.Dense(256, activation="relu"),
            L.Dense(128, activation="relu"),
            L.Dense(10, activation="softmax")])
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
        L.Flatten(),
        L.Dense(128, activation="relu"), L.Dropout(0.3),
        L.Dense(10, activation="softmax")])


def data(prefix):
    x, y = bc.load(args, prefix)
    return (x[..., None] if args.model == "cnn" else x), y  # cnn: (N, 28, 28, 1), a view


def main():
    keras.utils.set_random_seed(args.seed)
    x_train, y_train = data("train")
    x_test, y_test = data("t10k")
    model = build(args.model)
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
    try:
        version = f"keras {keras.__version__}, {backend} {__import__(backend).__version__}"
    except Exception:  # informational only
        version = f"keras {keras.__version__}, {backend}"
    bc.print_result(args, "keras", version, timer.seconds, test_loss, test_acc)


if __name__ == "__main__":
    main()

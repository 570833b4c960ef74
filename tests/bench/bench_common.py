"""Shared by torch_fit.py and keras_fit.py (`make bench`): the command line,
the thread variables, Fashion-MNIST, the result line. Imports no framework
and imports numpy only when loading data, so that the thread variables are
set before any BLAS library loads.
"""
import argparse
import gzip
import json
import os
import resource
import sys

DATA = "/usr/share/datasets/fashion-mnist"


def parse_args(doc, add=None):
    """--model mlp|cnn --batch B --epochs E --threads T [--seed --data]; add(p) adds more."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data", default=DATA)
    if add:
        add(p)
    return p.parse_args()


def set_thread_env(threads, extra=()):
    """OpenBLAS, OpenMP and MKL read these when they load (at `import torch`,
    `import numpy`, ...): set before any of those."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") + tuple(extra):
        os.environ[var] = str(threads)


def read_idx(path):
    """An IDX file (gzip, unsigned bytes) as a numpy array of its declared shape."""
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:3] != b"\0\0\x08":
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(args, prefix):
    """Images as float32 (N, 28, 28) in [0, 1], labels as int64."""
    import numpy as np
    x = read_idx(os.path.join(args.data, f"{prefix}-images-idx3-ubyte.gz")).astype(np.float32)
    x /= np.float32(255.0)  # in place: no second float32 copy in the peak RSS
    y = read_idx(os.path.join(args.data, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def print_result(args, framework, version, seconds, test_loss, test_acc, **extra):
    """The one JSON line on stdout that bench.sh reads; seconds: per epoch."""
    rest = seconds[1:]
    print(json.dumps({
        "framework": framework, "version": version, "model": args.model,
        "batch": args.batch, "threads": args.threads, "epochs": args.epochs,
        "epoch_seconds": seconds,
        "first_epoch_s": seconds[0] if seconds else None,
        "rest_mean_s": sum(rest) / len(rest) if rest else None,
        "test_accuracy": float(test_acc), "test_loss": float(test_loss),
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        **extra}), flush=True)

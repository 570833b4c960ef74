#!/usr/bin/python3
"""PyTorch half of `make bench`: configs/examples/fashion_mnist_mlp.yaml in PyTorch.

Same model and hyperparameters as dltrain, with Keras's semantics where
PyTorch's defaults differ:
  - Flatten, Dense 256 relu, Dense 128 relu, Dense 10 softmax;
  - glorot_uniform kernels and zero biases (PyTorch's default is
    kaiming_uniform with fan-in uniform biases);
  - Adam lr 1e-3, betas (0.9, 0.999), eps 1e-7 (Keras's epsilon; PyTorch adds
    eps to sqrt(v_hat), Keras to sqrt(v) with the bias correction folded into
    the step size: at eps = 1e-7 the two differ by far less than the noise
    between seeds, so the difference is left alone);
  - softmax + sparse categorical cross-entropy as CrossEntropyLoss on the
    logits (the same function; Keras clips probabilities to [1e-7, 1 - 1e-7],
    which matters only for confidently wrong samples);
  - pixels / 255, validation = the last 10% of train (not shuffled), the
    training part reshuffled every epoch, the last partial batch kept,
    validation and test evaluated in batches of the same size.

Data is read once with gzip + numpy into float32 tensors before the clock
starts. Each epoch's time is the training pass plus the validation pass
(time.perf_counter around both). Prints one JSON line on stdout.

usage: /usr/bin/python3 torch_mlp.py --batch B --epochs E --threads T
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data", default=DATA)
    return p.parse_args()


args = parse_args()
# OpenBLAS (PyTorch's BLAS on Debian) and OpenMP read these when the library
# loads, i.e. at `import torch`; torch.set_num_threads alone does not reach
# OpenBLAS's own thread pool.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
# PyTorch's OpenMP workers otherwise spin after each parallel region and, with
# T threads on T cores, starve OpenBLAS's own threads during the matrix
# products: 3-20 s/epoch instead of 0.8 at batch 256 on 2 cores. Passive
# waiting is the usual setting for this mix (an explicit value is kept).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def read_idx(path):
    """An IDX file (gzip) as a numpy array of its declared shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(prefix):
    x = read_idx(os.path.join(args.data, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(args.data, f"{prefix}-labels-idx1-ubyte.gz"))
    x = x.reshape(len(x), -1).astype(np.float32)
    x /= np.float32(255.0)  # in place: no second float32 copy in the peak RSS
    x = torch.from_numpy(x)
    return x, torch.from_numpy(y.astype(np.int64))


def glorot_(layer):
    nn.init.xavier_uniform_(layer.weight)  # = Keras glorot_uniform
    nn.init.zeros_(layer.bias)


@torch.no_grad()
def evaluate(model, loss_fn, x, y, batch):
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch])
        yb = y[i:i + batch]
        loss_sum += loss_fn(out, yb).item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
    return loss_sum / len(x), correct / len(x)


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_all, y_all = load("train")
    x_test, y_test = load("t10k")
    n_train = int(np.ceil(len(x_all) * (1 - 0.1)))  # Keras's split point
    x_train, y_train = x_all[:n_train].contiguous(), y_all[:n_train].contiguous()
    x_val, y_val = x_all[n_train:].contiguous(), y_all[n_train:].contiguous()

    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),  # softmax folded into the loss
    )
    for m in model:
        if isinstance(m, nn.Linear):
            glorot_(m)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    B = args.batch
    epochs = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n_train)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for i in range(0, n_train, B):
            idx = perm[i:i + B]
            xb, yb = x_train[idx], y_train[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            # running metrics, as Keras and dltrain keep them
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (out.argmax(1) == yb).sum()
        model.eval()
        val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val, B)
        seconds = time.perf_counter() - t0
        epochs.append({"epoch": epoch, "seconds": seconds,
                       "loss": loss_sum.item() / n_train, "accuracy": correct.item() / n_train,
                       "val_loss": val_loss, "val_accuracy": val_acc})
        print(json.dumps(epochs[-1]), file=sys.stderr, flush=True)

    test_loss, test_acc = evaluate(model, loss_fn, x_test, y_test, B)
    rest = [e["seconds"] for e in epochs[1:]]
    print(json.dumps({
        "framework": "pytorch",
        "version": torch.__version__,
        "batch": B, "threads": args.threads, "epochs": args.epochs,
        "torch_threads": torch.get_num_threads(),
        "epoch_seconds": [e["seconds"] for e in epochs],
        "first_epoch_s": epochs[0]["seconds"] if epochs else None,
        "rest_mean_s": sum(rest) / len(rest) if rest else None,
        "test_accuracy": test_acc, "test_loss": test_loss,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }), flush=True)


if __name__ == "__main__":
    main()

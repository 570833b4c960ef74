#!/usr/bin/python3
"""PyTorch part of `make bench`: configs/examples/fashion_mnist_{mlp,cnn}.yaml in PyTorch.

Same model and hyperparameters as dltrain, with Keras's semantics where
PyTorch's defaults differ:
  - mlp: Flatten, Dense 256 relu, Dense 128 relu, Dense 10 softmax;
    cnn: Conv2D 32 3x3 relu, MaxPooling2D 2x2, Conv2D 64 3x3 relu,
    MaxPooling2D 2x2, Flatten, Dense 128 relu, Dropout 0.3, Dense 10 softmax
    (NCHW, PyTorch's layout; --channels-last for torch.channels_last);
  - glorot_uniform kernels, convolutions' included, and zero biases
    (PyTorch's default is kaiming_uniform with fan-in uniform biases);
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

With TORCH_FLUSH_DENORMAL=1 in the environment (e.g. through bench.sh's
BENCH_TORCH_ENV) PyTorch flushes denormals to zero, as dltrain's CPU backend
and Keras's TensorFlow and JAX backends do; PyTorch's default keeps them.

Data is read once with gzip + numpy into float32 tensors before the clock
starts. Each epoch's time is the training pass plus the validation pass
(time.perf_counter around both). Prints one JSON line on stdout.

usage: /usr/bin/python3 torch_fit.py --model mlp|cnn --batch B --epochs E --threads T [--channels-last]
"""
import json
import os
import sys
import time

import bench_common as bc

args = bc.parse_args(__doc__, lambda p: p.add_argument(
    "--channels-last", action="store_true", help="cnn: torch.channels_last (NHWC) memory format"))
# torch.set_num_threads alone does not reach OpenBLAS's own thread pool
# (PyTorch's BLAS on Debian): the variables must be set before `import torch`.
bc.set_thread_env(args.threads)
# PyTorch's OpenMP workers otherwise spin after each parallel region and, with
# T threads on T cores, starve OpenBLAS's own threads during the matrix
# products: 3-20 s/epoch instead of 0.8 for the MLP at batch 256 on 2 cores.
# Passive waiting is the usual setting for this mix (an explicit value is kept).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402


def build(model):
    if model == "mlp":
        layers = [nn.Flatten(),
                  nn.Linear(784, 256), nn.ReLU(),
                  nn.Linear(256, 128), nn.ReLU(),
                  nn.Linear(128, 10)]  # softmax folded into the loss
    else:
        layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),    # 26x26x32 -> 13x13
                  nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),   # 11x11x64 -> 5x5
                  nn.Flatten(),
                  nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.3),
                  nn.Linear(128, 10)]
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)  # = Keras glorot_uniform, also for conv kernels
            nn.init.zeros_(m.bias)
    return net


def tensors(prefix):
    x, y = bc.load(args, prefix)
    x = torch.from_numpy(x)
    # mlp: (N, 784); cnn: (N, 1, 28, 28); both views of the same memory
    x = x.reshape(len(x), -1) if args.model == "mlp" else x.unsqueeze(1)
    return x, torch.from_numpy(y)


def prep(xb):
    return xb.contiguous(memory_format=torch.channels_last) if args.channels_last else xb


@torch.no_grad()
def evaluate(model, loss_fn, x, y, batch):
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch):
        out = model(prep(x[i:i + batch]))
        yb = y[i:i + batch]
        loss_sum += loss_fn(out, yb).item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
    return loss_sum / len(x), correct / len(x)


def main():
    if args.channels_last and args.model != "cnn":
        sys.exit("--channels-last is for --model cnn")
    torch.set_num_threads(args.threads)
    if os.environ.get("TORCH_FLUSH_DENORMAL") == "1":
        torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)

    x_all, y_all = tensors("train")
    x_test, y_test = tensors("t10k")
    n_train = -(-len(x_all) * 9 // 10)  # ceil(0.9 N): Keras's split point
    x_train, y_train = x_all[:n_train].contiguous(), y_all[:n_train].contiguous()
    x_val, y_val = x_all[n_train:].contiguous(), y_all[n_train:].contiguous()

    model = build(args.model)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    B = args.batch
    seconds = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n_train)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for i in range(0, n_train, B):
            idx = perm[i:i + B]
            xb, yb = prep(x_train[idx]), y_train[idx]
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
        seconds.append(time.perf_counter() - t0)
        print(json.dumps({"epoch": epoch, "seconds": seconds[-1],
                          "loss": loss_sum.item() / n_train, "accuracy": correct.item() / n_train,
                          "val_loss": val_loss, "val_accuracy": val_acc}),
              file=sys.stderr, flush=True)

    test_loss, test_acc = evaluate(model, loss_fn, x_test, y_test, B)
    bc.print_result(args, "pytorch-cl" if args.channels_last else "pytorch", torch.__version__,
                    seconds, test_loss, test_acc, torch_threads=torch.get_num_threads())


if __name__ == "__main__":
    main()

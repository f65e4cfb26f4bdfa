"""The LeNet-5 rows' reference: examples/models/lenet.ts's network trained in PyTorch (eager autograd),
cross-entropy, Adam lr 0.001, batch 64, float32, on MNIST's training images; seconds per epoch of
60,000 images, evaluation excluded, measured over the same slice of an epoch as bench/lenet.ts;
wall-clock and CPU seconds (time.process_time: every thread of the process).

Usage: python3 bench/lenet.py MNIST_DIR STEPS RUNS THREADS. Prints JSON. Run by `pnpm bench` when
/usr/bin/python3 has PyTorch (Debian: apt-get install python3-torch).
"""
import json
import sys
import time

import numpy as np
import torch

from blas import blas_core

BATCH = 64


def idx(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def steps(X, y, count):
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = torch.randperm(X.shape[0])
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(count):
        rows = order[s * BATCH:(s + 1) * BATCH]
        # the batch gathered and scaled each step, as the tape's training loop does
        xb = X[rows].to(torch.float32).div_(255).view(-1, 1, 28, 28)
        opt.zero_grad()
        loss = loss_fn(net(xb), y[rows])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0, time.process_time() - c0


def main():
    directory, count, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    X = torch.from_numpy(idx(f"{directory}/train-images-idx3-ubyte", 16).reshape(-1, 784).copy())
    y = torch.from_numpy(idx(f"{directory}/train-labels-idx1-ubyte", 8).astype(np.int64))
    steps(X, y, max(1, count // 4))
    runs = [steps(X, y, count) for _ in range(runs)]
    scale = 60000 / (count * BATCH)
    wall, cpu = sorted(w * scale for w, _ in runs), sorted(c * scale for _, c in runs)
    json.dump({"torch": torch.__version__, "core": blas_core(), "threads": threads, "lenet": wall[len(wall) // 2], "cpu": cpu[len(cpu) // 2]}, sys.stdout)


main()

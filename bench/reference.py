"""The benchmark's reference: the paper's network trained in NumPy (hand-derived backprop) and
PyTorch (eager autograd), seconds per epoch of 60,000 images at batch 8 and 128, float32.

Run by `pnpm bench` when /usr/bin/python3 has NumPy (Debian: python3-numpy, with
libopenblas0-pthread for OpenBLAS) and, optionally, PyTorch (python3-torch). Prints JSON.
The data is random with MNIST's sparsity (81% zeros): the timing does not depend on the pixels.
"""
import json
import sys
import time

import numpy as np

from blas import blas_core, blas_name

LAYERS = [784, 800, 100, 10]


def data(n, rng):
    X = rng.random((n, 784), dtype=np.float32)
    X[rng.random((n, 784)) < 0.81] = 0
    return X, rng.integers(0, 10, n)


def numpy_steps(batch, steps):
    rng = np.random.default_rng(1)
    W = [(1e-3 * rng.standard_normal((a, b))).astype(np.float32) for a, b in zip(LAYERS, LAYERS[1:])]
    b = [np.zeros(n, np.float32) for n in LAYERS[1:]]
    X, y = data(batch * steps, rng)
    lr = np.float32(0.01)
    t0 = time.perf_counter()
    for s in range(steps):
        x, t = X[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
        H = [x]
        for i in range(2):
            H.append(np.tanh(H[-1] @ W[i] + b[i]))
        S = H[-1] @ W[2] + b[2]
        n = S.shape[0]
        margins = S - S[np.arange(n), t][:, None] + 1
        margins[np.arange(n), t] = 0
        M = (margins > 0).astype(np.float32)
        M[np.arange(n), t] = -M.sum(axis=1)
        M /= n
        for i in (2, 1, 0):
            dW, db = H[i].T @ M, M.sum(axis=0)
            if i > 0:
                M = (M @ W[i].T) * (1 - H[i] * H[i])
            W[i] -= lr * dW
            b[i] -= lr * db
    return time.perf_counter() - t0


def torch_steps(batch, steps, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(784, 800), torch.nn.Tanh(), torch.nn.Linear(800, 100), torch.nn.Tanh(), torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.MultiMarginLoss()  # mean over the batch of sum_j max(0, 1 - s_y + s_j) / C
    X, y = data(batch * steps, np.random.default_rng(1))
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    t0 = time.perf_counter()
    for s in range(steps):
        opt.zero_grad()
        loss = loss_fn(net(X[s * batch:(s + 1) * batch]), y[s * batch:(s + 1) * batch])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def per_epoch(fn, batch, steps, runs=5):
    fn(batch, max(1, steps // 10))
    times = sorted(fn(batch, steps) / (batch * steps) * 60000 for _ in range(runs))
    return times[len(times) // 2]


# `--batch 128` measures only that batch size (the two-thread reference is measured at batch 128 only).
SIZES = [(b, s) for b, s in ((8, 600), (128, 60)) if "--batch" not in sys.argv or str(b) == sys.argv[sys.argv.index("--batch") + 1]]
out = {"numpy": np.__version__, "blas": blas_name(), "core": blas_core()}
for batch, steps in SIZES:
    out[f"numpy batch {batch}"] = per_epoch(numpy_steps, batch, steps)
try:
    if "--numpy-only" in sys.argv:
        raise ImportError
    import torch
    out["torch"] = torch.__version__
    for batch, steps in SIZES:
        out[f"torch batch {batch}"] = per_epoch(lambda b, s: torch_steps(b, s, 1), batch, steps)
except ImportError:
    pass
json.dump(out, sys.stdout)

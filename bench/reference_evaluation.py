"""The evaluation benchmark's reference: the paper's network (784-800-100-10, tanh) evaluated in
PyTorch (eager, torch.inference_mode, one thread) on 70,000 images in batches of 1,000: scores, the
hinge loss's sum, the predicted classes, the number correct and the confusion matrix, as `evaluate`
computes them. The data is random with MNIST's sparsity (81% zeros): dense products do not depend
on the pixels.

    /usr/bin/python3 bench/reference_evaluation.py [rounds = 1]

Prints JSON: {"torch": version, "seconds": [wall, one per round], "cpu": [CPU seconds of the
process, one per round]}. bench/evaluation.ts runs it one
round at a time, in turns with ours.
"""
import json
import sys
import time

import numpy as np
import torch

from blas import blas_core


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(1)
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(784, 800), torch.nn.Tanh(), torch.nn.Linear(800, 100), torch.nn.Tanh(), torch.nn.Linear(100, 10))
    rng = np.random.default_rng(1)
    X = rng.random((70000, 784), dtype=np.float32)
    X[rng.random((70000, 784)) < 0.81] = 0
    X, y = torch.from_numpy(X), torch.from_numpy(rng.integers(0, 10, 70000))
    loss_fn = torch.nn.MultiMarginLoss(reduction="sum")

    def once():
        correct, total, confusion = 0, 0.0, torch.zeros(100, dtype=torch.int64)
        with torch.inference_mode():
            for start in range(0, 70000, 1000):
                x, t = X[start:start + 1000], y[start:start + 1000]
                S = net(x)
                total += loss_fn(S, t).item()
                p = S.argmax(1)
                correct += (p == t).sum().item()
                confusion += torch.bincount(t * 10 + p, minlength=100)
        return correct, total

    once()  # warm up
    seconds, cpu = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        once()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    json.dump({"torch": torch.__version__, "core": blas_core(), "seconds": seconds, "cpu": cpu}, sys.stdout)


main()

# The NumPy data sets of the README's examples (python3 make.py; committed, so nothing needs Python).
import numpy as np

rng = np.random.default_rng(0)

# blobs.npz: three classes of 2x3 "images" around three centres; float32 features, int64 labels.
def blobs(n):
    y = rng.integers(0, 3, n)
    centres = np.eye(3).repeat(2, axis=0).T.reshape(3, 2, 3) * 2  # class c is bright in column c
    return (centres[y] + rng.normal(0, 1.0, (n, 2, 3))).astype(np.float32), y
x_train, y_train = blobs(600)
x_test, y_test = blobs(200)
np.savez('blobs.npz', x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

# line.npz: y = x . w + 0.3 plus noise, x in [-1, 1]^4; float64 features, float32 targets [n, 1].
w = np.array([1.0, -2.0, 0.5, 3.0])
def line(n):
    x = rng.uniform(-1, 1, (n, 4))
    return x, (x @ w + 0.3 + rng.normal(0, 0.1, n)).astype(np.float32)[:, None]
x_train, y_train = line(600)
x_test, y_test = line(200)
np.savez_compressed('line.npz', x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

# pointer.npz: a toy sequence task for self-attention (examples/models/attention.ts). Each example is
# 6 tokens, each a digit 0-5 one-hot in 6 features followed by its position one-hot in 6 more
# ([n, 6, 12] float32); the first token's digit p (1-5) points at a position, and the label is the
# digit there (int64, 6 classes: chance is 1/6).
rng = np.random.default_rng(22)
def pointer(n, length=6, digits=6):
    seq = rng.integers(0, digits, (n, length))
    seq[:, 0] = rng.integers(1, length, n)
    x = np.concatenate([np.eye(digits)[seq], np.broadcast_to(np.eye(length), (n, length, length))], axis=2)
    return x.astype(np.float32), seq[np.arange(n), seq[:, 0]].astype(np.int64)
x_train, y_train = pointer(3000)
x_test, y_test = pointer(600)
np.savez_compressed('pointer.npz', x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

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

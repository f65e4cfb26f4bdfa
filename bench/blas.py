"""Which BLAS the reference processes really run: the library loaded, and the kernels OpenBLAS chose
(bench/reference-env.ts checks them against `--reference-isa`)."""
import ctypes

import numpy as np


def blas_name():
    """The BLAS library NumPy really loaded (Debian picks it through alternatives)."""
    np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower()}
    return ", ".join(sorted(libs)) or "unknown"


def blas_core():
    """The kernels OpenBLAS chose (Haswell, SkylakeX, Zen ...), or None: OPENBLAS_CORETYPE can force them."""
    np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    for lib in libs:
        try:
            name = ctypes.CDLL(lib).openblas_get_corename
        except (OSError, AttributeError):
            continue
        name.restype = ctypes.c_char_p
        return name().decode()
    return None

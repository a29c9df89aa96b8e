"""Generated lip tracks (GF, GP, faces) for the data tests."""

import numpy as np


def synthetic_lips(rng, n=75, shift=0.0):
    return {"gf": (rng.random((n, 7)) + shift).astype(np.float32), "gp": rng.random((n, 4, 6)).astype(np.float32),
            "faces": rng.integers(0, 255, (n, 8, 8)).astype(np.uint8), "valid": np.ones(n, bool), "fps": 25.0}

"""Weight initialisation: keep each layer's output variance near its input variance."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike, NDArray


def he_normal(
    fan_in: int, fan_out: int, rng: np.random.Generator, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """He et al. (2015) for the ReLU family: N(0, 2 / fan_in), shape (fan_in, fan_out)."""
    # ReLU zeroes half its inputs on average, so the variance needs a factor 2 back.
    std = np.sqrt(2.0 / fan_in)
    W: NDArray[np.floating] = (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)
    return W


def glorot_uniform(
    fan_in: int, fan_out: int, rng: np.random.Generator, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Glorot & Bengio (2010) for sigmoid/tanh: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    W: NDArray[np.floating] = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype)
    return W

"""Layers with parameters or randomness: Dense and Dropout.

Every layer has `parameters` and `gradients` dicts under the same keys, a `forward` that caches
what `backward` needs, and a `backward` that fills `gradients` and returns the gradient for the
layer below. Shapes are batch-first: (n, features).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model.initializers import glorot_uniform, he_normal

Array = NDArray[np.floating]


class Dense:
    """Affine map y = x @ W + b: (n, fan_in) -> (n, fan_out)."""

    def __init__(
        self,
        fan_in: int,
        fan_out: int,
        rng: np.random.Generator,
        init: str = "he",
        dtype: DTypeLike = np.float32,
    ) -> None:
        if init == "he":
            W = he_normal(fan_in, fan_out, rng, dtype)
        elif init == "glorot":
            W = glorot_uniform(fan_in, fan_out, rng, dtype)
        else:
            raise ValueError(f"unknown initialisation {init!r}; use 'he' or 'glorot'")
        self.parameters: dict[str, Array] = {"W": W, "b": np.zeros(fan_out, dtype=dtype)}
        self.gradients: dict[str, Array] = {k: np.zeros_like(v) for k, v in self.parameters.items()}
        self._x: Array | None = None

    @property
    def fan_in(self) -> int:
        return int(self.parameters["W"].shape[0])

    @property
    def fan_out(self) -> int:
        return int(self.parameters["W"].shape[1])

    def forward(self, x: Array, training: bool = False) -> Array:
        self._x = x
        out: Array = x @ self.parameters["W"]
        out += self.parameters["b"]
        return out

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        """grad: dL/dy (n, fan_out). Fills dL/dW, dL/db; returns dL/dx (n, fan_in).

        The first layer's input gradient is not needed for training, and skipping it saves a
        third of that layer's matrix work.
        """
        assert self._x is not None, "forward must run before backward"
        np.matmul(self._x.T, grad, out=self.gradients["W"])
        np.sum(grad, axis=0, out=self.gradients["b"])
        if not need_input_grad:
            return None
        return grad @ self.parameters["W"].T


class Dropout:
    """Inverted dropout: zero each input with probability `rate`, scale survivors by 1/keep.

    The scaling keeps the expected activation unchanged, so evaluation is the identity.
    """

    # Each unit draws 16 random bits and survives when they fall below `threshold`, so the keep
    # probability is threshold / 2**16 (within 2**-17 of 1 - rate). Raw bits are about three
    # times cheaper than rng.random floats, and dropout's draws are a large share of a step.
    BITS = 16

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.rng = rng
        levels = 1 << self.BITS
        self.threshold = min(levels - 1, max(1, round((1.0 - rate) * levels)))
        self.keep = self.threshold / levels  # the exact keep probability
        self.parameters: dict[str, Array] = {}
        self.gradients: dict[str, Array] = {}
        self._mask: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        # Mask values are 0 or 1/keep, so forward and backward are a single multiply each.
        words = self.rng.bit_generator.random_raw(-(-x.size // 4))  # 64 bits = 4 draws
        bits = words.view(np.uint16)[: x.size].reshape(x.shape)
        self._mask = (bits < self.threshold).astype(x.dtype)
        self._mask *= x.dtype.type(1.0 / self.keep)
        return x * self._mask

    def backward(self, grad: Array) -> Array:
        if self._mask is None:
            return grad
        return grad * self._mask

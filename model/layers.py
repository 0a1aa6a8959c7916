"""Layers with parameters or randomness: Dense, Dropout, and ReLU fused with the dropout after it.

Every layer has `parameters` and `gradients` dicts under the same keys, a `forward` that caches
what `backward` needs, and a `backward` that fills `gradients` and returns the gradient for the
layer below. Shapes are batch-first: (n, features).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model.activations import ReLU
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

    # Each unit draws `bits` random bits and survives when they fall below `threshold`, so the
    # keep probability is threshold / 2**bits. Raw generator bits are about three times cheaper
    # than rng.random floats, yet drawing them is still most of dropout's cost, and 8 bits a
    # unit instead of 16 made a training step 2% faster. So 8 bits are drawn whenever 256
    # levels put the rate within 2% of the one asked for (0.1 becomes 26/256 = 0.1016), and
    # 16 bits otherwise (within 2**-17: tiny rates, or keep probabilities near 0).
    RATE_TOLERANCE = 0.02

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.rng = rng
        self.bits, self.threshold = _bits_and_threshold(rate, self.RATE_TOLERANCE)
        self.keep = self.threshold / (1 << self.bits)  # the exact keep probability
        self.parameters: dict[str, Array] = {}
        self.gradients: dict[str, Array] = {}
        self._mask: Array | None = None

    def keep_mask(self, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        """True for each unit that survives, independently with probability `keep`."""
        size = math.prod(shape)
        words = self.rng.bit_generator.random_raw(-(-size // (64 // self.bits)))
        draws: NDArray[np.unsignedinteger] = words.view(np.uint8 if self.bits == 8 else np.uint16)
        keep: NDArray[np.bool_] = draws[:size].reshape(shape) < self.threshold
        return keep

    def scaled_mask(self, keep: NDArray[np.bool_], dtype: DTypeLike) -> Array:
        """What inverted dropout multiplies by: 1/keep where `keep` is True, 0 elsewhere."""
        mask: Array = keep.astype(dtype)
        mask *= mask.dtype.type(1.0 / self.keep)
        return mask

    def forward(self, x: Array, training: bool = False) -> Array:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        # Mask values are 0 or 1/keep, so forward and backward are a single multiply each.
        self._mask = self.scaled_mask(self.keep_mask(x.shape), x.dtype)
        return x * self._mask

    def backward(self, grad: Array) -> Array:
        if self._mask is None:
            return grad
        return grad * self._mask


def _bits_and_threshold(rate: float, tolerance: float) -> tuple[int, int]:
    """(bits, threshold) drawing units kept with probability threshold / 2**bits ~ 1 - rate:
    8 bits if that is within `tolerance` of the rate (relative, on the rarer side), else 16."""
    for bits in (8, 16):
        levels = 1 << bits
        threshold = min(levels - 1, max(1, round((1.0 - rate) * levels)))
        if abs(threshold / levels - (1.0 - rate)) <= tolerance * min(rate, 1.0 - rate):
            break
    return bits, threshold


class ReLUDropout(ReLU):
    """ReLU, then dropout at `rate` on its output, with one mask for both: any shape.

    relu(x) * keep / p is x * ((x > 0) & keep) / p, so one mask of 0s and 1/p makes forward
    and backward a single product each where ReLU and Dropout take two each: 3% of a training
    step. Outside training it is ReLU. The network uses it wherever dropout follows a ReLU.
    """

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        super().__init__()
        self.dropout = Dropout(rate, rng)

    def forward(self, x: Array, training: bool = False) -> Array:
        if not training or self.dropout.rate == 0.0:
            return super().forward(x, training)
        keep = self.dropout.keep_mask(x.shape)
        keep &= x > 0
        self._mask, self._out = self.dropout.scaled_mask(keep, x.dtype), None
        return x * self._mask

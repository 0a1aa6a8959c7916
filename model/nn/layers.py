"""Layers with parameters or randomness: Dense (affine) and Dropout.

Every layer has `parameters` and `gradients` dicts under the same keys, a `forward` that caches
what `backward` needs, and a `backward(grad) -> grad` that fills `gradients` and returns the
gradient for the layer below. Shapes are batch-first: (n, features).

Dense layers also have `input_gradient(grad) -> grad`, the backward pass without the parameter
gradients, for the gradients with respect to the input (saliency maps, adversarial examples).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model.nn.initializers import glorot_uniform, he_normal

Array = NDArray[np.floating]


class Dense:
    """Affine map y = x @ W + b: (n, fan_in) -> (n, fan_out).

    `init` is "he" (for the ReLU family) or "glorot" (for sigmoid and tanh); anything else
    raises ValueError.
    """

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
        self._gradients: dict[str, Array] | None = None
        self._x: Array | None = None

    @property
    def gradients(self) -> dict[str, Array]:
        """dL/dW and dL/db from the last `backward`, zeros before it.

        Made on first use: a network that only reads (the server) never needs them, and they
        are as large as the parameters.
        """
        if self._gradients is None:
            self._gradients = {k: np.zeros_like(v) for k, v in self.parameters.items()}
        return self._gradients

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

    def backward(self, grad: Array) -> Array:
        """grad: dL/dy (n, fan_out). Fills dL/dW, dL/db; returns dL/dx (n, fan_in)."""
        # y = xW + b  =>  dW = x^T dy, db = sum_n dy, dx = dy W^T
        self.parameter_gradients(grad)
        return self.input_gradient(grad)

    def input_gradient(self, grad: Array) -> Array:
        """Only the last line of `backward`: dL/dy (n, fan_out) -> dL/dx (n, fan_in)."""
        return grad @ self.parameters["W"].T

    def parameter_gradients(self, grad: Array) -> None:
        """Only the first two lines of `backward`: dL/dW and dL/db, no input gradient."""
        assert self._x is not None, "forward must run before backward"
        np.matmul(self._x.T, grad, out=self.gradients["W"])
        np.sum(grad, axis=0, out=self.gradients["b"])


class Dropout:
    """Inverted dropout (Srivastava et al., 2014): any shape -> the same shape.

    In training, each input is zeroed with probability `rate` and the survivors are scaled by
    1 / keep (keep = 1 - rate), so the expected activation is unchanged and evaluation is the
    identity. Raises ValueError unless 0 <= rate < 1.
    """

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.keep = 1.0 - rate
        self.rng = rng
        self.parameters: dict[str, Array] = {}
        self.gradients: dict[str, Array] = {}
        self._mask: Array | None = None

    def keep_mask(self, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        """True for each unit that survives, independently with probability `keep`."""
        keep: NDArray[np.bool_] = self.rng.random(shape) < self.keep
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
        self._mask = self.scaled_mask(self.keep_mask(x.shape), x.dtype)
        return x * self._mask

    def backward(self, grad: Array) -> Array:
        # y = x * mask  =>  dx = dy * mask (the identity outside training)
        if self._mask is None:
            return grad
        return grad * self._mask

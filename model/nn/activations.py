"""Elementwise activation layers, each with its forward and backward side by side.

All take and return batch-first arrays of any shape, e.g. (n, units) -> (n, units). Each
caches in `forward` what `backward` needs; none has parameters, so the optimizer skips them.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


class Activation:
    """Base class, and the identity: y = x  =>  dx = dy."""

    name: ClassVar[str] = "identity"
    parameters: dict[str, Array]
    gradients: dict[str, Array]

    def __init__(self) -> None:
        self.parameters = {}
        self.gradients = {}

    def forward(self, x: Array, training: bool = False) -> Array:
        return x

    def backward(self, grad: Array) -> Array:
        return grad


class ReLU(Activation):
    """Rectified linear unit, max(x, 0) (Nair & Hinton, 2010)."""

    name = "relu"

    def __init__(self) -> None:
        super().__init__()
        self._positive: NDArray[np.bool_] | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._positive = x > 0
        return np.where(self._positive, x, x.dtype.type(0))

    def backward(self, grad: Array) -> Array:
        # y = max(x, 0)  =>  dx = dy where x > 0, else 0
        assert self._positive is not None, "forward must run before backward"
        return np.where(self._positive, grad, grad.dtype.type(0))


class LeakyReLU(Activation):
    """x for x > 0, slope * x otherwise: keeps a small gradient for negative inputs."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = slope
        self._x: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._x = x
        return np.where(x > 0, x, x * x.dtype.type(self.slope))

    def backward(self, grad: Array) -> Array:
        # y = x if x > 0 else slope * x  =>  dx = dy if x > 0 else slope * dy
        assert self._x is not None, "forward must run before backward"
        return np.where(self._x > 0, grad, grad * grad.dtype.type(self.slope))


class Sigmoid(Activation):
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""

    name = "sigmoid"

    def __init__(self) -> None:
        super().__init__()
        self._out: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._out = sigmoid(x)
        return self._out

    def backward(self, grad: Array) -> Array:
        # y = sigmoid(x)  =>  dx = dy * y * (1 - y)
        assert self._out is not None, "forward must run before backward"
        return grad * self._out * (1 - self._out)


class Tanh(Activation):
    """tanh(x)."""

    name = "tanh"

    def __init__(self) -> None:
        super().__init__()
        self._out: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._out = np.tanh(x)
        return self._out

    def backward(self, grad: Array) -> Array:
        # y = tanh(x)  =>  dx = dy * (1 - y^2)
        assert self._out is not None, "forward must run before backward"
        return grad * (1 - self._out * self._out)


def sigmoid(x: Array) -> Array:
    """Numerically stable logistic function, vectorised: any shape -> the same shape."""
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (ReLU, LeakyReLU, Sigmoid, Tanh)
}


def make_activation(name: str) -> Activation:
    """Build an activation layer by name; raises ValueError for an unknown name."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}"
        ) from None

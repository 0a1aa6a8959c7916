"""The forward pass for one image, as /api/predict serves it, and its softmax in Python floats.

One image is memory-bound: each weight is read once for one multiply. Its inputs are mostly
zero, so only the weight rows of non-zero inputs are read: the inked pixels in the first layer
(a drawing inks 100-200 of 784), and the active units after a ReLU in a big hidden layer (about
1 in 10 in the shipped network). Equal to `MLP.forward` on the normalised image up to float
rounding (tested in tests/model/fast/test_single_image.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from model.fast.dropout import ReLUDropout
from model.nn.activations import ReLU
from model.nn.layers import Dense, Dropout
from model.nn.mlp import MLP

Array = NDArray[np.floating]

# Gathering weight rows costs about five times as much per row as streaming them through a
# dense product (measured on 1-8 MB layers), and a small layer is read from cache either way.
# So a hidden layer reads only its active rows when it holds at least 1 MB of weights and at
# most this fraction of its inputs is non-zero (about 2x faster at 1 in 10).
SPARSE_MIN_WEIGHT_BYTES = 1 << 20
SPARSE_MAX_ACTIVE_FRACTION = 1 / 6


class SingleImageForward:
    """`network.forward(normalize(image))` for one (28, 28) uint8 image -> (classes,) logits.

    Built once per served network: the weights must not change afterwards. `mean` and `std`
    are the training normalisation on the 0..1 scale.
    """

    def __init__(self, network: MLP, mean: float, std: float) -> None:
        self.dtype = network.dtype
        # The first layer with the normalisation folded in. The input is x = p * scale - shift
        # for grey levels p, so x @ W + b = p @ (scale * W) + bias with
        # bias = b - shift * colsum(W), and p @ (scale * W) only needs the rows where p != 0.
        first = network.dense[0]
        weights, biases = first.parameters["W"], first.parameters["b"]
        shift = mean / std
        scale = 1.0 / (255.0 * std)
        self.first_weights = (weights * scale).astype(network.dtype)  # (784, hidden)
        self.first_bias = (biases - shift * weights.sum(axis=0, dtype=np.float64)).astype(
            network.dtype
        )
        # Every layer after the first Dense as one step on a (features,) vector: a big Dense
        # reads only the rows of active inputs, ReLU works in place (nothing runs backward
        # here), and dropout, the identity outside training, is left out.
        self.steps: list[Callable[[Array], Array]] = []
        for layer in network.layers[network.layers.index(first) + 1 :]:
            if isinstance(layer, Dropout):
                continue
            if isinstance(layer, ReLU | ReLUDropout):
                self.steps.append(_relu_in_place)
            elif isinstance(layer, Dense):
                weights, biases = layer.parameters["W"], layer.parameters["b"]
                dense = (
                    _dense_from_active_rows
                    if weights.nbytes >= SPARSE_MIN_WEIGHT_BYTES
                    else _dense_one
                )
                self.steps.append(functools.partial(dense, weights, biases))
            else:
                self.steps.append(layer.forward)

    def logits(self, image: NDArray[np.uint8]) -> Array:
        """(28, 28) uint8 grey levels, ink high -> (classes,) logits."""
        out = self.first_layer(image.reshape(-1))  # (hidden,)
        for step in self.steps:
            out = step(out)
        return out

    def hidden_and_logits(self, first: Array) -> tuple[Array, Array]:
        """The first layer's output (hidden,) -> (the last hidden layer's activations, the
        logits). `first` is overwritten; the last step is the output layer."""
        out = first
        for step in self.steps[:-1]:
            out = step(out)
        return out, self.steps[-1](out)

    def first_layer(self, pixels: NDArray[np.uint8]) -> Array:
        """(784,) grey levels -> (hidden,) first-layer output, from the inked pixels' rows only."""
        (inked,) = pixels.nonzero()
        ink = pixels[inked].astype(self.dtype)
        rows = np.take(self.first_weights, inked, axis=0)  # (inked, hidden)
        out: Array = ink @ rows
        out += self.first_bias
        return out


def softmax_row(logits: list[float], temperature: float = 1.0) -> list[float]:
    """`softmax(logits / temperature)` for one row, in Python floats (float64).

    Ten Python floats skip the half-dozen NumPy calls of the batch softmax: a sixth of the
    whole single-image pass. Equal to `model.nn.losses.softmax` in float64 within 1e-15.
    """
    top = max(logits)
    exps = [math.exp((value - top) / temperature) for value in logits]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _relu_in_place(x: Array) -> Array:
    """max(x, 0), written over x: a fresh array from the layer below that nothing else holds."""
    return np.maximum(x, 0, out=x)


def _dense_one(weights: Array, biases: Array, x: Array) -> Array:
    """A Dense layer's forward pass for one vector: (fan_in,) -> (fan_out,)."""
    out: Array = x @ weights
    out += biases
    return out


def _dense_from_active_rows(weights: Array, biases: Array, x: Array) -> Array:
    """`_dense_one`, reading only the weight rows of the non-zero inputs when at most
    SPARSE_MAX_ACTIVE_FRACTION of them are non-zero: (fan_in,) -> (fan_out,).

    Equal up to float rounding: the rows left out are multiplied by exact zeros.
    """
    (active,) = x.nonzero()
    if len(active) > SPARSE_MAX_ACTIVE_FRACTION * len(x):
        return _dense_one(weights, biases, x)
    out: Array = x[active] @ np.take(weights, active, axis=0)
    out += biases
    return out

"""A network rebuilt with the fast layers, and a training step that skips unused work.

`use_fast_layers` swaps the textbook layers of an `MLP` for `model.fast.dropout`'s, drawing
from the same generators; `train_step_gradients` is `MLP.train_step_gradients` without the
first layer's input gradient, which training never reads (a third of that layer's backward
products).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from model.fast.dropout import BitDropout, ReLUDropout
from model.nn.activations import ReLU
from model.nn.layers import Dropout
from model.nn.losses import softmax_cross_entropy
from model.nn.mlp import MLP, Layer

Array = NDArray[np.floating]


def use_fast_layers(network: MLP) -> MLP:
    """Replace, in place, each ReLU + Dropout pair by one `ReLUDropout` and every other
    Dropout by a `BitDropout`; returns `network`. Same function, same generators."""
    layers: list[Layer] = []
    for layer in network.layers:
        previous = layers[-1] if layers else None
        if type(layer) is Dropout and type(previous) is ReLU:
            layers[-1] = ReLUDropout(layer.rate, layer.rng)
        elif type(layer) is Dropout:
            layers.append(BitDropout(layer.rate, layer.rng))
        else:
            layers.append(layer)
    network.layers = layers
    return network


def train_step_gradients(
    network: MLP,
    x: Array,
    labels: NDArray[np.integer],
    l2: float = 0.0,
    label_smoothing: float = 0.0,
) -> tuple[float, Array]:
    """`network.train_step_gradients`, stopping the backward pass at the first Dense layer's
    parameter gradients: x (n, features), labels (n,) -> (loss, probabilities (n, classes))."""
    logits = network.forward(x, training=True)
    loss, probabilities, grad = softmax_cross_entropy(logits, labels, label_smoothing)
    first = network.dense[0]
    for layer in reversed(network.layers[network.layers.index(first) + 1 :]):
        grad = layer.backward(grad)
    first.parameter_gradients(grad)
    return loss + network.add_l2_gradients(l2), probabilities

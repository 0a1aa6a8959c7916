"""Two first layers from one gather: equal to each network's own first layer and forward pass."""

from __future__ import annotations

import numpy as np

from model.fast.shared_first_layer import SharedFirstLayer
from model.fast.single_image import SingleImageForward
from model.nn.mlp import MLP

MEAN, STD = 0.13, 0.31


def test_both_outputs_equal_the_separate_passes() -> None:
    """float64 so the only difference is summation order: within 1e-12."""
    network = MLP([784, 48, 24, 10], dtype=np.float64, rng=np.random.default_rng(1))
    for dense in network.dense:
        dense.parameters["b"][...] = np.random.default_rng(2).normal(size=dense.fan_out)
    digit = SingleImageForward(network, MEAN, STD)
    rng = np.random.default_rng(3)
    extra_weights, extra_bias = rng.normal(size=(784, 16)), rng.normal(size=16)
    shared = SharedFirstLayer(digit, extra_weights, extra_bias)
    for _ in range(10):
        image = ((rng.random((28, 28)) < 0.2) * rng.integers(1, 256, (28, 28))).astype(np.uint8)
        hidden, logits, extra = shared.forward(image)
        np.testing.assert_allclose(logits, digit.logits(image), rtol=0, atol=1e-12)
        x = (image.reshape(1, -1) / 255.0 - MEAN) / STD  # the last hidden layer, dense
        last = x
        for layer in network.layers[:-1]:
            last = layer.forward(last)
        np.testing.assert_allclose(hidden, last[0], rtol=0, atol=1e-12)
        expected = image.reshape(-1).astype(np.float64) @ extra_weights + extra_bias
        np.testing.assert_allclose(extra, expected, rtol=0, atol=1e-9)


def test_the_digit_pass_is_left_unchanged_for_the_next_image() -> None:
    network = MLP([784, 32, 10], rng=np.random.default_rng(4))
    digit = SingleImageForward(network, MEAN, STD)
    shared = SharedFirstLayer(digit, np.ones((784, 4), np.float32), np.zeros(4, np.float32))
    image = np.zeros((28, 28), np.uint8)
    image[10:18, 12:15] = 200
    _, first, _ = shared.forward(image)
    _, again, extra = shared.forward(image)
    np.testing.assert_array_equal(first, again)
    assert extra.tolist() == [200.0 * 24] * 4


def test_one_matrix_in_memory_for_both_first_layers() -> None:
    network = MLP([784, 32, 10], rng=np.random.default_rng(5))
    digit = SingleImageForward(network, MEAN, STD)
    own = digit.first_weights.copy()
    shared = SharedFirstLayer(digit, np.ones((784, 4), np.float32), np.zeros(4, np.float32))
    assert np.shares_memory(digit.first_weights, shared.weights)
    assert np.shares_memory(shared.extra_weights, shared.weights)
    np.testing.assert_array_equal(digit.first_weights, own)
    np.testing.assert_array_equal(shared.extra_weights, np.ones((784, 4), np.float32))

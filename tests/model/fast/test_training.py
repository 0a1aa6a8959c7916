"""The fast layers and training step against the textbook network and its step."""

from __future__ import annotations

import numpy as np
import pytest

from model.fast.dropout import BitDropout, ReLUDropout
from model.fast.training import train_step_gradients, use_fast_layers
from model.nn.mlp import MLP


@pytest.mark.parametrize(
    ("activation", "stack"),
    [
        ("relu", ["BitDropout", "Dense", "ReLUDropout", "Dense", "ReLUDropout", "Dense"]),
        (
            "tanh",
            ["BitDropout", "Dense", "Tanh", "BitDropout", "Dense", "Tanh", "BitDropout", "Dense"],
        ),
    ],
)
def test_fast_layers_replace_relu_dropout_pairs_and_keep_every_rate(
    activation: str, stack: list[str]
) -> None:
    """ReLU shares its mask with the dropout after it; other activations keep two layers."""
    network = use_fast_layers(MLP((6, 5, 4, 3), activation=activation, dropout=(0.1, 0.2, 0.3)))
    assert [type(layer).__name__ for layer in network.layers] == stack
    rates = [
        layer.dropout.rate if isinstance(layer, ReLUDropout) else layer.rate
        for layer in network.layers
        if isinstance(layer, BitDropout | ReLUDropout)
    ]
    assert rates == [0.1, 0.2, 0.3]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_fast_network_computes_the_textbook_function(activation: str) -> None:
    rng = np.random.default_rng(0)
    textbook = MLP((20, 16, 12, 10), activation, (0.2, 0.3, 0.1), rng=np.random.default_rng(1))
    fast = use_fast_layers(
        MLP((20, 16, 12, 10), activation, (0.2, 0.3, 0.1), rng=np.random.default_rng(1))
    )
    x = rng.standard_normal((9, 20)).astype(np.float32)
    np.testing.assert_array_equal(fast.forward(x), textbook.forward(x))
    labels = rng.integers(0, 10, 9)
    np.testing.assert_allclose(
        fast.input_gradient(x, labels), textbook.input_gradient(x, labels), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("l2", [0.0, 1e-3])
def test_fast_step_fills_the_textbook_gradients(l2: float) -> None:
    """Without dropout the two steps see the same function: same loss, same gradients."""
    rng = np.random.default_rng(2)
    textbook = MLP((20, 16, 12, 10), rng=np.random.default_rng(3))
    fast = use_fast_layers(MLP((20, 16, 12, 10), rng=np.random.default_rng(3)))
    x = rng.standard_normal((32, 20)).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    loss, probabilities = textbook.train_step_gradients(x, labels, l2, 0.1)
    fast_loss, fast_probabilities = train_step_gradients(fast, x, labels, l2, 0.1)
    assert fast_loss == pytest.approx(loss, rel=1e-6)
    np.testing.assert_array_equal(fast_probabilities, probabilities)
    expected = textbook.gradients()
    for name, gradient in fast.gradients().items():
        np.testing.assert_allclose(gradient, expected[name], rtol=1e-5, atol=1e-7, err_msg=name)


def test_fast_training_with_dropout_still_learns() -> None:
    rng = np.random.default_rng(4)
    network = use_fast_layers(MLP((20, 64, 10), dropout=(0.1, 0.2), rng=rng))
    x = rng.standard_normal((16, 20)).astype(np.float32)
    labels = np.arange(16) % 10
    first = None
    for _ in range(200):
        loss, _ = train_step_gradients(network, x, labels)
        first = loss if first is None else first
        for name, parameter in network.parameters().items():
            parameter -= np.float32(0.2) * network.gradients()[name]
    assert loss < 0.2 * first
    assert (network.predict(x) == labels).all()

"""The single-image forward pass and its softmax against the textbook network and softmax."""

from __future__ import annotations

import numpy as np
import pytest

from model.fast.single_image import SingleImageForward, softmax_row
from model.nn.losses import softmax
from model.nn.mlp import MLP

MEAN, STD = 0.13, 0.31


def textbook_logits(network: MLP, image: np.ndarray) -> np.ndarray:
    x = (image.reshape(1, -1).astype(np.float64) / 255.0 - MEAN) / STD
    return network.forward(x.astype(network.dtype))[0]


@pytest.mark.parametrize("min_bytes", [0, 1 << 40], ids=["active-rows", "dense"])
def test_single_image_logits_equal_the_textbook_forward_pass(
    monkeypatch: pytest.MonkeyPatch, min_bytes: int
) -> None:
    """float64 so the only difference is summation order: within 1e-12."""
    monkeypatch.setattr("model.fast.single_image.SPARSE_MIN_WEIGHT_BYTES", min_bytes)
    network = MLP([784, 64, 32, 10], dropout=(0.2, 0.3, 0.1), dtype=np.float64)
    for dense in network.dense:
        dense.parameters["b"][...] = np.random.default_rng(5).normal(size=dense.fan_out)
    forward = SingleImageForward(network, MEAN, STD)
    rng = np.random.default_rng(6)
    for _ in range(10):
        image = (rng.random((28, 28)) < 0.2) * rng.integers(1, 256, (28, 28))
        image = image.astype(np.uint8)
        np.testing.assert_allclose(
            forward.logits(image), textbook_logits(network, image), rtol=0, atol=1e-12
        )


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_softmax_row_equals_the_textbook_softmax(temperature: float) -> None:
    logits = np.random.default_rng(7).normal(scale=8.0, size=(20, 10))
    for row in logits:
        expected = softmax(row[None] / temperature)[0]
        np.testing.assert_allclose(softmax_row(row.tolist(), temperature), expected, atol=1e-15)


def test_softmax_row_is_stable_for_huge_logits() -> None:
    probabilities = softmax_row([1000.0, -1000.0, 999.0])
    assert probabilities[1] == 0.0
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-15)
    assert probabilities[0] > probabilities[2] > 0

"""BitDropout and ReLUDropout against the textbook ReLU and Dropout they replace."""

from __future__ import annotations

import numpy as np
import pytest

from model.fast.dropout import BitDropout, ReLUDropout
from model.nn.activations import ReLU
from model.nn.layers import Dropout


def test_bit_dropout_keeps_the_expected_activation(rng: np.random.Generator) -> None:
    dropout = BitDropout(0.4, rng)
    x = np.ones((1000, 1000), dtype=np.float32)
    y = dropout.forward(x, training=True)
    assert y.dtype == np.float32
    assert abs(float(y.mean()) - 1.0) < 0.01
    assert abs(float((y == 0).mean()) - 0.4) < 0.01
    assert dropout.bits == 8  # 154/256 is within 2% of the rate asked for
    assert abs((1 - dropout.keep) - 0.4) <= 0.02 * 0.4
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / dropout.keep], rtol=1e-6)


@pytest.mark.parametrize(
    ("rate", "bits"), [(0.0001, 16), (0.1, 8), (0.5, 8), (0.9, 8), (0.9999, 16)]
)
def test_bit_dropout_rate_is_what_was_asked(rate: float, bits: int) -> None:
    dropout = BitDropout(rate, np.random.default_rng(1))
    assert dropout.bits == bits
    assert 0 < dropout.keep < 1
    realised = 1 - dropout.keep
    if dropout.bits == 8:
        assert abs(realised - rate) <= 0.02 * min(rate, 1 - rate)
    else:
        assert dropout.bits == 16
        assert abs(realised - rate) <= 2**-17
    y = dropout.forward(np.ones((400, 1001), dtype=np.float32), training=True)  # odd size
    dropped = float((y == 0).mean())
    # Binomial standard error of the dropped fraction over 400,400 units is at most 0.0008.
    assert abs(dropped - (1 - dropout.keep)) < 0.004


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.9999])
def test_relu_dropout_is_relu_then_dropout(rate: float) -> None:
    """Same draws, same values: forward and backward equal the two layers in sequence."""
    x = np.random.default_rng(2).standard_normal((64, 300)).astype(np.float32)
    grad = np.random.default_rng(3).standard_normal((64, 300)).astype(np.float32)
    fused = ReLUDropout(rate, np.random.default_rng(4))
    relu, dropout = ReLU(), BitDropout(rate, np.random.default_rng(4))
    out = fused.forward(x, training=True)
    np.testing.assert_array_equal(out, dropout.forward(relu.forward(x, True), True))
    np.testing.assert_array_equal(fused.backward(grad), relu.backward(dropout.backward(grad)))
    if rate > 0:
        assert (out == 0).mean() > (x <= 0).mean()  # dropout really zeroed positive units too


def test_relu_dropout_is_relu_in_evaluation() -> None:
    x = np.random.default_rng(5).standard_normal((8, 50)).astype(np.float32)
    fused = ReLUDropout(0.5, np.random.default_rng(6))
    np.testing.assert_array_equal(fused.forward(x, training=False), np.maximum(x, 0))
    np.testing.assert_array_equal(fused.backward(np.ones_like(x)), (x > 0).astype(np.float32))


def test_bit_dropout_with_the_textbook_mask_is_the_textbook_layer() -> None:
    """Only the draws differ: given the same keep mask, forward and backward are identical."""
    x = np.random.default_rng(7).standard_normal((32, 40)).astype(np.float32)
    fast, textbook = (
        BitDropout(0.3, np.random.default_rng(8)),
        Dropout(0.3, np.random.default_rng(8)),
    )
    keep = fast.keep_mask(x.shape)
    textbook.keep = fast.keep  # the textbook layer at the rate the bits realise
    fast.keep_mask = textbook.keep_mask = lambda shape: keep  # type: ignore[method-assign]
    np.testing.assert_array_equal(fast.forward(x, True), textbook.forward(x, True))
    np.testing.assert_array_equal(fast.backward(x), textbook.backward(x))

"""Dense, Dropout, ReLUDropout: gradients against finite differences, dropout statistics."""

from __future__ import annotations

import numpy as np
import pytest

from model.activations import ReLU
from model.layers import Dense, Dropout, ReLUDropout
from tests.conftest import numerical_gradient, relative_error


def make_dense(rng: np.random.Generator, init: str = "he") -> Dense:
    dense = Dense(5, 3, rng, init=init, dtype=np.float64)
    dense.parameters["b"][:] = rng.standard_normal(3)  # non-zero bias exercises db
    return dense


def test_forward_is_affine(rng: np.random.Generator) -> None:
    dense = make_dense(rng)
    x = rng.standard_normal((4, 5))
    expected = x @ dense.parameters["W"] + dense.parameters["b"]
    np.testing.assert_allclose(dense.forward(x), expected)


@pytest.mark.parametrize("init", ["he", "glorot"])
def test_dense_gradients_match_finite_differences(init: str, rng: np.random.Generator) -> None:
    dense = make_dense(rng, init)
    x = rng.standard_normal((4, 5))
    upstream = rng.standard_normal((4, 3))

    def loss() -> float:
        return float((dense.forward(x) * upstream).sum())

    dense.forward(x)
    dx = dense.backward(upstream)
    assert dx is not None
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    for name in ("W", "b"):
        numeric = numerical_gradient(loss, dense.parameters[name])
        assert relative_error(dense.gradients[name], numeric) < 1e-6, name


def test_dense_can_skip_the_input_gradient(rng: np.random.Generator) -> None:
    dense = make_dense(rng)
    dense.forward(rng.standard_normal((2, 5)))
    assert dense.backward(np.ones((2, 3)), need_input_grad=False) is None
    assert dense.gradients["b"].tolist() == [2.0, 2.0, 2.0]


def test_he_and_glorot_scales(rng: np.random.Generator) -> None:
    he = Dense(1000, 500, rng, init="he").parameters["W"]
    glorot = Dense(1000, 500, rng, init="glorot").parameters["W"]
    assert he.dtype == np.float32
    assert abs(he.std() - np.sqrt(2 / 1000)) < 0.002
    assert abs(glorot.std() - np.sqrt(2 / 1500)) < 0.002  # U(-a, a) has std a / sqrt(3)
    assert np.abs(glorot).max() <= np.sqrt(6 / 1500)


def test_dropout_keeps_the_expected_activation(rng: np.random.Generator) -> None:
    dropout = Dropout(0.4, rng)
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
def test_dropout_rate_is_what_was_asked(rate: float, bits: int) -> None:
    dropout = Dropout(rate, np.random.default_rng(1))
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


def test_dropout_backward_uses_the_same_mask(rng: np.random.Generator) -> None:
    dropout = Dropout(0.5, rng)
    x = rng.standard_normal((50, 20))
    y = dropout.forward(x, training=True)
    grad = dropout.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad == 0, y == 0)


def test_dropout_is_identity_in_evaluation(rng: np.random.Generator) -> None:
    x = rng.standard_normal((8, 8))
    dropout = Dropout(0.9, rng)
    assert dropout.forward(x, training=False) is x
    assert dropout.backward(x) is x


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_rates(rate: float, rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(rate, rng)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.9999])
def test_relu_dropout_is_relu_then_dropout(rate: float) -> None:
    """Same draws, same values: forward and backward equal the two layers in sequence."""
    x = np.random.default_rng(2).standard_normal((64, 300)).astype(np.float32)
    grad = np.random.default_rng(3).standard_normal((64, 300)).astype(np.float32)
    fused = ReLUDropout(rate, np.random.default_rng(4))
    relu, dropout = ReLU(), Dropout(rate, np.random.default_rng(4))
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

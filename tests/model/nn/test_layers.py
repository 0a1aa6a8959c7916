"""Dense and Dropout: gradients against finite differences, dropout statistics."""

from __future__ import annotations

import numpy as np
import pytest

from model.nn.layers import Dense, Dropout
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


def test_parameter_gradients_are_backward_without_the_input_gradient(
    rng: np.random.Generator,
) -> None:
    dense = make_dense(rng)
    x, upstream = rng.standard_normal((2, 5)), rng.standard_normal((2, 3))
    dense.forward(x)
    dense.backward(upstream)
    full = {k: v.copy() for k, v in dense.gradients.items()}
    for gradient in dense.gradients.values():
        gradient[...] = 0
    dense.parameter_gradients(upstream)
    for name in ("W", "b"):
        np.testing.assert_array_equal(dense.gradients[name], full[name])


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
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)


def test_dropout_backward_uses_the_same_mask(rng: np.random.Generator) -> None:
    dropout = Dropout(0.5, rng)
    x = rng.standard_normal((50, 20))
    y = dropout.forward(x, training=True)
    grad = dropout.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad == 0, y == 0)
    np.testing.assert_allclose(grad[y != 0], 2.0)


def test_dropout_is_identity_in_evaluation(rng: np.random.Generator) -> None:
    x = rng.standard_normal((8, 8))
    dropout = Dropout(0.9, rng)
    assert dropout.forward(x, training=False) is x
    assert dropout.backward(x) is x


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_rates(rate: float, rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(rate, rng)

"""Activations: forward values, and backward against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from model.nn.activations import ACTIVATIONS, make_activation, sigmoid
from tests.conftest import numerical_gradient, relative_error


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_finite_differences(name: str, rng: np.random.Generator) -> None:
    act = make_activation(name)
    # Keep inputs away from ReLU's kink at 0, where the derivative is undefined.
    x = rng.standard_normal((4, 7))
    x[np.abs(x) < 1e-3] = 0.5
    upstream = rng.standard_normal((4, 7))

    def loss() -> float:
        return float((act.forward(x) * upstream).sum())

    act.forward(x)
    analytic = act.backward(upstream)
    numeric = numerical_gradient(loss, x)
    assert analytic.dtype == np.float64
    assert relative_error(analytic, numeric) < 1e-6


def test_relu_and_leaky_relu_values() -> None:
    x = np.array([[-2.0, 0.0, 3.0]])
    assert make_activation("relu").forward(x).tolist() == [[0.0, 0.0, 3.0]]
    assert make_activation("leaky_relu").forward(x).tolist() == [[-0.02, 0.0, 3.0]]


def test_sigmoid_is_stable_and_exact_at_extremes() -> None:
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = sigmoid(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [0.0, 1.9287e-22, 0.5, 1.0, 1.0], rtol=1e-4, atol=0)


def test_sigmoid_matches_the_textbook_formula_where_that_is_safe() -> None:
    x = np.linspace(-20, 20, 101)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12)


def test_tanh_values() -> None:
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(make_activation("tanh").forward(x), np.tanh(x))


def test_unknown_activation_names_the_choices() -> None:
    with pytest.raises(ValueError, match="relu"):
        make_activation("swishy")


def test_float32_stays_float32() -> None:
    x = np.ones((2, 3), dtype=np.float32)
    for name in ACTIVATIONS:
        act = make_activation(name)
        assert act.forward(x).dtype == np.float32
        assert act.backward(x).dtype == np.float32

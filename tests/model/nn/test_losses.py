"""Softmax cross-entropy and L2: values, stability, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from model.nn.losses import l2_penalty, softmax, softmax_cross_entropy
from tests.conftest import numerical_gradient, relative_error


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_gradient_matches_finite_differences(
    smoothing: float, rng: np.random.Generator
) -> None:
    logits = rng.standard_normal((6, 10)) * 3
    labels = rng.integers(0, 10, 6)

    def loss() -> float:
        return softmax_cross_entropy(logits, labels, smoothing)[0]

    _, _, grad = softmax_cross_entropy(logits, labels, smoothing)
    assert relative_error(grad, numerical_gradient(loss, logits)) < 1e-6


def test_gradient_is_p_minus_onehot_over_n(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((3, 4))
    labels = np.array([0, 3, 1])
    _, p, grad = softmax_cross_entropy(logits, labels)
    np.testing.assert_allclose(grad, (p - np.eye(4)[labels]) / 3)


def test_cross_entropy_value() -> None:
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    loss, p, _ = softmax_cross_entropy(logits, np.array([0, 2]))
    assert loss == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_for_logits_of_plus_minus_1000(dtype: type) -> None:
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, p, grad = softmax_cross_entropy(logits, np.array([1, 2]))
        q = softmax(logits)
    assert np.isfinite(loss)
    assert loss == pytest.approx(1000.0, rel=1e-6)  # first row: log(e^1000 / e^-1000) / 2
    assert np.all(np.isfinite(p))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(q, [[1, 0, 0], [0, 0, 1]], atol=1e-7)


def test_l2_penalty_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    strength = 0.3
    for W in weights:
        numeric = numerical_gradient(lambda: l2_penalty(weights, strength), W)
        assert relative_error(strength * W, numeric) < 1e-6


def test_l2_penalty_value() -> None:
    assert l2_penalty([np.array([[1.0, 2.0]]), np.array([[3.0]])], 0.1) == pytest.approx(0.7)

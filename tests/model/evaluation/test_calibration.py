"""Temperature scaling: the fit recovers a known temperature, and the ECE of a hand-worked case."""

from __future__ import annotations

import numpy as np
import pytest

from model.evaluation.calibration import (
    calibrate,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)
from model.nn.losses import softmax


def sampled_labels(logits: np.ndarray, temperature: float, seed: int) -> np.ndarray:
    """Labels drawn from softmax(logits / temperature): a model calibrated at that T."""
    p = softmax(logits / temperature)
    u = np.random.default_rng(seed).random((len(p), 1))
    return (u > p.cumsum(axis=1)).sum(axis=1).clip(0, p.shape[1] - 1)


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_recovers_the_temperature_the_labels_were_drawn_with(true_temperature: float) -> None:
    logits = np.random.default_rng(0).normal(scale=3.0, size=(20000, 10))
    labels = sampled_labels(logits, true_temperature, seed=1)
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.05)


def test_fit_minimises_the_negative_log_likelihood() -> None:
    logits = np.random.default_rng(2).normal(scale=4.0, size=(3000, 10))
    labels = sampled_labels(logits, 1.7, seed=3)
    best = fit_temperature(logits, labels)
    nll = negative_log_likelihood(logits, labels, best)
    for other in (best * 0.9, best * 1.1, 1.0):
        assert nll <= negative_log_likelihood(logits, labels, other) + 1e-9


def test_ece_of_a_hand_worked_case() -> None:
    # Two samples at confidence 0.9 (one right, one wrong): |0.5 - 0.9| = 0.4, weight 1/2.
    # Two at confidence 0.62 (both right): |1.0 - 0.62| = 0.38, weight 1/2. ECE = 0.39.
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.38, 0.62], [0.38, 0.62]], dtype=np.float64)
    labels = np.array([0, 1, 1, 1])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.39, abs=1e-12)


def test_ece_is_zero_when_confidence_is_accuracy() -> None:
    probabilities = np.array([[0.75, 0.25]] * 4)
    labels = np.array([0, 0, 0, 1])  # 3 of 4 right at confidence 0.75
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-12)


def test_calibrate_reports_a_better_fit_and_changes_no_prediction() -> None:
    logits = np.random.default_rng(4).normal(scale=3.0, size=(5000, 10))
    labels = sampled_labels(logits, 2.0, seed=5)
    overconfident = logits * 2.0  # what an overfitted network does: same ranking, too sure
    report = calibrate(overconfident, labels)
    assert report["temperature"] == pytest.approx(4.0, rel=0.08)
    assert report["nll_after"] < report["nll_before"]
    assert report["ece_after"] < report["ece_before"]
    after = softmax(overconfident / report["temperature"])
    np.testing.assert_array_equal(after.argmax(axis=1), overconfident.argmax(axis=1))

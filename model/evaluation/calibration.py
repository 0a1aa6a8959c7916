"""Temperature scaling (Guo et al., 2017): make the confidence match the accuracy.

One scalar T divides the logits before the softmax. It changes no prediction, only how sure
the model says it is; it is fitted on the validation split by minimising the cross-entropy.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from model.nn.losses import log_softmax, softmax

Array = NDArray[np.floating]


def negative_log_likelihood(
    logits: Array, labels: NDArray[np.integer], temperature: float
) -> float:
    log_p = log_softmax(logits.astype(np.float64) / temperature)
    return float(-log_p[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: Array, labels: NDArray[np.integer]) -> float:
    """The T in [0.05, 20] minimising validation NLL (golden-section search on log T)."""
    low, high = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa = negative_log_likelihood(logits, labels, math.exp(a))
    fb = negative_log_likelihood(logits, labels, math.exp(b))
    for _ in range(60):  # the NLL is convex in 1/T, so the bracket shrinks onto the minimum
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = negative_log_likelihood(logits, labels, math.exp(b))
    return math.exp((low + high) / 2)


def expected_calibration_error(
    probabilities: Array, labels: NDArray[np.integer], bins: int = 15
) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def calibrate(logits: Array, labels: NDArray[np.integer]) -> dict[str, float]:
    """Fit T and report the ECE and NLL before and after, for the weight metadata."""
    temperature = fit_temperature(logits, labels)
    before = softmax(logits.astype(np.float64))
    after = softmax(logits.astype(np.float64) / temperature)
    return {
        "temperature": round(temperature, 5),
        "ece_before": round(expected_calibration_error(before, labels), 5),
        "ece_after": round(expected_calibration_error(after, labels), 5),
        "nll_before": round(negative_log_likelihood(logits, labels, 1.0), 5),
        "nll_after": round(negative_log_likelihood(logits, labels, temperature), 5),
    }

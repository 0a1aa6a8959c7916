"""Softmax, cross-entropy fused with it, and L2 regularisation: the network's one softmax.

Shapes are batch-first: logits (n, classes), integer labels (n,).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


def softmax(logits: Array) -> Array:
    """Row-wise softmax: (n, classes) -> (n, classes), rows sum to 1."""
    # Subtracting the row maximum leaves the result unchanged and keeps exp() <= 1, so logits
    # of +-1000 neither overflow nor turn into 0/0.
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp: Array = np.exp(shifted)
    exp /= exp.sum(axis=1, keepdims=True)
    return exp


def log_softmax(logits: Array) -> Array:
    """Row-wise log softmax, stable for large logits: (n, classes) -> (n, classes)."""
    # log p = z - log sum exp z, with the row maximum taken out of the sum as in softmax.
    shifted = logits - logits.max(axis=1, keepdims=True)
    result: Array = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result


def softmax_cross_entropy(
    logits: Array, labels: NDArray[np.integer], label_smoothing: float = 0.0
) -> tuple[float, Array, Array]:
    """Mean cross-entropy of softmax(logits) against integer labels.

    logits (n, classes), labels (n,). Returns (loss, probabilities (n, classes),
    dL/dlogits (n, classes)). Fusing the two gives the gradient (p - y) / n directly, with no
    per-sample softmax Jacobian.
    """
    n, classes = logits.shape
    rows = np.arange(n)
    log_p = log_softmax(logits)
    probabilities = np.exp(log_p)
    # The target puts label_smoothing / classes on every class and the rest on the label, so
    # both the loss and the gradient are a uniform term plus a correction at the label; no
    # (n, classes) target array is needed.
    uniform = label_smoothing / classes
    on_label = 1.0 - label_smoothing
    loss = -(on_label * float(log_p[rows, labels].sum()) + uniform * float(log_p.sum())) / n
    grad = probabilities - logits.dtype.type(uniform)
    grad[rows, labels] -= logits.dtype.type(on_label)
    grad /= logits.dtype.type(n)
    return loss, probabilities, grad


def l2_penalty(weights: Iterable[Array], strength: float) -> float:
    """0.5 * strength * sum of squared weights; its gradient is strength * W."""
    return 0.5 * strength * float(sum(np.vdot(W, W) for W in weights))

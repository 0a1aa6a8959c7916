"""Score a trained network on MNIST: accuracy, per-class accuracy, confusions, mistakes.

Training calls `evaluate` on the test set once per finished model and stores the result in the
weight file; `digits evaluate` (app/cli.py) prints `format_report` of it.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.nn.mlp import MLP
from model.serving.preprocess import normalize

CLASSES = 10


def predict_in_batches(
    network: MLP, x: NDArray[np.float32], batch_size: int = 8192
) -> NDArray[np.float32]:
    """Probabilities for many rows without one huge activation matrix: (n, 784) -> (n, 10)."""
    out = np.empty((x.shape[0], network.layer_sizes[-1]), dtype=np.float32)
    for start in range(0, x.shape[0], batch_size):
        out[start : start + batch_size] = network.predict_proba(x[start : start + batch_size])
    return out


def confusion_matrix(
    labels: NDArray[np.integer], predicted: NDArray[np.integer]
) -> NDArray[np.int64]:
    """counts[true, predicted], (10, 10)."""
    counts = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def evaluate(
    network: MLP,
    images: NDArray[np.uint8],
    labels: NDArray[np.integer],
    mean: float,
    std: float,
    mistakes: int = 48,
) -> dict[str, Any]:
    """The report for images (n, 28, 28) uint8 and labels (n,): JSON-ready."""
    probabilities = predict_in_batches(
        network, normalize(images.reshape(len(images), -1), mean, std)
    )
    predicted = probabilities.argmax(axis=1)
    confusion = confusion_matrix(labels, predicted)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    off_diagonal = confusion - np.diag(confusion.diagonal())
    order = np.argsort(off_diagonal, axis=None)[::-1][:5]
    confused = [
        {"true": int(t), "predicted": int(p), "count": int(off_diagonal[t, p])}
        for t, p in zip(*np.unravel_index(order, off_diagonal.shape), strict=True)
        if off_diagonal[t, p] > 0
    ]
    wrong = np.flatnonzero(predicted != labels)
    # An even spread over the mistakes, not the first few: a fairer picture of what goes wrong.
    sample = (
        wrong[np.linspace(0, len(wrong) - 1, min(mistakes, len(wrong))).astype(int)]
        if len(wrong)
        else wrong
    )
    return {
        "count": len(labels),
        "accuracy": float((predicted == labels).mean()),
        "per_class": [round(float(a), 6) for a in per_class],
        "confusion": confusion.tolist(),
        "most_confused": confused,
        "mistakes": [
            {
                "index": int(i),
                "true": int(labels[i]),
                "predicted": int(predicted[i]),
                "confidence": round(float(probabilities[i, predicted[i]]), 4),
                "image_b64": base64.b64encode(images[i].tobytes()).decode("ascii"),
            }
            for i in sample
        ],
    }


def format_report(report: dict[str, Any]) -> str:
    """A human-readable table of an `evaluate` report."""
    lines = [f"accuracy  {report['accuracy'] * 100:.2f}%  on {report['count']:,} images", ""]
    lines.append("class  accuracy")
    lines += [f"  {c}    {a * 100:6.2f}%" for c, a in enumerate(report["per_class"])]
    lines += ["", "confusion (rows: true, columns: predicted)"]
    lines.append("     " + "".join(f"{c:>6}" for c in range(CLASSES)))
    lines += [
        f"  {t}  " + "".join(f"{n:>6}" for n in row) for t, row in enumerate(report["confusion"])
    ]
    if report["most_confused"]:
        lines += ["", "most confused pairs"]
        lines += [
            f"  {pair['true']} read as {pair['predicted']}: {pair['count']}"
            for pair in report["most_confused"]
        ]
    return "\n".join(lines)

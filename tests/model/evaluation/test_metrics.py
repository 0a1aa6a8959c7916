"""Evaluation metrics, and the shipped weights' accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.evaluation.metrics import confusion_matrix, evaluate
from model.files import load_weights
from tests.conftest import ROOT, SAMPLE_DIR, SHIPPED_WEIGHTS

FULL_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def test_confusion_matrix_counts() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(labels, predicted)
    assert matrix[0, 0] == 1
    assert matrix[0, 1] == 1
    assert matrix[2, 0] == 1
    assert matrix[2, 2] == 2
    assert matrix.sum() == 6


def test_shipped_weights_score_at_least_98_percent_on_the_sample() -> None:
    network, metadata = load_weights(SHIPPED_WEIGHTS)
    images, labels = load_mnist(SAMPLE_DIR, "test")
    norm = metadata["normalization"]
    report = evaluate(network, images, labels, norm["mean"], norm["std"])
    assert report["accuracy"] >= 0.98
    per_class = np.array(report["per_class"])
    assert per_class.shape == (10,)
    assert per_class.min() > 0.9
    wrong = report["count"] - np.trace(np.array(report["confusion"]))
    assert len(report["mistakes"]) == min(wrong, 48)
    for mistake in report["mistakes"]:
        assert mistake["true"] != mistake["predicted"]


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason="the full MNIST set is not beside the checkout")
def test_shipped_weights_meet_the_target_on_the_full_test_set() -> None:
    network, metadata = load_weights(SHIPPED_WEIGHTS)
    images, labels = load_mnist(FULL_MNIST, "test")
    norm = metadata["normalization"]
    report = evaluate(network, images, labels, norm["mean"], norm["std"])
    assert report["accuracy"] >= 0.985
    assert report["accuracy"] == pytest.approx(metadata["metrics"]["test_accuracy"])

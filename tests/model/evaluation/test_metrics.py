"""Evaluation metrics, and the shipped weights' accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.data.mnist import (
    DATA_ENV_VAR,
    DataError,
    DataNotFoundError,
    load_mnist,
    resolve_data_dir,
)
from model.evaluation.metrics import confusion_matrix, evaluate
from model.files import load_weights
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS

FULL_TEST_SET = 10_000  # digits in MNIST's test split


def full_mnist_test_set() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's whole test split, found as `digits evaluate` finds it ($DIGITS_DATA, else the
    per-user cache that `digits download` fills); skips the test, saying why, without it."""
    try:
        images, labels = load_mnist(resolve_data_dir(), "test")
    except (DataNotFoundError, DataError) as error:
        pytest.skip(f"no full MNIST: {error}")  # it says where it looked and what to run
    if len(labels) != FULL_TEST_SET:
        pytest.skip(f"the MNIST found holds {len(labels):,} test digits, not {FULL_TEST_SET:,}")
    return images, labels


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


def test_the_full_set_is_found_where_the_cli_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_ENV_VAR, str(SAMPLE_DIR))  # found, but only 1,000 test digits
    with pytest.raises(pytest.skip.Exception, match="holds 1,000 test digits"):
        full_mnist_test_set()
    monkeypatch.delenv(DATA_ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty per-user cache
    with pytest.raises(pytest.skip.Exception, match=rf"no full MNIST: {tmp_path}/digits/mnist"):
        full_mnist_test_set()


def test_shipped_weights_meet_the_target_on_the_full_test_set() -> None:
    images, labels = full_mnist_test_set()
    network, metadata = load_weights(SHIPPED_WEIGHTS)
    norm = metadata["normalization"]
    report = evaluate(network, images, labels, norm["mean"], norm["std"])
    assert report["accuracy"] >= 0.985
    assert report["accuracy"] == pytest.approx(metadata["metrics"]["test_accuracy"])

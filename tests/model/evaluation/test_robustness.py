"""The robustness conditions change digits the way drawings do, and the report scores them."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.evaluation.robustness import CONDITIONS, robustness_report, thickened, thinned
from model.files import load_weights
from model.serving.preprocess import many_to_mnist
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist(SAMPLE_DIR, "test")
    return images[:120], labels[:120]


def ink(images: np.ndarray) -> np.ndarray:
    """Ink per image, in [0, 1] units, whatever the image size."""
    return images.reshape(len(images), -1).sum(axis=1) / (images.shape[1] * images.shape[2])


def test_thickened_adds_ink_and_thinned_removes_it(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = sample
    rng = np.random.default_rng(0)
    base = ink(images.astype(np.float32) / 255)
    assert (ink(thickened(images, rng)) > base).all()
    assert (ink(thinned(images, rng)) < base).all()


def test_every_condition_goes_through_the_recipe(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = sample
    for name, condition in CONDITIONS.items():
        inputs, valid = many_to_mnist(condition(images[:20], np.random.default_rng(1)))
        assert inputs.shape == (20, 28, 28), name
        assert inputs.dtype == np.uint8, name
        assert valid.mean() >= 0.9, name  # only a stroke thinned to nothing may drop out


def test_report_scores_the_shipped_model(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample
    network, metadata = load_weights(SHIPPED_WEIGHTS)
    norm = metadata["normalization"]
    report = robustness_report(network, images, labels, norm["mean"], norm["std"])
    expected = {"raw (no recipe)", *CONDITIONS, "7s and 1s (recipe)", "7s and 1s, European styles"}
    assert set(report) == expected
    assert all(0.0 <= value <= 1.0 for value in report.values())
    # The shipped model reads these easy sample digits almost perfectly, through the recipe too.
    assert report["clean (recipe)"] >= 0.95
    assert report["7s and 1s (recipe)"] >= 0.95


def test_report_notices_a_useless_model(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample
    network, metadata = load_weights(SHIPPED_WEIGHTS)
    for dense in network.dense:
        dense.parameters["W"][...] = 0.0
        dense.parameters["b"][...] = 0.0
    network.dense[-1].parameters["b"][3] = 1.0  # always answers 3
    norm = metadata["normalization"]
    report = robustness_report(network, images, labels, norm["mean"], norm["std"])
    share_of_threes = float((labels == 3).mean())
    assert report["clean (recipe)"] == pytest.approx(share_of_threes, abs=1e-4)
    assert report["7s and 1s, European styles"] == 0.0

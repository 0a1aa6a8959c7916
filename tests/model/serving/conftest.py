"""Fixtures the serving tests share: the shipped model and the committed MNIST test sample."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.serving.predictor import Predictor
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS

Sample = tuple[np.ndarray, np.ndarray]


@pytest.fixture(scope="session")
def shipped() -> Predictor:
    """The served model, loaded once: tests only read from it."""
    return Predictor.from_file(SHIPPED_WEIGHTS)


@pytest.fixture(scope="session")
def sample() -> Sample:
    """The committed sample of the MNIST test set: (1000, 28, 28) uint8, (1000,) labels."""
    return load_mnist(SAMPLE_DIR, "test")

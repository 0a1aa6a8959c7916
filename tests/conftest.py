"""Shared test helpers: paths, and a central finite-difference gradient in float64."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from numpy.typing import NDArray

# CI runs the same examples every time (no flaky red builds); locally Hypothesis explores.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "tests" / "data" / "mnist-sample"
SHIPPED_WEIGHTS = ROOT / "weights" / "mnist_mlp.npz"


def shipped_layer_sizes() -> list[int]:
    """The shipped network's layer sizes, so tests follow the model when it is retrained."""
    from model.files import load_weights

    return list(load_weights(SHIPPED_WEIGHTS)[0].layer_sizes)


def numerical_gradient(
    f: Callable[[], float], x: NDArray[np.float64], eps: float = 1e-6
) -> NDArray[np.float64]:
    """Central differences of the scalar f() with respect to every entry of x (changed in place)."""
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + eps
        plus = f()
        flat_x[i] = saved - eps
        minus = f()
        flat_x[i] = saved
        flat_g[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    """max |a - b| / max(|a|, |b|), the usual gradient-check measure."""
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()), 1e-12)
    return float(np.abs(a - b).max()) / scale


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)

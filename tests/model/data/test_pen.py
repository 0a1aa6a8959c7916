"""Digits re-drawn with a constant pen: one stroke width, and back through the recipe."""

from __future__ import annotations

import numpy as np

from model.data.mnist import load_mnist
from model.data.pen import pen_redraw_dataset, pen_redrawn
from tests.conftest import SAMPLE_DIR


def sample() -> np.ndarray:
    images, _ = load_mnist(SAMPLE_DIR, "test")
    return images[:60]


def test_pen_redrawn_strokes_have_one_width() -> None:
    images = sample()
    redrawn = pen_redrawn(images, np.random.default_rng(0))
    assert redrawn.shape == (len(images), 56, 56)
    # A constant round pen lays down full ink or none: no grey scanned edges.
    assert set(np.unique(redrawn)) <= {0.0, 1.0}
    assert (redrawn.reshape(len(images), -1).max(axis=1) == 1.0).all()


def test_pen_redraw_dataset_gives_mnist_inputs_of_the_same_digits() -> None:
    images = sample()
    redrawn = pen_redraw_dataset(images, np.random.default_rng(0), chunk=25)
    assert redrawn.shape == images.shape
    assert redrawn.dtype == np.uint8
    # Re-drawn, not copied, yet where the ink was: most inked pixels still overlap.
    assert not np.array_equal(redrawn, images)
    overlap = ((redrawn > 64) & (images > 64)).sum() / (images > 64).sum()
    assert overlap > 0.5

"""Augmentation: identity when switched off, seeded, and each distortion does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.augment import AugmentParams, augment, bilinear_sample, change_thickness
from model.data.mnist import load_mnist
from tests.conftest import SAMPLE_DIR

OFF = AugmentParams(0, 0, 0, 0, 0, 4.0, 0)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    images, _ = load_mnist(SAMPLE_DIR, "test")
    return (images[:64] / 255).astype(np.float32)


def center_of_mass(images: np.ndarray) -> np.ndarray:
    grid = np.arange(28)
    mass = images.sum(axis=(1, 2))
    rows = (images.sum(axis=2) * grid).sum(axis=1) / mass
    cols = (images.sum(axis=1) * grid).sum(axis=1) / mass
    return np.stack([rows, cols], axis=1)


def test_all_off_is_the_identity(digits: np.ndarray) -> None:
    out = augment(digits, np.random.default_rng(0), OFF)
    np.testing.assert_allclose(out, digits, atol=1e-6)


def test_shape_dtype_and_range(digits: np.ndarray) -> None:
    out = augment(digits, np.random.default_rng(0), AugmentParams())
    assert out.shape == digits.shape
    assert out.dtype == np.float32
    assert out.min() >= 0
    assert out.max() <= 1
    assert not np.allclose(out, digits)


def test_same_seed_same_batch(digits: np.ndarray) -> None:
    a = augment(digits, np.random.default_rng(3), AugmentParams())
    b = augment(digits, np.random.default_rng(3), AugmentParams())
    np.testing.assert_array_equal(a, b)


def test_shift_moves_the_centre_of_mass_within_bounds(digits: np.ndarray) -> None:
    params = AugmentParams(max_shift=3, max_rotation=0, max_scale=0, max_shear=0,
                           elastic_alpha=0, thickness_prob=0)  # fmt: skip
    moved = center_of_mass(augment(digits, np.random.default_rng(1), params))
    delta = moved - center_of_mass(digits)
    assert np.abs(delta).max() <= 3.2  # bilinear resampling blurs by a fraction of a pixel
    assert np.abs(delta).mean() > 0.8  # and the shifts really happen


def test_integer_resampling_is_exact(digits: np.ndarray) -> None:
    grid = np.arange(28, dtype=np.float32)
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    n = len(digits)
    shifted = bilinear_sample(digits, np.broadcast_to(rows - 1, (n, 28, 28)),
                              np.broadcast_to(cols, (n, 28, 28)))  # fmt: skip
    np.testing.assert_array_equal(shifted[:, 1:], digits[:, :-1])
    assert (shifted[:, 0] == 0).all()  # pulled from outside the image


def test_thickness_dilates_and_erodes(digits: np.ndarray) -> None:
    thick = change_thickness(digits, np.random.default_rng(0), prob=1.0)
    ink_before, ink_after = digits.sum(axis=(1, 2)), thick.sum(axis=(1, 2))
    assert (ink_after > ink_before * 1.2).any()  # some dilated
    assert (ink_after < ink_before * 0.9).any()  # some thinned
    untouched = change_thickness(digits, np.random.default_rng(0), prob=0.0)
    assert untouched is digits

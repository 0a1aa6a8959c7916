"""Style strokes: 7s get a cross-bar, 1s a flag (and sometimes a foot), nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.data.styles import INK, add_style_strokes, draw_segments, ink_extent, pen_radius
from tests.conftest import SAMPLE_DIR


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist(SAMPLE_DIR, "train")


def of_digit(sample: tuple[np.ndarray, np.ndarray], digit: int) -> np.ndarray:
    images, labels = sample
    chosen: np.ndarray = images[labels == digit]
    return chosen


def styled(images: np.ndarray, digit: int, seed: int = 0) -> np.ndarray:
    labels = np.full(len(images), digit)
    return add_style_strokes(images, labels, np.random.default_rng(seed), 1.0)


def new_ink(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Pixels that became ink: (n, 28, 28) bool."""
    return (after > INK) & (before <= INK)


def test_shape_dtype_and_other_labels_untouched(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample[0][:300], sample[1][:300]
    out = add_style_strokes(images, labels, np.random.default_rng(0), 1.0)
    assert out.shape == images.shape
    assert out.dtype == np.uint8
    others = (labels != 7) & (labels != 1)
    np.testing.assert_array_equal(out[others], images[others])
    assert not np.array_equal(out[~others], images[~others])


def test_probability_zero_returns_an_identical_copy(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample[0][:200], sample[1][:200]
    out = add_style_strokes(images, labels, np.random.default_rng(0), 0.0)
    np.testing.assert_array_equal(out, images)
    assert not np.shares_memory(out, images)


def test_probability_one_adds_ink_to_every_seven_and_one(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    for digit in (7, 1):
        images = of_digit(sample, digit)
        out = styled(images, digit)
        gained = out.sum(axis=(1, 2), dtype=np.int64) - images.sum(axis=(1, 2), dtype=np.int64)
        assert (gained > 0).all(), f"some {digit}s gained no ink"
        assert (out >= images).all()  # strokes are added by maximum, never erase


def test_probability_is_roughly_the_share_styled(sample: tuple[np.ndarray, np.ndarray]) -> None:
    sevens = of_digit(sample, 7)
    out = add_style_strokes(sevens, np.full(len(sevens), 7), np.random.default_rng(1), 0.3)
    share = (out != sevens).any(axis=(1, 2)).mean()
    assert 0.18 < share < 0.42  # 224 sevens: 0.3 +- 3 standard deviations


def test_seven_bar_is_a_horizontal_band_a_little_below_the_middle(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    sevens = of_digit(sample, 7)
    added = new_ink(sevens, styled(sevens, 7))
    top, bottom, _, _ = ink_extent(sevens)
    flat = middle = 0
    for mask, first, last in zip(added, top, bottom, strict=True):
        rows, cols = np.nonzero(mask)
        if len(rows) < 3:  # the bar fell mostly on existing ink
            continue
        flat += int(np.ptp(rows) < 0.6 * np.ptp(cols))
        middle += int(first + 0.4 * (last - first) <= rows.mean() <= first + 0.8 * (last - first))
    assert flat >= 0.9 * len(sevens)
    assert middle >= 0.9 * len(sevens)


def test_seven_bar_crosses_the_stem(sample: tuple[np.ndarray, np.ndarray]) -> None:
    sevens = of_digit(sample, 7)
    added = new_ink(sevens, styled(sevens, 7))
    crossed = 0
    for before, mask in zip(sevens, added, strict=True):
        rows, cols = np.nonzero(mask)
        row = int(np.median(rows))
        stem = np.nonzero(before[row] > INK)[0]
        # New ink on both sides of the stem on the bar's own row: it goes through, not beside.
        crossed += int(len(stem) > 0 and cols.min() < stem.min() and cols.max() > stem.max())
    assert crossed >= 0.85 * len(sevens)


def test_one_flag_adds_ink_up_and_left_of_its_top(sample: tuple[np.ndarray, np.ndarray]) -> None:
    ones = of_digit(sample, 1)
    added = new_ink(ones, styled(ones, 1))
    top, bottom, _, _ = ink_extent(ones)
    flagged = 0
    for before, mask, first, last in zip(ones, added, top, bottom, strict=True):
        tip = np.nonzero(before[first] > INK)[0].mean()
        upper_left = mask[first : first + (last - first) // 2, : int(tip) - 1]
        flagged += upper_left.sum() >= 3
    assert flagged >= 0.95 * len(ones)


def test_about_a_third_of_flagged_ones_get_a_foot(sample: tuple[np.ndarray, np.ndarray]) -> None:
    ones = of_digit(sample, 1)
    added = new_ink(ones, styled(ones, 1, seed=2))
    _, bottom, _, _ = ink_extent(ones)
    # A foot is new ink spread sideways along the digit's bottom rows.
    footed = np.array(
        [m[b - 1 : b + 2].any(axis=0).sum() >= 5 for m, b in zip(added, bottom, strict=True)]
    )
    assert 0.2 < footed.mean() < 0.47  # 220 ones: a third +- 3 standard deviations


def test_same_seed_same_strokes(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample[0][:300], sample[1][:300]
    a = add_style_strokes(images, labels, np.random.default_rng(5), 0.5)
    b = add_style_strokes(images, labels, np.random.default_rng(5), 0.5)
    c = add_style_strokes(images, labels, np.random.default_rng(6), 0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_input_is_not_modified(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample[0][:300].copy(), sample[1][:300].copy()
    kept_images, kept_labels = images.copy(), labels.copy()
    add_style_strokes(images, labels, np.random.default_rng(0), 1.0)
    np.testing.assert_array_equal(images, kept_images)
    np.testing.assert_array_equal(labels, kept_labels)


def test_blank_images_and_empty_batches() -> None:
    blank = np.zeros((4, 28, 28), np.uint8)
    out = add_style_strokes(blank, np.array([7, 1, 7, 1]), np.random.default_rng(0), 1.0)
    np.testing.assert_array_equal(out, blank)
    none = add_style_strokes(
        np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), np.random.default_rng(0), 1.0
    )
    assert none.shape == (0, 28, 28)
    assert none.dtype == np.uint8


def test_label_count_must_match_image_count() -> None:
    with pytest.raises(ValueError, match="labels"):
        add_style_strokes(np.zeros((3, 28, 28), np.uint8), np.array([7, 1]),
                          np.random.default_rng(0), 0.5)  # fmt: skip


@pytest.mark.parametrize("radius", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("degrees", [0, 30, 45, 70, 90])
def test_pen_radius_recovers_the_pen_of_a_drawn_stroke(radius: float, degrees: float) -> None:
    angle = np.deg2rad(degrees)
    half = 6 * np.array([np.sin(angle), np.cos(angle)], np.float32)
    centre = np.array([14, 14], np.float32)
    stroke = draw_segments(
        np.zeros((1, 28, 28), np.uint8),
        (centre - half)[None, None],
        (centre + half)[None, None],
        np.array([radius], np.float32),
    )
    assert pen_radius(stroke)[0] == pytest.approx(radius, abs=0.15)


def test_segment_ends_are_kept_off_the_frame_edge() -> None:
    # A line asked to run from beyond the left edge to beyond the right one stops at columns
    # 1 and 26, so the outermost columns only get the pen's anti-aliased rim.
    line = draw_segments(
        np.zeros((1, 28, 28), np.uint8),
        np.array([[[14, -10]]], np.float32),
        np.array([[[14, 40]]], np.float32),
        np.array([1.0], np.float32),
    )
    assert line[0, 14, 1] == 255
    assert line[0, 14, 0] == 128
    assert line[0, 14, 27] == 128

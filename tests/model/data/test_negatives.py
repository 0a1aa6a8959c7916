"""Non-digit drawings and digit groups: valid inputs, seeded, and shaped as their kind says."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import negatives
from model.data.mnist import load_mnist
from model.data.unipen import load_strokes
from model.serving.verdict import structural_features
from tests.conftest import SAMPLE_DIR


@pytest.mark.parametrize("kind", sorted(negatives.NEGATIVE_KINDS))
def test_every_kind_makes_valid_seeded_inputs(kind: str) -> None:
    make = negatives.NEGATIVE_KINDS[kind]
    first = [make(np.random.default_rng([7, i])) for i in range(12)]
    again = [make(np.random.default_rng([7, i])) for i in range(12)]
    for image, same in zip(first, again, strict=True):
        assert image.shape == (28, 28)
        assert image.dtype == np.uint8
        assert image.any()  # a blank input would be a 422, never a training example
        np.testing.assert_array_equal(image, same)


def test_dashes_are_wide_and_never_an_upright_bar() -> None:
    aspects = structural_features(
        np.stack([negatives.dashes(np.random.default_rng(i)) for i in range(40)]), ["box_aspect"]
    )[:, 0]
    assert (aspects > -0.1).all()  # log2(width / height) / 4: never taller than wide


def test_solid_shapes_are_never_narrow_upright_bars() -> None:
    """A narrow upright bar is a thick "1": blobs and squares stay at least 0.6 as wide as tall
    (the recipe can make a box a pixel narrower, hence the slack)."""
    shapes = [negatives.blobs(np.random.default_rng(i)) for i in range(30)]
    shapes += [negatives.squares(np.random.default_rng(i)) for i in range(30)]
    aspects = structural_features(np.stack(shapes), ["box_aspect"])[:, 0]
    assert (2 ** (4 * aspects) >= 0.5).all()


def test_scribbles_ink_more_than_a_digit_of_their_size() -> None:
    scribbles = np.stack([negatives.scribbles(np.random.default_rng(i)) for i in range(30)])
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    ink = structural_features(scribbles, ["ink_fraction"])[:, 0]
    digit_ink = structural_features(digits, ["ink_fraction"])[:, 0]
    assert np.median(ink) > np.median(digit_ink)


def test_side_by_side_places_digits_left_to_right_with_the_gap_asked() -> None:
    square = [np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])]
    placed = negatives.side_by_side(np.random.default_rng(0), [square, square, square])
    lefts = [float(s[:, 0].min()) for s in placed]
    rights = [float(s[:, 0].max()) for s in placed]
    assert lefts == sorted(lefts)
    for right, left in zip(rights, lefts[1:], strict=False):
        gap = left - right  # in digit heights, about 1 unit tall each
        assert negatives.GROUP_GAPS[0] * 1.2 <= gap <= negatives.GROUP_GAPS[1] * 1.2


def test_groups_are_wide_and_hold_a_one_in_about_a_third() -> None:
    strokes = load_strokes()
    rng = np.random.default_rng(0)
    picks = [negatives.pick_group(rng, strokes.labels) for _ in range(600)]
    assert all(2 <= len(p) <= 4 for p in picks)
    with_one = np.mean([any(strokes.labels[i] == 1 for i in p[:2]) for p in picks])
    assert 0.3 < with_one < 0.55  # ONE_SHARE plus 1s picked by chance
    groups = np.stack(
        [
            negatives.unipen_group(rng, [strokes.strokes(i) for i in p])
            for p in picks[:20]
            if len(p) >= 3
        ]
    )
    aspects = structural_features(groups, ["box_aspect"])[:, 0]
    assert np.mean(aspects > 0) > 0.8  # most wider than tall ("111" with overlaps may not be)


def test_mnist_group_keeps_every_digit() -> None:
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    rng = np.random.default_rng(0)
    image = negatives.mnist_group(rng, [digits[0], digits[1]])
    assert image.shape == (28, 28)
    assert structural_features(image[None], ["box_aspect"])[0, 0] > 0

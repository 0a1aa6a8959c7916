"""The verdict's examples: writers never on both sides, seeded per item, workers change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.data.unipen import LETTERS_FILE, load_strokes, split_by_writer
from model.data.verdict_data import KINDS, build, load_sources, writer_split
from tests.conftest import SAMPLE_DIR


def test_no_writer_is_on_both_sides() -> None:
    digits, letters = load_strokes(), load_strokes(LETTERS_FILE)
    sides = writer_split(digits, letters)
    train = set(digits.writer_of()[sides["train"][0]]) | set(letters.writer_of()[sides["train"][1]])
    held = set(digits.writer_of()[sides["held_out"][0]])
    held |= set(letters.writer_of()[sides["held_out"][1]])
    assert train
    assert held
    assert not train & held
    # The held-out digits are exactly those model.evaluation.writers scores.
    np.testing.assert_array_equal(sides["held_out"][0], split_by_writer(digits)[1])


@pytest.fixture(scope="module")
def sources():  # type: ignore[no-untyped-def]
    return load_sources("train", load_mnist(SAMPLE_DIR, "train"))


def test_every_kind_draws_valid_inputs(sources) -> None:  # type: ignore[no-untyped-def]
    made = build({kind: 3 for kind in KINDS}, sources, seed=0, workers=1)
    assert made.images.shape == (3 * len(KINDS), 28, 28)
    assert made.images.dtype == np.uint8
    assert all(image.any() for image in made.images)
    assert made.labels.tolist() == [KINDS[kind][0] for kind in KINDS for _ in range(3)]
    assert len(made.of_kind("not/letters")) == 3


def test_the_same_items_whatever_the_workers_and_the_chunks(sources) -> None:  # type: ignore[no-untyped-def]
    counts = {"digit/unipen": 4, "not/dots": 3, "several/mnist": 3}
    one = build(counts, sources, seed=5, workers=1)
    two = build(counts, sources, seed=5, workers=2)
    np.testing.assert_array_equal(one.images, two.images)
    other = build(counts, sources, seed=6, workers=1)
    assert not np.array_equal(one.images, other.images)


def test_unknown_kinds_are_refused(sources) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown kinds"):
        build({"not/cats": 1}, sources, seed=0)

"""model/serving/paper.py: photos of paper read like clean scans; canvas exports as before."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from model.serving.paper import WORKING_SIDE, has_flat_border
from model.serving.predictor import Predictor
from model.serving.preprocess import NoInkError, image_to_mnist, ink_map, open_image
from tests.conftest import ROOT, SHIPPED_WEIGHTS
from tests.model.serving.drawings import blurred_correlation, canvas_exports
from tests.model.serving.photos import (
    PHOTO_KINDS,
    PhotoKind,
    clean_scan,
    mnist_digits,
    pen_ink,
    photo,
)

CANVAS_FIXTURE = ROOT / "tests" / "data" / "canvas-inputs-before.npz"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_file(SHIPPED_WEIGHTS)


@pytest.fixture(scope="module")
def digits() -> list[tuple[NDArray[np.float32], int]]:
    """The ten test digits as pen ink 150 px tall, with their labels."""
    images, labels = mnist_digits()
    return [(pen_ink(image), label) for image, label in zip(images, labels, strict=True)]


# --- canvas exports: exactly as before -----------------------------------------------------------


def test_canvas_exports_give_exactly_the_inputs_they_gave_before() -> None:
    """Frozen with the recipe as it was before photos and stroke widths were handled
    (tests/data/make_canvas_fixture.py): the page's own PNG, the ten digits at the default
    brush, other brushes and sizes, coloured ink, flat opaque and grey backgrounds."""
    frozen = np.load(CANVAS_FIXTURE)
    exports = canvas_exports()
    assert sorted(exports) == [str(name) for name in frozen["names"]]
    for name, expected in zip(frozen["names"], frozen["inputs"], strict=True):
        assert np.array_equal(image_to_mnist(exports[str(name)]), expected), name


def test_a_flat_border_is_told_from_a_photographed_one(rng: np.random.Generator) -> None:
    flat = np.full(100, 255, dtype=np.uint8)
    flat[:5] = 0  # a stroke touching the border here and there
    assert has_flat_border(flat, 255.0, 255.0)
    grain = np.clip(230 + rng.normal(0, 2.5, 100), 0, 255).astype(np.uint8)
    assert not has_flat_border(grain, float(np.median(grain)), 255.0)


# --- photos --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(PHOTO_KINDS))
def test_a_photo_gives_nearly_the_input_of_a_clean_scan(
    kind: str, digits: list[tuple[NDArray[np.float32], int]]
) -> None:
    """Each kind of photo (with grain and JPEG at quality 70-90), ten digits at random places.

    Measured: blurred correlation (sigma 1 px) with the clean scan's input at least 0.92 for
    every digit of every kind. The recipe before: down to -0.08 with light 20% dimmer toward a
    corner, 0.10 on squared paper, 0.38 in a soft shadow.
    """
    rng = np.random.default_rng(7)
    for ink, label in digits:
        clean = image_to_mnist(clean_scan(ink))
        taken = image_to_mnist(photo(ink, PHOTO_KINDS[kind], rng, int(rng.integers(70, 91))))
        assert blurred_correlation(taken, clean) >= 0.9, label


@pytest.mark.parametrize(
    "kind", ["squared paper, light blue", "squared paper, grey", "light 30% dimmer toward a corner"]
)
def test_the_shipped_model_reads_digits_photographed_on_squared_paper_or_in_uneven_light(
    kind: str, predictor: Predictor, digits: list[tuple[NDArray[np.float32], int]]
) -> None:
    """All ten right (the recipe before: 2 of these 10 on squared paper, 4 at 30% falloff)."""
    rng = np.random.default_rng(11)
    inputs = [image_to_mnist(photo(ink, PHOTO_KINDS[kind], rng)) for ink, _ in digits]
    read = [p.digit for p in predictor.predict(inputs)]
    assert read == [label for _, label in digits]


@pytest.mark.parametrize(
    "kind",
    ["flat paper", "light 30% dimmer toward a corner", "paper texture"],
)
def test_a_photo_of_blank_paper_has_no_ink(kind: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        with pytest.raises(NoInkError):
            image_to_mnist(photo(np.zeros((10, 10), np.float32), PHOTO_KINDS[kind], rng))


def test_chalk_on_a_dark_board_is_read_too(
    predictor: Predictor, digits: list[tuple[NDArray[np.float32], int]]
) -> None:
    """Light ink on dark paper (the photo's negative): the paper level is an opening instead."""
    rng = np.random.default_rng(5)
    kind = PhotoKind(falloff=0.2, texture=4.0)
    inputs = []
    for ink, _ in digits:
        negative = Image.eval(Image.open(io.BytesIO(photo(ink, kind, rng))), lambda v: 255 - v)
        buffer = io.BytesIO()
        negative.save(buffer, format="JPEG", quality=85)
        inputs.append(image_to_mnist(buffer.getvalue()))
    read = [p.digit for p in predictor.predict(inputs)]
    assert sum(r == label for r, (_, label) in zip(read, digits, strict=True)) >= 9


def test_a_large_photo_is_read_on_a_smaller_copy_and_mapped_back(
    predictor: Predictor, digits: list[tuple[NDArray[np.float32], int]]
) -> None:
    ink, label = digits[7]
    big_ink = np.asarray(
        Image.fromarray(ink).resize((600, 600), Image.Resampling.BILINEAR), dtype=np.float32
    )
    kind = PhotoKind(falloff=0.2, shadow=0.35, texture=4.0)
    data = photo(big_ink, kind, np.random.default_rng(2), size=(1600, 1200))
    ink_on_the_photo = ink_map(open_image(data))
    assert ink_on_the_photo.shape == (1200, 1600)  # the photo's own pixels, as for any image
    assert WORKING_SIDE < 1600
    assert predictor.predict([image_to_mnist(data)])[0].digit == label

"""model/serving/strokes.py: stroke width measured, and kept MNIST-like whatever the brush."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

import model.serving.strokes as strokes
from model.data.mnist import load_mnist
from model.data.morphology import CROSS, disc, grey_morphology, thin
from model.serving.predictor import Predictor
from model.serving.preprocess import to_mnist
from model.serving.strokes import THICK_LIMIT, THIN_LIMIT, stroke_width
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS
from tests.model.serving.drawings import DIGIT_STROKES, blurred_correlation, render

REFERENCE_HEIGHT, REFERENCE_BRUSH = 120, 20  # a medium digit with the page's default brush


def drawn(digit: int, height: float, brush: float) -> NDArray[np.float64]:
    """The digit drawn `height` px tall with a `brush` px pen, on a pad big enough: ink 0..1."""
    pad = max(280, round(height + brush + 20))
    return render(DIGIT_STROKES[digit], height, brush, pad) / 255.0


def input_width(digit: NDArray[np.uint8]) -> float:
    """Stroke width of a 28x28 input, in its pixels (the 20 px box's)."""
    ink = digit.astype(np.float32) / 255.0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return stroke_width(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


@pytest.fixture
def untouched(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to run the recipe from then on with stroke widths left alone, as before `strokes`
    (until the test ends)."""

    def switch_off() -> None:
        monkeypatch.setattr(strokes, "THICK_LIMIT", float("inf"))
        monkeypatch.setattr(strokes, "THIN_LIMIT", 0.0)

    return switch_off


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_file(SHIPPED_WEIGHTS)


# --- measuring -----------------------------------------------------------------------------------


def line_ink(brush: int, angle: float) -> NDArray[np.float32]:
    """A stroke 300 px long, `brush` px wide, round caps, at `angle` degrees: (400, 400) in
    [0, 1], drawn 4x larger and box-reduced as a canvas anti-aliases."""
    k = 4
    big = Image.new("L", (400 * k, 400 * k), 0)
    draw = ImageDraw.Draw(big)
    dx, dy = 150 * math.cos(math.radians(angle)), 150 * math.sin(math.radians(angle))
    ends = [((200 - dx) * k, (200 - dy) * k), ((200 + dx) * k, (200 + dy) * k)]
    draw.line(ends, fill=255, width=brush * k)
    radius = brush * k / 2
    for x, y in ends:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    small = big.resize((400, 400), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


@pytest.mark.parametrize("angle", [0, 30, 45, 80])
@pytest.mark.parametrize("brush", [3, 6, 12, 24])
def test_stroke_width_of_a_long_line_is_its_brush(angle: int, brush: int) -> None:
    # The round caps add a little area and outline: a few percent on a line 300 px long.
    assert stroke_width(line_ink(brush, angle)) == pytest.approx(brush, rel=0.08)


def test_blank_has_no_stroke_width() -> None:
    assert stroke_width(np.zeros((5, 5), dtype=np.float32)) == 0.0


def test_mnist_strokes_are_2_5_px_wide_in_the_box_and_the_limits_bracket_them() -> None:
    """The figures the limits are set from, re-measured on the committed sample.

    Two measures agree: `stroke_width` (area over half the outline) on each digit as the recipe
    fits it, and ink area over Zhang-Suen skeleton length at 4x. Measured on the test digits'
    inputs: medians 2.36 and 2.44 px.
    """
    images, _ = load_mnist(SAMPLE_DIR, "test")
    widths = np.array([input_width(to_mnist(image / 255.0)) for image in images])
    assert 2.3 <= float(np.median(widths)) <= 2.8
    assert np.mean((widths >= THIN_LIMIT) & (widths <= THICK_LIMIT)) >= 0.99

    big = np.stack(
        [np.asarray(Image.fromarray(image).resize((112, 112), Image.Resampling.BILINEAR)) > 127
         for image in images[:300]]
    )  # fmt: skip
    skeleton_width = big.sum(axis=(1, 2)) / thin(big, 80).sum(axis=(1, 2)) / 4  # 28 px grid
    assert float(np.median(skeleton_width)) == pytest.approx(np.median(widths[:300]), rel=0.1)


@pytest.mark.parametrize("dilate", [True, False])
def test_the_fast_morphology_step_matches_the_textbook_one(
    dilate: bool, rng: np.random.Generator
) -> None:
    for _ in range(20):
        ink = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))).astype(np.float32)
        padded = np.pad(ink, 1)  # as `_reshaped` pads: outside counts as blank in both
        for square, footprint in ((False, CROSS), (True, disc(1))):
            fast = strokes._step(padded, dilate, square)[1:-1, 1:-1]
            assert np.array_equal(fast, grey_morphology(ink[None], footprint, dilate)[0])


# --- what is left alone --------------------------------------------------------------------------


def test_mnist_digits_keep_their_strokes(untouched: Callable[[], None]) -> None:
    images, _ = load_mnist(SAMPLE_DIR, "test")
    after = np.stack([to_mnist(image / 255.0) for image in images])
    untouched()
    before = np.stack([to_mnist(image / 255.0) for image in images])
    changed = int((before != after).any(axis=(1, 2)).sum())
    assert changed <= 5  # measured: 1 of the 1,000


@pytest.mark.parametrize(
    ("height", "brush"), [(100, 16), (140, 20), (170, 20), (200, 24), (250, 28)]
)
def test_normal_drawings_come_out_exactly_as_before(
    height: int, brush: int, untouched: Callable[[], None]
) -> None:
    inks = [drawn(digit, height, brush) for digit in range(10)]
    after = [to_mnist(ink) for ink in inks]
    untouched()
    before = [to_mnist(ink) for ink in inks]
    for digit in range(10):
        assert np.array_equal(after[digit], before[digit]), digit


# --- what is brought back ------------------------------------------------------------------------


def test_a_small_three_with_the_default_brush_is_a_three(
    predictor: Predictor, untouched: Callable[[], None]
) -> None:
    """34 px tall with the page's 20 px brush: the strokes were 7.6 px thick in the box, and the
    network read an 8. Worn down, they are 5.6 px where the brush merged them, 3 elsewhere."""
    ink = drawn(3, 34, 20)
    digit = to_mnist(ink)
    untouched()
    before = to_mnist(ink)
    assert input_width(digit) <= input_width(before) - 1.5
    assert predictor.predict([before])[0].digit == 8
    assert predictor.predict([digit])[0].digit == 3


def test_small_digits_drawn_with_fat_brushes_are_read_right_far_more_often(
    predictor: Predictor, untouched: Callable[[], None]
) -> None:
    """Ten digits, 30-55 px tall, brushes 20-36 px: measured 74 of 90 right, 48 before."""
    inks = [
        (drawn(digit, height, brush), digit)
        for height in (30, 40, 55)
        for brush in (20, 28, 36)
        for digit in range(10)
    ]

    def right() -> int:
        predictions = predictor.predict([to_mnist(ink) for ink, _ in inks])
        return sum(p.digit == digit for p, (_, digit) in zip(predictions, inks, strict=True))

    now = right()
    untouched()
    before = right()
    assert now >= 70
    assert now >= before + 15


def test_hairlines_are_built_up_to_an_mnist_width() -> None:
    for digit in range(10):
        ink = drawn(digit, 250, 8)  # 0.6 px in the box
        assert 1.5 <= input_width(to_mnist(ink)) <= 3.0


# --- the same digit, whatever the brush ----------------------------------------------------------

SIZES = [
    (h, b) for h in (30, 40, 55, 75, 100, 140, 190, 250) for b in range(8, 37, 4) if b <= h / 2
]


@pytest.fixture(scope="module")
def references() -> dict[int, NDArray[np.uint8]]:
    return {d: to_mnist(drawn(d, REFERENCE_HEIGHT, REFERENCE_BRUSH)) for d in range(10)}


@pytest.mark.parametrize(("height", "brush"), SIZES)
def test_the_same_digit_at_any_size_and_brush_gives_nearly_the_same_input(
    height: int, brush: int, references: dict[int, NDArray[np.uint8]]
) -> None:
    """Heights 30-250 px, brushes 8-36 px, as long as the brush is at most half the height.

    Past that, a fat brush closes the loops of a 6, 8 or 9: the ink is a blob, and no recipe can
    tell what it was (those cases are covered by the recognition test above).

    Measure: blurred correlation (sigma 1 px) with the same digit drawn 120 px tall with the
    20 px brush. Worst over this grid: 0.77 (the recipe before: 0.72); over 300 random sizes and
    brushes in the same range: 0.78 (before: 0.72). Two different digits' references reach 0.87
    (a 4 and a 9), so this says "no further from itself than digits are from each other", and
    the recognition tests say the rest. The stroke width the network sees stays in MNIST's
    range: 1.31-5.76 px over this grid (before: 1.09-7.74).
    """
    for digit in range(10):
        mnist = to_mnist(drawn(digit, height, brush))
        assert blurred_correlation(mnist, references[digit]) >= 0.74, digit
        assert THIN_LIMIT - 0.05 <= input_width(mnist) <= 6.0, digit

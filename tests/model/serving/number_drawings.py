"""Made-up numbers for the segmentation tests: real UNIPEN digits drawn side by side on a wide
pad exactly as the page draws strokes (model/data/numbers.py), with the gaps, sizes and slopes
each test asks for, and where each digit's ink really is."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from model.data.canvas import png_bytes
from model.data.numbers import (
    NUMBER_PAD,
    ink_extent,
    layout_number,
    placed_strokes,
    render_number,
)
from model.data.unipen import StrokeSet, load_strokes
from model.serving.preprocess import ink_map, open_image

# Training writers' digits (never the held-out ones), one stroke each, each read right on its
# own by the shipped model: the tests are about finding digits, not about reading them.
DIGITS = {0: 21, 1: 0, 2: 1, 3: 2, 4: 9, 5: 3, 6: 4, 7: 26, 8: 6, 9: 7}
FOUR_IN_TWO_STROKES = 38  # an open 4: the arm, then the stem
FIVE_WITH_A_FLAG = 10  # the body, then a long flag
CROSSED_SEVEN = 127  # the 7, then a bar across its stem
ONE_WITH_A_FOOT = 213  # a stem, then a dot of a foot


@cache
def strokes() -> StrokeSet:
    return load_strokes()


@dataclass(frozen=True)
class Drawn:
    """A made-up number: the PNG, its ink map, the strokes in px and each digit's ink box."""

    label: str
    png: bytes
    ink: NDArray[np.float32]
    strokes: list[NDArray[np.float64]]
    boxes: list[tuple[float, float, float, float]]  # x0, y0, x1, y1 per digit, left to right


def draw_number(
    records: Sequence[int],
    gaps: float | Sequence[float] = 0.3,
    heights: float | Sequence[float] = 150.0,
    pen: float = 14.0,
    slope: float = 0.0,
    size: tuple[int, int] = NUMBER_PAD,
) -> Drawn:
    """`records` side by side, `gaps` (one, or one per pair) in units of the first height
    between neighbours' ink (negative: overlap), centred on a `size` pad."""
    digits = [strokes().strokes(r) for r in records]
    n = len(records)
    height_list = [float(heights)] * n if isinstance(heights, (int, float)) else list(heights)
    gap_list = [float(gaps)] * (n - 1) if isinstance(gaps, (int, float)) else list(gaps)
    gap_px = [g * height_list[0] for g in gap_list]
    params = layout_number(digits, height_list, gap_px, pen, size, slope)
    png = png_bytes(render_number(digits, params, size))
    return Drawn(
        label="".join(str(int(strokes().labels[r])) for r in records),
        png=png,
        ink=ink_map(open_image(png)),
        strokes=placed_strokes(digits, params),
        boxes=[ink_extent(d, p) for d, p in zip(digits, params, strict=True)],
    )


def number_of(text: str) -> list[int]:
    """The one-stroke records spelling `text`, e.g. "2024"."""
    return [DIGITS[int(c)] for c in text]


# Marks for `marked`, strokes in a unit box across the gap between two digits.
DASH = [[(0.25, 0.5), (0.75, 0.5)]]  # a minus sign or a hyphen, half the gap long
POINT = [[(0.5, 0.95)]]  # a decimal point, a dab of the pen on the baseline
COLON = [[(0.5, 0.35)], [(0.5, 0.75)]]  # two dabs, one above the other
EQUALS = [[(0.2, 0.4), (0.8, 0.4)], [(0.2, 0.62), (0.8, 0.62)]]  # two bars


def with_symbol(drawn: Drawn, symbol: list[list[tuple[float, float]]]) -> Drawn:
    """`drawn` with `symbol`'s strokes (px) added with a round pen 14 px wide, between its first
    digit and the rest in drawing order: the new PNG, its ink map, and every stroke."""
    image = Image.open(io.BytesIO(drawn.png)).convert("RGBA")
    canvas = ImageDraw.Draw(image)
    for stroke in symbol:
        canvas.line(stroke, fill=(0, 0, 0, 255), width=14, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            canvas.ellipse((x - 7, y - 7, x + 7, y + 7), fill=(0, 0, 0, 255))
    encoded = io.BytesIO()
    image.save(encoded, "PNG")
    given = [np.asarray(s, dtype=np.float64) for s in symbol]
    return dataclasses.replace(
        drawn,
        png=encoded.getvalue(),
        ink=ink_map(open_image(encoded.getvalue())),
        strokes=[drawn.strokes[0], *given, *drawn.strokes[1:]],
    )


def marked(
    text: str, mark: list[list[tuple[float, float]]], at: int, gaps: float = 0.5
) -> tuple[Drawn, float]:
    """`text` drawn with `gaps` (units of the first height) and `mark` (strokes in a unit box:
    x 0..1 across the gap before digit `at`, y 0..1 down the first digit's height) added; and
    the mark's x in px."""
    drawn = draw_number(number_of(text), gaps=gaps)
    x0, y0, _, y1 = drawn.boxes[0]
    right = drawn.boxes[at][0]
    left = drawn.boxes[at - 1][2] if at > 0 else x0 - (y1 - y0) * gaps
    symbol = [[(left + x * (right - left), y0 + y * (y1 - y0)) for x, y in s] for s in mark]
    return with_symbol(drawn, symbol), (left + right) / 2

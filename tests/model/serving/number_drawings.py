"""Made-up numbers for the segmentation tests: real UNIPEN digits drawn side by side on a wide
pad exactly as the page draws strokes (model/data/numbers.py), with the gaps, sizes and slopes
each test asks for, and where each digit's ink really is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

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

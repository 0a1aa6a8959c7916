"""Whole numbers drawn from pen strokes: several digits side by side on a wide pad, as the page
draws them.

Each digit is drawn by `model.data.canvas` exactly as a single digit is (same brush, same curves,
same anti-aliasing) on a square tile as tall as the pad, and the tiles are laid over one another
on the wide pad the way a canvas lays a new stroke over old ink ("source-over": the alpha of
ink over ink is a + b (1 - a)). So a number is what a person would get by drawing its digits one
after another on a pad of that size, and its strokes, in pad pixels and drawing order, are what
the page would send alongside the PNG.

    digits' strokes --layout_number--> DrawingParams per digit (centre, height, brush)
                    --render_number--> (H, W) RGBA image;  placed_strokes --> strokes in px

`random_number` builds one seeded test number from one writer's digits: sizes, a sloping
baseline, a brush, and gaps from a slight overlap to wide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from model.data.canvas import DrawingParams, Strokes, placed, png_bytes, render_drawing
from model.data.unipen import StrokeSet

NUMBER_PAD = (840, 280)  # (width, height) px: a pad three times as wide as the digit pad
MARGIN = 6.0  # px kept free between the ink and the pad's edge
# `random_number`'s ranges, in units of the number's typical digit height h (pen-centre line):
# gaps between neighbouring digits' ink boxes from a slight overlap to wide, digit sizes,
# and the baseline's rise per px along the pad.
GAP_RANGE = (-0.1, 0.5)
SIZE_RANGE = (0.85, 1.15)
HEIGHT_RANGE = (130.0, 200.0)  # h in px before the number is shrunk to fit the pad
SLOPE_RANGE = (-0.1, 0.1)
PEN_RANGE = (8, 20)  # brush px, at most MAX_PEN_SHARE of the smallest digit's height
MAX_PEN_SHARE = 0.3
FIT_ROUNDS = 4  # layouts tried while shrinking a number to fit the pad


@dataclass(frozen=True)
class NumberDrawing:
    """One drawn number: its truth, where it came from, how each digit was drawn, and the page's
    PNG with the strokes (k, 2) in pad px, in drawing order, that drew it."""

    label: str  # "2024"
    records: tuple[int, ...]  # the StrokeSet record of each digit, left to right
    writer: str
    params: tuple[DrawingParams, ...]  # per digit, centres in pad px
    size: tuple[int, int]  # (width, height) of the pad
    strokes: tuple[NDArray[np.float64], ...]
    png: bytes

    def strokes_as_lists(self) -> list[list[list[float]]]:
        """The strokes as the API takes them: [[[x, y], ...], ...], rounded to 0.1 px."""
        return [np.round(s, 1).tolist() for s in self.strokes]


def ink_extent(strokes: Strokes, params: DrawingParams) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the ink `params` would draw: the pen's centre line plus half a brush."""
    every = np.concatenate(
        placed(strokes, params.height_px, params.centre_xy, params.rotation_deg, params.slant)
    )
    low, high = every.min(axis=0) - params.pen_width / 2, every.max(axis=0) + params.pen_width / 2
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def layout_number(
    digits: Sequence[Strokes],
    heights: Sequence[float],
    gaps: Sequence[float],
    pen_width: float,
    size: tuple[int, int] = NUMBER_PAD,
    slope: float = 0.0,
) -> list[DrawingParams]:
    """Place digits left to right, `gaps[i]` px between the ink of digit i and i + 1 (negative:
    they overlap), their bottoms on a baseline rising `slope` px per px, the whole centred on the
    pad; heights and gaps are shrunk together if the number would not fit.
    """
    if len(heights) != len(digits) or len(gaps) != max(len(digits) - 1, 0):
        raise ValueError("give one height per digit and one gap between each pair")
    width, height = size
    scale = 1.0
    for _ in range(FIT_ROUNDS):
        params = _laid_out(
            digits, [h * scale for h in heights], [g * scale for g in gaps], pen_width, slope
        )
        x0, y0, x1, y1 = _union(digits, params)
        shrink = min((width - 2 * MARGIN) / (x1 - x0), (height - 2 * MARGIN) / (y1 - y0))
        if shrink >= 1.0:
            break
        # The brush keeps its width while the rest shrinks, so one shrink falls a little short.
        scale *= shrink * 0.99
    dx, dy = width / 2 - (x0 + x1) / 2, height / 2 - (y0 + y1) / 2
    return [_moved(p, dx, dy) for p in params]


def _laid_out(
    digits: Sequence[Strokes],
    heights: Sequence[float],
    gaps: Sequence[float],
    pen_width: float,
    slope: float,
) -> list[DrawingParams]:
    """Digits placed from x = 0 along a baseline through y = 0, before centring."""
    params: list[DrawingParams] = []
    right = 0.0  # the previous digit's ink's right edge
    for index, (strokes, digit_height) in enumerate(zip(digits, heights, strict=True)):
        here = DrawingParams(digit_height, pen_width, (0.0, 0.0))
        x0, _, x1, y1 = ink_extent(strokes, here)
        left = 0.0 if index == 0 else right + gaps[index - 1]
        centre_x = left - x0
        bottom = slope * centre_x  # y grows downwards: a positive slope falls to the right
        params.append(_moved(here, centre_x, bottom - y1))
        right = left + (x1 - x0)
    return params


def _moved(params: DrawingParams, dx: float, dy: float) -> DrawingParams:
    x, y = params.centre_xy
    return DrawingParams(
        params.height_px, params.pen_width, (x + dx, y + dy), params.rotation_deg, params.slant
    )


def _union(
    digits: Sequence[Strokes], params: Sequence[DrawingParams]
) -> tuple[float, float, float, float]:
    boxes = np.array([ink_extent(s, p) for s, p in zip(digits, params, strict=True)])
    return (
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max()),
        float(boxes[:, 3].max()),
    )


def placed_strokes(
    digits: Sequence[Strokes], params: Sequence[DrawingParams]
) -> list[NDArray[np.float64]]:
    """Every digit's strokes in pad px, digit after digit: what the page would record."""
    return [
        stroke
        for strokes, p in zip(digits, params, strict=True)
        for stroke in placed(strokes, p.height_px, p.centre_xy, p.rotation_deg, p.slant)
    ]


def render_number(
    digits: Sequence[Strokes], params: Sequence[DrawingParams], size: tuple[int, int] = NUMBER_PAD
) -> Image.Image:
    """The pad after drawing every digit: (height, width) RGBA, black ink, alpha = coverage."""
    width, height = size
    alpha = np.zeros((height, width), dtype=np.float64)
    for strokes, p in zip(digits, params, strict=True):
        x0, _, x1, _ = ink_extent(strokes, p)
        tile = max(height, math.ceil(x1 - x0) + 4)  # square, as tall as the pad, holds the digit
        left = math.floor(p.centre_xy[0]) - tile // 2  # whole px, so tile px are pad px
        drawn = render_drawing(
            strokes,
            height_px=p.height_px,
            pen_width=p.pen_width,
            centre_xy=(p.centre_xy[0] - left, p.centre_xy[1]),
            rotation_deg=p.rotation_deg,
            slant=p.slant,
            canvas_size=tile,
        )
        ink = np.asarray(drawn, dtype=np.float64)[:height, :, 3] / 255.0  # (height, tile)
        start, stop = max(left, 0), min(left + tile, width)
        if start >= stop:
            continue
        under = alpha[:, start:stop]
        over = ink[:, start - left : stop - left]
        alpha[:, start:stop] = under + over * (1.0 - under)  # canvas "source-over"
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., 3] = np.rint(alpha * 255.0).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def random_number(
    strokes: StrokeSet,
    records: Sequence[int],
    rng: np.random.Generator,
    size: tuple[int, int] = NUMBER_PAD,
    gap_range: tuple[float, float] = GAP_RANGE,
) -> NumberDrawing:
    """The digits of `records` (one writer's, as a rule) drawn as one number on the pad.

    Seeded by `rng`: a typical height h in HEIGHT_RANGE, each digit SIZE_RANGE times it, gaps
    uniform in `gap_range` times h, one baseline slope and one brush for the whole number.
    """
    digits = [strokes.strokes(int(r)) for r in records]
    typical = float(rng.uniform(*HEIGHT_RANGE))
    heights = [typical * float(rng.uniform(*SIZE_RANGE)) for _ in digits]
    gaps = [typical * float(rng.uniform(*gap_range)) for _ in digits[1:]]
    slope = float(rng.uniform(*SLOPE_RANGE))
    pen = float(rng.integers(PEN_RANGE[0], PEN_RANGE[1] + 1))
    params = layout_number(digits, heights, gaps, pen, size, slope)
    # A small number on a crowded pad would be a blob under a fat brush: thin it and lay out again.
    smallest = min(p.height_px for p in params)
    if pen > MAX_PEN_SHARE * smallest:
        pen = max(float(PEN_RANGE[0]), math.floor(MAX_PEN_SHARE * smallest))
        params = layout_number(digits, heights, gaps, pen, size, slope)
    writers = strokes.writer_of()
    return NumberDrawing(
        label="".join(str(int(strokes.labels[r])) for r in records),
        records=tuple(int(r) for r in records),
        writer=str(writers[records[0]]),
        params=tuple(params),
        size=size,
        strokes=tuple(placed_strokes(digits, params)),
        png=png_bytes(render_number(digits, params, size)),
    )

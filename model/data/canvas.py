"""Pen strokes drawn the way the drawing page draws them, as the PNG the page posts.

What the page does (static/js/pad.js, `renderStrokes` and `exportImage`; the brush slider is in
templates/index.html):
- the pad exports a 280x280 canvas (EXPORT_SIZE) whatever the screen size;
- brush widths are px on that 280 px pad: the slider offers 8..36 in steps of 1, default 20;
- ink "#000" on a transparent background (clearRect, never filled): RGB 0, alpha = coverage;
- lineCap and lineJoin "round"; a one-point stroke (a tap) is a disc of the brush's diameter;
- a stroke is traced through its pointer samples with quadratic curves: moveTo(p0), then
  quadraticCurveTo(p_i, midpoint(p_i, p_i+1)) for each inner point, then lineTo(last);
- `toDataURL("image/png")` of that canvas is posted to /api/predict as {"image": data URL}.

Here the same path is drawn 4x larger with Pillow (wide segments plus a disc at every vertex:
round joins and caps) and box-reduced, which gives the canvas's anti-aliased edges. Strokes come
in any units with y down, e.g. `StrokeSet.strokes(i)`; `DrawingParams` says how large, where and
with which brush the digit is drawn, and `random_drawing_params` draws them as people do.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

PAD = 280  # the exported canvas side, px; brush widths are px on a pad of this size
PEN_RANGE = (8, 36)  # the brush slider's range, px
DEFAULT_PEN = 20
SUPERSAMPLE = 4  # drawn 4x larger, then box-reduced: 17 coverage levels per pixel
# Simplified strokes are resampled to a point every 5 px before the page's curve is traced, about
# what pointer events give (a hand moving 300 px/s, sampled at 60 Hz): the page's midpoint curves
# then round a corner by a couple of px, as they do in the browser, instead of cutting it along
# the long straight segments that simplification leaves.
POINT_SPACING = 5.0
CURVE_STEPS = 4  # segments per quadratic piece, each about POINT_SPACING / 4 px long
# Digit heights on the 280 px pad: most people fill a good part of the pad, some draw small or
# edge to edge. TYPICAL_SHARE of drawings are uniform in TYPICAL_HEIGHTS, the rest in HEIGHTS.
HEIGHTS = (30.0, 250.0)
TYPICAL_HEIGHTS = (80.0, 220.0)
TYPICAL_SHARE = 0.8
# Nobody sends a digit barely taller than their brush is wide: a 30 px digit drawn with a 36 px
# brush is a blob. Heights are raised to at least this many brush widths.
MIN_HEIGHT_PER_PEN = 2.0
EDGE_MARGIN = 1.0  # px kept free between the ink and the canvas edge

Strokes = Sequence[NDArray[np.floating]]  # each (k, 2): x, y with y down, any units


@dataclass(frozen=True)
class DrawingParams:
    """How one digit is drawn on the pad; lengths in px of the 280 px pad."""

    height_px: float  # the strokes' height before rotation (pen centre line; ink adds pen / 2)
    pen_width: float  # the brush width
    centre_xy: tuple[float, float]  # where the centre of the strokes' bounding box lands
    rotation_deg: float = 0.0  # clockwise on screen, about that centre
    slant: float = 0.0  # shear: x moves right by `slant` px per px above the centre


def placed(
    strokes: Strokes,
    height_px: float,
    centre_xy: tuple[float, float],
    rotation_deg: float = 0.0,
    slant: float = 0.0,
) -> list[NDArray[np.float64]]:
    """Strokes scaled to `height_px` tall, slanted, rotated, bbox centre at `centre_xy`: px."""
    every = np.concatenate([np.asarray(s, dtype=np.float64) for s in strokes])
    low, high = every.min(axis=0), every.max(axis=0)
    scale = height_px / max(float(high[1] - low[1]), 1e-3 * float((high - low).max()), 1e-12)
    angle = math.radians(rotation_deg)
    # y down, so a clockwise turn on screen is the usual rotation matrix; the shear comes first.
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shear = np.array([[1.0, -slant], [0.0, 1.0]])
    transform = scale * (turn @ shear)
    centre = (low + high) / 2
    moved = [(np.asarray(s, dtype=np.float64) - centre) @ transform.T for s in strokes]
    every = np.concatenate(moved)
    offset = np.asarray(centre_xy) - (every.min(axis=0) + every.max(axis=0)) / 2
    return [s + offset for s in moved]


def resampled(points: NDArray[np.float64], spacing: float = POINT_SPACING) -> NDArray[np.float64]:
    """(k, 2) polyline -> (m, 2) through the same corners with no gap longer than `spacing`."""
    if len(points) < 2:
        return points
    steps = np.maximum(np.ceil(np.hypot(*np.diff(points, axis=0).T) / spacing), 1).astype(int)
    pieces = [
        start + (end - start) * (np.arange(n)[:, None] / n)
        for start, end, n in zip(points[:-1], points[1:], steps, strict=True)
    ]
    return np.concatenate([*pieces, points[-1:]])


def page_path(points: NDArray[np.float64], steps: int = CURVE_STEPS) -> NDArray[np.float64]:
    """The page's `traceStroke` path through pointer samples (k, 2), flattened to a polyline."""
    if len(points) < 3:
        return points
    controls = points[1:-1]  # (k-2, 2)
    ends = (points[1:-1] + points[2:]) / 2  # each curve ends halfway to the next sample
    starts = np.concatenate([points[:1], ends[:-1]])  # and starts where the previous one ended
    t = (np.arange(1, steps + 1) / steps)[None, :, None]  # (1, steps, 1)
    curve = (
        (1 - t) ** 2 * starts[:, None] + 2 * (1 - t) * t * controls[:, None] + t**2 * ends[:, None]
    )  # (k-2, steps, 2)
    return np.concatenate([points[:1], curve.reshape(-1, 2), points[-1:]])


def render_drawing(
    strokes: Strokes,
    *,
    height_px: float,
    pen_width: float,
    centre_xy: tuple[float, float],
    rotation_deg: float = 0.0,
    slant: float = 0.0,
    canvas_size: int = PAD,
) -> Image.Image:
    """The page's export canvas after drawing `strokes`: (canvas_size, canvas_size) RGBA,
    black ink whose alpha is its coverage, transparent elsewhere. Lengths are px of the canvas.
    """
    big = Image.new("L", (canvas_size * SUPERSAMPLE, canvas_size * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    width = pen_width * SUPERSAMPLE
    radius = width / 2
    for stroke in placed(strokes, height_px, centre_xy, rotation_deg, slant):
        path = page_path(resampled(stroke)) * SUPERSAMPLE - 0.5  # Pillow: integers = centres
        if len(path) > 1:
            draw.line([tuple(p) for p in path.tolist()], fill=255, width=round(width))
        for x, y in path.tolist():  # round joins and caps; a lone point is the page's dot
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = big.reduce(SUPERSAMPLE)  # box filter: each pixel's share of ink
    black = Image.new("L", alpha.size, 0)
    return Image.merge("RGBA", (black, black, black, alpha))


def draw(strokes: Strokes, params: DrawingParams, canvas_size: int = PAD) -> Image.Image:
    """`render_drawing` with the sizes and place of `params`."""
    return render_drawing(
        strokes,
        height_px=params.height_px,
        pen_width=params.pen_width,
        centre_xy=params.centre_xy,
        rotation_deg=params.rotation_deg,
        slant=params.slant,
        canvas_size=canvas_size,
    )


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG bytes (the pixels are what matter; the zlib level only sets the size)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def png_data_url(png: bytes) -> str:
    """What `canvas.toDataURL("image/png")` returns, and the page posts as {"image": ...}."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def random_drawing_params(
    rng: np.random.Generator,
    strokes: Strokes,
    *,
    pen_range: tuple[int, int] = PEN_RANGE,
    max_rotation_deg: float = 0.0,
    max_slant: float = 0.0,
    canvas_size: int = PAD,
) -> DrawingParams:
    """A size, brush and place for `strokes` as people choose them on the pad, seeded by `rng`.

    Brush: a whole number in `pen_range`, uniform. Height: TYPICAL_SHARE uniform in
    TYPICAL_HEIGHTS, else uniform in HEIGHTS; at least MIN_HEIGHT_PER_PEN brush widths, and
    lowered when the digit would not fit the pad. Place: uniform over every centre that keeps
    the ink on the pad. No rotation or slant unless asked: the strokes already carry their
    writer's own, and the product's replays vary size, place and pen only.
    """
    pen = float(rng.integers(pen_range[0], pen_range[1] + 1))
    low, high = TYPICAL_HEIGHTS if rng.random() < TYPICAL_SHARE else HEIGHTS
    height = max(float(rng.uniform(low, high)), MIN_HEIGHT_PER_PEN * pen)
    rotation = float(rng.uniform(-max_rotation_deg, max_rotation_deg))
    slant = float(rng.uniform(-max_slant, max_slant))
    room = canvas_size - pen - 2 * EDGE_MARGIN  # what the pen's centre line may span, each way
    every = np.concatenate(placed(strokes, height, (0.0, 0.0), rotation, slant))
    span = every.max(axis=0) - every.min(axis=0)  # (width, height) of the centre line
    shrink = min(1.0, room / max(float(span.max()), 1e-9))  # `placed` is linear in the height
    height, span = height * shrink, span * shrink
    low_xy = pen / 2 + EDGE_MARGIN + span / 2
    centre = rng.uniform(low_xy, canvas_size - low_xy)  # (2,): x, y
    return DrawingParams(height, pen, (float(centre[0]), float(centre[1])), rotation, slant)

"""Drawings that are not one digit: what the verdict classifier learns to refuse.

Every maker takes a seeded `numpy.random.Generator` and returns the (28, 28) uint8 input the
network would see, made the way the server makes it: pen strokes drawn on the 280 px pad as the
page draws them (`model.data.canvas`), then `ink_map` + `to_mnist` (the recipe). Two kinds skip
the pad because a client can send them as raw `pixels`: the all-ink frame and random noise.

Kinds of "not a digit" (`NEGATIVE_KINDS`):
- dots: one to three taps (a tap is a disc of the brush's diameter), any brush;
- dashes: a nearly straight stroke, any length, at most `DASH_MAX_ANGLE` from horizontal
  (steeper lines are how people write a 1: real 1s lean up to ~45 degrees from vertical);
- scribbles: zig-zags, spirals, hatching, tangles, rows of loops, all denser than any digit;
- blobs: filled areas: a shape coloured in with a thick brush, or a solid ellipse or polygon;
- squares: solid rectangles, and the whole 28x28 frame lit at any grey level;
- noise: random sparse pixels in the frame, or a spray of small taps on the pad.
UNIPEN letters (none digit-like, by construction of the shipped file) are drawn by the caller.

"Several digits" (`unipen_group`, `mnist_group`): two to four real digits side by side, from
slight overlap to wide gaps, with a "1" in a third of the groups ("11", "17": two tall strokes
that a single-digit reader takes for a 4 or an H-like 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from model.data.canvas import EDGE_MARGIN, PAD, PEN_RANGE, Strokes, render_drawing
from model.serving.preprocess import ink_map, to_mnist

Image28 = NDArray[np.uint8]
Maker = Callable[[np.random.Generator], Image28]

DASH_MAX_ANGLE = 30.0  # degrees from horizontal; real 1s stay within ~50 of vertical (UNIPEN)
SIZES = (16.0, 260.0)  # the longer side of a shape's centre line on the pad, px
GROUP_GAPS = (-0.12, 0.7)  # gap between neighbouring digits, in digit heights: overlap to wide
GROUP_SIZES = (2, 2, 2, 3, 3, 4)  # digits per group, drawn uniformly from this list
ONE_SHARE = 1 / 3  # groups holding a "1" next to another digit
# Solid shapes are at least this wide for their height: a narrow upright bar is a thick "1".
BLOB_MIN_ASPECT = 0.8
# A shape whose ink is this elongated (long axis over short, from its second moments) with the
# long axis this close to vertical reads as a 1, whatever drew it: a thick 1 (36 px brush, 72 px
# tall) is 3:1; a solid ellipse the recipe wore down to a bar is too. Such shapes are redrawn.
ONE_ELONGATION = 2.5
ONE_MAX_LEAN = 50.0  # degrees from vertical: real 1s lean up to ~50 (UNIPEN)
REDRAWS = 20


# ---------------------------------------------------------------- drawing on the pad


def pen(rng: np.random.Generator, low: int = PEN_RANGE[0], high: int = PEN_RANGE[1]) -> float:
    """A whole-number brush width in [low, high] px, uniform, as the page's slider offers."""
    return float(rng.integers(low, high + 1))


def on_pad(rng: np.random.Generator, strokes: Strokes, brush: float) -> Image28:
    """Strokes already in pad px (y down) placed at a random spot that keeps the ink on the pad
    (shrunk first if too large), drawn with `brush`, through the recipe: (28, 28) uint8."""
    every = np.concatenate([np.asarray(s, dtype=np.float64) for s in strokes])
    low, high = every.min(axis=0), every.max(axis=0)
    span = high - low
    room = PAD - brush - 2 * EDGE_MARGIN
    shrink = min(1.0, room / max(float(span.max()), 1e-9))
    span = span * shrink
    # `placed` scales by the height, or by a thousandth of the longer side for a flat shape.
    height = max(float(span[1]), 1e-3 * float(span.max()))
    margin = np.minimum(brush / 2 + EDGE_MARGIN + span / 2, PAD / 2)  # rounding: never past
    centre = rng.uniform(margin, PAD - margin)
    image = render_drawing(
        strokes,
        height_px=height,
        pen_width=brush,
        centre_xy=(float(centre[0]), float(centre[1])),
    )
    return to_mnist(ink_map(image))


def _rotate(points: NDArray[np.float64], degrees: float) -> NDArray[np.float64]:
    angle = math.radians(degrees)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rotated: NDArray[np.float64] = points @ turn.T
    return rotated


def _proportions(
    rng: np.random.Generator, size: float, widest: float = 1 / BLOB_MIN_ASPECT
) -> tuple[float, float]:
    """(width, height) around `size` with width / height in [BLOB_MIN_ASPECT, widest]."""
    aspect = math.exp(rng.uniform(math.log(BLOB_MIN_ASPECT), math.log(widest)))
    return size * math.sqrt(aspect), size / math.sqrt(aspect)


def _size(rng: np.random.Generator, low: float = SIZES[0], high: float = SIZES[1]) -> float:
    return float(rng.uniform(low, high))


def looks_like_a_one(image: Image28) -> bool:
    """Whether the ink (grey-level weighted) is a bar: ONE_ELONGATION and within ONE_MAX_LEAN
    of vertical."""
    rows, cols = np.nonzero(image)
    weights = image[rows, cols].astype(np.float64)
    if len(weights) < 3:
        return False
    centred = np.stack([cols, rows]).astype(np.float64)
    centred -= (centred @ weights / weights.sum())[:, None]
    moments = (centred * weights) @ centred.T / weights.sum()  # (2, 2): x and y
    spreads, axes = np.linalg.eigh(moments)  # ascending
    if spreads[0] <= 1e-9:
        return True
    elongation = math.sqrt(spreads[1] / spreads[0])
    lean = math.degrees(math.atan2(abs(axes[0, 1]), abs(axes[1, 1])))
    return elongation >= ONE_ELONGATION and lean <= ONE_MAX_LEAN


def _unless_one_like(make: Callable[[np.random.Generator], Image28]) -> Callable[..., Image28]:
    """`make`, drawn again (up to REDRAWS times) while its result `looks_like_a_one`."""

    def redrawn(rng: np.random.Generator) -> Image28:
        image = make(rng)
        for _ in range(REDRAWS):
            if not looks_like_a_one(image):
                break
            image = make(rng)
        return image

    redrawn.__doc__ = make.__doc__
    redrawn.__name__ = make.__name__
    return redrawn


# ---------------------------------------------------------------- the kinds


def dots(rng: np.random.Generator) -> Image28:
    """One tap (60%), or two or three taps up to 150 px apart; a tap may wobble by a few px."""
    count = 1 if rng.random() < 0.6 else int(rng.integers(2, 4))
    strokes = []
    for _ in range(count):
        at = rng.uniform(0, 150, size=2)
        wobble = rng.normal(0, 1.5, size=(int(rng.integers(1, 4)), 2))
        strokes.append(at + np.cumsum(wobble, axis=0) * (rng.random() < 0.5))
    return on_pad(rng, strokes, pen(rng))


def dashes(rng: np.random.Generator) -> Image28:
    """A nearly straight stroke within DASH_MAX_ANGLE of horizontal (sometimes two: "=")."""
    length = _size(rng, 6.0, 260.0)
    angle = float(rng.uniform(-DASH_MAX_ANGLE, DASH_MAX_ANGLE))
    count = 1 if rng.random() < 0.85 else 2
    strokes = []
    for k in range(count):
        t = np.linspace(0.0, 1.0, int(rng.integers(2, 7)))
        points = np.column_stack([t * length, rng.normal(0, 0.01 * length + 0.5, len(t))])
        points[:, 1] += k * rng.uniform(0.2, 0.5) * length
        strokes.append(_rotate(points, angle))
    return on_pad(rng, strokes, pen(rng))


def zigzag(rng: np.random.Generator) -> list[NDArray[np.float64]]:
    """Back and forth 8 to 30 times across a box, at any angle: one stroke (fewer turns make
    a Z, an N or a W: a 2 or a letter, not a scribble)."""
    turns = int(rng.integers(8, 31))
    width, height = _proportions(rng, _size(rng, 60, 220), widest=2.5)
    x = np.where(np.arange(turns + 1) % 2 == 0, 0.0, width) + rng.normal(0, 0.08 * width, turns + 1)
    y = np.linspace(0, height, turns + 1) + rng.normal(0, 0.3 * height / turns, turns + 1)
    return [_rotate(np.column_stack([x, y]), float(rng.uniform(0, 180)))]


def spiral(rng: np.random.Generator) -> list[NDArray[np.float64]]:
    """A spiral of 2.5 to 6 turns, inwards or outwards, squashed into an ellipse."""
    turns = float(rng.uniform(2.5, 6.0))
    theta = np.linspace(0, 2 * math.pi * turns, int(turns * 24))
    radius = 0.08 + theta / theta[-1] + rng.normal(0, 0.02, len(theta))
    size = _size(rng, 60, 260)
    squash = float(rng.uniform(0.5, 1.0))
    points = np.column_stack([radius * np.cos(theta), squash * radius * np.sin(theta)]) * size / 2
    if rng.random() < 0.5:
        points = points[::-1]
    return [_rotate(points, float(rng.uniform(0, 180)))]


def hatching(rng: np.random.Generator) -> list[NDArray[np.float64]]:
    """4 to 10 parallel strokes at any angle (crossed by a second set half the time)."""
    strokes = []
    size = _size(rng, 60, 260)
    angles = [0.0, float(rng.uniform(45, 135))] if rng.random() < 0.5 else [0.0]
    for angle in angles:
        count = int(rng.integers(4, 11))
        for k in range(count):
            y = size * k / (count - 1) + rng.normal(0, 0.02 * size)
            x0, x1 = rng.normal(0, 0.05 * size), size + rng.normal(0, 0.05 * size)
            strokes.append(_rotate(np.array([[x0, y], [x1, y]]), angle))
    turn = float(rng.uniform(0, 180))
    return [_rotate(s, turn) for s in strokes]


def random_walk(rng: np.random.Generator) -> list[NDArray[np.float64]]:
    """A tangle: 50 to 120 pen samples wandering with momentum inside a box, one stroke."""
    steps = int(rng.integers(50, 121))
    size = _size(rng, 60, 260)
    heading = rng.uniform(0, 2 * math.pi)
    turns = np.cumsum(rng.normal(0, 1.1, steps)) + heading
    moves = np.column_stack([np.cos(turns), np.sin(turns)]) * rng.uniform(0.5, 1.5, (steps, 1))
    points = np.cumsum(moves, axis=0)
    points -= points.min(axis=0)
    return [points * size / max(float(points.max()), 1e-9)]


def loops(rng: np.random.Generator) -> list[NDArray[np.float64]]:
    """4 to 12 overlapping loops drifting sideways (a cursive "eeee" gone round), one stroke."""
    count = float(rng.uniform(4, 12))
    theta = np.linspace(0, 2 * math.pi * count, int(count * 20))
    drift = float(rng.uniform(0.1, 0.6))  # how far each loop moves on, in radii
    squash = float(rng.uniform(0.6, 1.4))
    points = np.column_stack(
        [np.cos(theta) + drift * theta / (2 * math.pi), squash * np.sin(theta)]
    ) + rng.normal(0, 0.05, (len(theta), 2))
    points -= points.min(axis=0)
    size = _size(rng, 60, 260)
    return [_rotate(points * size / max(float(points.max()), 1e-9), float(rng.uniform(0, 180)))]


SCRIBBLES: tuple[Callable[[np.random.Generator], list[NDArray[np.float64]]], ...] = (
    zigzag,
    spiral,
    hatching,
    random_walk,
    loops,
)


def scribbles(rng: np.random.Generator) -> Image28:
    """A zig-zag, spiral, hatching, tangle or row of loops, drawn with any brush."""
    strokes = SCRIBBLES[int(rng.integers(len(SCRIBBLES)))](rng)
    return on_pad(rng, strokes, pen(rng))


def blobs(rng: np.random.Generator) -> Image28:
    """A filled area: an ellipse coloured in with strokes closer than the brush (60%), or a
    solid ellipse or polygon of any proportions drawn straight as ink (40%)."""
    if rng.random() < 0.6:
        # 5 to 10 rows closer than the brush is wide: fewer would draw a Z or an N.
        brush, rows = pen(rng, 14), int(rng.integers(5, 11))
        width, height = _proportions(rng, brush * (rows - 1) * float(rng.uniform(0.5, 0.75)))
        y = np.linspace(-1, 1, rows)
        half = np.sqrt(np.clip(1 - y**2, 0.05, None))
        x = np.where(np.arange(rows) % 2 == 0, -half, half)
        points = np.column_stack([x * width / 2, y * height / 2])
        return on_pad(rng, [_rotate(points, float(rng.uniform(0, 180)))], brush)
    side = int(rng.integers(40, 200))
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    if rng.random() < 0.5:
        w, h = _proportions(rng, float(rng.uniform(0.3, 0.8)) * side)
        x0, y0 = (side - w) / 2, (side - h) / 2
        draw.ellipse((x0, y0, x0 + w, y0 + h), fill=255)
    else:
        corners = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * math.pi, corners))
        radius = rng.uniform(0.5, 1.0, corners) * side / 2
        xy = np.column_stack([np.cos(angles), np.sin(angles)]) * radius[:, None]
        width, height = np.ptp(xy, axis=0)
        xy[:, 0] *= max(1.0, BLOB_MIN_ASPECT * height / max(width, 1e-9))  # never a bar
        xy = side / 2 + xy * min(1.0, side / 2 / max(float(np.abs(xy).max()), 1e-9))
        draw.polygon([tuple(p) for p in xy.tolist()], fill=255)
    return to_mnist(np.asarray(canvas, dtype=np.float32) / 255.0)


def squares(rng: np.random.Generator) -> Image28:
    """The whole frame lit at one grey level, as raw `pixels` (30%), or a solid rectangle of
    any proportions through the recipe (70%)."""
    if rng.random() < 0.3:
        return np.full((28, 28), int(rng.integers(64, 256)), dtype=np.uint8)
    w, h = _proportions(rng, _size(rng, 24, 80), widest=4.0)
    return to_mnist(np.ones((max(1, round(h)), max(1, round(w))), dtype=np.float32))


def noise(rng: np.random.Generator) -> Image28:
    """Random pixels lit across the frame as raw `pixels` (60%), or a spray of 8 to 60 small
    taps on the pad (40%)."""
    if rng.random() < 0.6:
        density = float(rng.uniform(0.01, 0.35))
        lit = rng.random((28, 28)) < density
        lit[rng.integers(28), rng.integers(28)] = True  # never blank: a blank input is a 422
        levels = rng.integers(32, 256, size=(28, 28))
        return np.where(lit, levels, 0).astype(np.uint8)
    count = int(rng.integers(8, 61))
    spread = _size(rng, 80, 260)
    strokes = [p[None] for p in rng.uniform(0, spread, size=(count, 2))]
    return on_pad(rng, strokes, pen(rng, 4, 14))


# Every kind but dashes (horizontal by construction) and noise (no strokes) is redrawn while
# it looks like a 1: the classifier must never learn that a 1 is not a digit.
NEGATIVE_KINDS: dict[str, Maker] = {
    "dots": _unless_one_like(dots),
    "dashes": dashes,
    "scribbles": _unless_one_like(scribbles),
    "blobs": _unless_one_like(blobs),
    "squares": _unless_one_like(squares),
    "noise": noise,
}


# ---------------------------------------------------------------- several digits


def side_by_side(rng: np.random.Generator, digits: Sequence[Strokes]) -> list[NDArray[np.float64]]:
    """Each digit's strokes (any units, y down) scaled to about one unit tall, placed left to
    right with gaps from GROUP_GAPS and a small wobble of size and baseline: one stroke list."""
    out: list[NDArray[np.float64]] = []
    right = 0.0
    for strokes in digits:
        every = np.concatenate([np.asarray(s, dtype=np.float64) for s in strokes])
        low, high = every.min(axis=0), every.max(axis=0)
        height = float(rng.uniform(0.85, 1.15))
        scale = height / max(float(high[1] - low[1]), 1e-3)
        left = right + float(rng.uniform(*GROUP_GAPS)) if out else 0.0
        top = float(rng.normal(0, 0.06)) + (1.0 - height)  # bottoms roughly on one baseline
        for s in strokes:
            out.append((np.asarray(s, dtype=np.float64) - low) * scale + (left, top))
        right = left + float(high[0] - low[0]) * scale
    return out


def pick_group(
    rng: np.random.Generator, labels: NDArray[np.integer], sizes: Sequence[int] = GROUP_SIZES
) -> list[int]:
    """Indices into `labels` for one group of `rng.choice(sizes)` digits; in ONE_SHARE of the
    groups the first or second is a "1" ("11", "17", "41")."""
    count = int(rng.choice(sizes))
    picked = [int(i) for i in rng.integers(len(labels), size=count)]
    ones = np.flatnonzero(labels == 1)
    if rng.random() < ONE_SHARE and len(ones):
        picked[int(rng.integers(min(count, 2)))] = int(ones[rng.integers(len(ones))])
    return picked


def unipen_group(rng: np.random.Generator, digits: Sequence[Strokes]) -> Image28:
    """Real pen digits side by side, each `height` px tall on the pad with any brush (a group
    too wide for the pad is shrunk to fit, as a person would write it smaller)."""
    strokes = side_by_side(rng, digits)
    height = _size(rng, 40, 200)
    brush = pen(rng, 4, min(PEN_RANGE[1], max(4, int(height / 2))))
    return on_pad(rng, [s * height for s in strokes], brush)


def mnist_group(rng: np.random.Generator, digits: Sequence[Image28]) -> Image28:
    """MNIST digits (28x28, ink high) cropped to their ink and laid side by side in one ink map,
    gaps from GROUP_GAPS of a 20 px digit and a +-2 px baseline wobble, through the recipe."""
    crops = []
    for digit in digits:
        rows = np.flatnonzero(digit.any(axis=1))
        cols = np.flatnonzero(digit.any(axis=0))
        crops.append(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32))
    lefts = [0]
    for previous in crops[:-1]:
        gap = round(float(rng.uniform(*GROUP_GAPS)) * 20)
        lefts.append(max(0, lefts[-1] + previous.shape[1] + gap))
    margin = 4
    width = max(left + crop.shape[1] for left, crop in zip(lefts, crops, strict=True))
    ink = np.zeros((28 + 2 * margin, width + 2 * margin), dtype=np.float32)
    for left, crop in zip(lefts, crops, strict=True):
        h, w = crop.shape
        top = margin + (28 - h) // 2 + int(rng.integers(-2, 3))
        window = ink[top : top + h, margin + left : margin + left + w]
        np.maximum(window, crop, out=window)
    return to_mnist(ink)

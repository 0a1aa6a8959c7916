"""European digit styles drawn onto MNIST: a cross-bar through the 7, a lead-in flag on the 1.

MNIST's American writers rarely cross their 7s or give their 1s a flag, so a network trained on it
reads a crossed 7 as a 2 and a flagged 1 as a 7 or a 4. This module adds those strokes to real
MNIST 7s and 1s at training time. Strokes are anti-aliased segments drawn with a pen as thick as
the digit's own strokes, all images of a batch at once. Images are (n, 28, 28) uint8, ink high.

The styled digit is not re-fitted or re-centred, unlike a drawing put through the serving recipe.
On the MNIST sample a 7's box does not change and its centre of mass moves 0.7 px (median); a 1's
flag and foot grow its box about 5% (10% at the 95th percentile) and pull its centre of mass 1.7 px
(2.7 px) up and left. Training then shifts by up to 2 px and scales by up to 12% at random, so the
re-centred, re-fitted form that serving produces stays within what the network is shown.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SIDE = 28
INK = 100  # grey level above which a pixel counts as ink for geometry
MIN_RADIUS, MAX_RADIUS = 0.8, 2.2  # pen radius in pixels
MAX_RUNS = SIDE // 2 + 1  # ink runs a row of 28 pixels can hold, plus the "no run" label 0
FOOT_SHARE = 1 / 3  # of the flagged 1s, this share also gets a foot serif
FLAG_TO_STEM = 25.0  # degrees kept between a 1's flag and its stem
MIN_FLAG_ANGLE = 20.0  # degrees below horizontal: any flatter and the 1 turns into a 7

_rows, _cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)  # pixel centres

# Each image's pen strokes as (row, col) ends: starts (m, s, 2) and ends (m, s, 2).
Segments = tuple[NDArray[np.float32], NDArray[np.float32]]


def pen_radius(images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(m, 28, 28) -> (m,) radius of a round pen that would lay down the digit's ink.

    Summed over the image, ink is the area and the gradient's length the outline, both averaged
    over grey levels (the coarea formula), so neither depends on stroke direction. A capsule of
    radius r and length L has area 2rL + pi r^2 and outline 2L + 2 pi r; solving for r keeps the
    two round ends from biasing short strokes such as a 1's.
    """
    ink = np.zeros((len(images), SIDE + 2, SIDE + 2), np.float32)  # a blank border
    ink[:, 1:-1, 1:-1] = images * np.float32(1 / 255)
    # Differences across 2x2 blocks, both centred on the same pixel corner: unlike central
    # differences they do not step over a thin stroke's sharp edges.
    down, right = ink[:, 1:] - ink[:, :-1], ink[:, :, 1:] - ink[:, :, :-1]
    grad_rows, grad_cols = down[:, :, 1:] + down[:, :, :-1], right[:, 1:] + right[:, :-1]
    area = ink.sum(axis=(1, 2))
    outline = 0.5 * np.sqrt(grad_rows**2 + grad_cols**2).sum(axis=(1, 2))
    # A blob rounder than any capsule has no real root; r = outline / 2pi fits it as a disc.
    root = np.sqrt(np.maximum(outline**2 - 4 * np.pi * area, 0))
    radius: NDArray[np.float32] = ((outline - root) / (2 * np.pi)).astype(np.float32)
    return np.clip(radius, MIN_RADIUS, MAX_RADIUS)


def run_centre(images: NDArray[np.uint8], rows: NDArray[np.intp]) -> NDArray[np.float32]:
    """(m, 28, 28), rows (m, k) -> (m, k) column centre of the heaviest ink run on each row.

    The heaviest run, not the row's centroid, so a stray blob or a second stroke on the same row
    cannot pull the stroke into the gap between them. A row without ink gives the frame's middle.
    """
    m, k = rows.shape
    line = images[np.arange(m)[:, None], rows].reshape(m * k, SIDE).astype(np.float32)
    ink = line > INK
    starts = ink.copy()
    starts[:, 1:] &= ~ink[:, :-1]
    run = np.cumsum(starts, axis=1) * ink  # 0 off ink, 1.. numbering the runs along the row
    slot = np.arange(m * k)[:, None] * MAX_RUNS + run
    weight = np.bincount(slot.ravel(), line.ravel(), m * k * MAX_RUNS).reshape(m * k, MAX_RUNS)
    weight[:, 0] = 0
    chosen_weight = np.where(run == weight.argmax(axis=1)[:, None], line, 0) * ink
    total = chosen_weight.sum(axis=1)
    centre = (chosen_weight @ _cols[0]) / np.maximum(total, 1)
    found: NDArray[np.float32] = np.where(total > 0, centre, (SIDE - 1) / 2).astype(np.float32)
    return found.reshape(m, k)


def ink_extent(digits: NDArray[np.uint8]) -> tuple[NDArray[np.intp], ...]:
    """(m, 28, 28) -> top, bottom, left, right (m,) each: the inked rows and columns' range."""
    ink = digits > INK
    rows_with_ink, cols_with_ink = ink.max(axis=2), ink.max(axis=1)
    top, left = rows_with_ink.argmax(axis=1), cols_with_ink.argmax(axis=1)
    bottom = SIDE - 1 - rows_with_ink[:, ::-1].argmax(axis=1)
    right = SIDE - 1 - cols_with_ink[:, ::-1].argmax(axis=1)
    return top, bottom, left, right


def cross_bar(digits: NDArray[np.uint8], rng: np.random.Generator) -> Segments:
    """A near-horizontal bar through each 7's stem, a little below the middle, as Europeans do."""
    m = len(digits)
    top, bottom, left, right = ink_extent(digits)
    row = np.round(top + rng.uniform(0.55, 0.65, m) * (bottom - top)).astype(np.intp)
    centre = np.stack([row, run_centre(digits, row[:, None])[:, 0]], axis=1)
    length = np.maximum(rng.uniform(0.35, 0.55, m) * (right - left + 1), 5)
    tilt = np.deg2rad(rng.uniform(-8, 8, m))
    half = 0.5 * length[:, None] * np.stack([np.sin(tilt), np.cos(tilt)], axis=1)
    return (centre - half)[:, None].astype(np.float32), (centre + half)[:, None].astype(np.float32)


def flag_and_foot(digits: NDArray[np.uint8], rng: np.random.Generator) -> Segments:
    """A flag falling left from each 1's top, and for some a horizontal foot under the stem."""
    m = len(digits)
    top, bottom, _, _ = ink_extent(digits)
    height = bottom - top + 1
    ends = np.stack([top, bottom], axis=1)
    tip, base = np.stack([ends, run_centre(digits, ends)], axis=2).transpose(1, 0, 2)
    length = rng.uniform(0.25, 0.45, m) * height
    angle = rng.uniform(25, 55, m)  # degrees below horizontal
    # A flag nearly parallel to a leaning stem would merge into it as a blob: keep them apart
    # by FLAG_TO_STEM degrees, as writers of a slanted 1 do.
    stem = np.rad2deg(np.arctan2(base[:, 0] - tip[:, 0], tip[:, 1] - base[:, 1]))
    angle = np.deg2rad(np.maximum(np.minimum(angle, stem - FLAG_TO_STEM), MIN_FLAG_ANGLE))
    flag_end = tip + length[:, None] * np.stack([np.sin(angle), -np.cos(angle)], axis=1)
    half = np.zeros((m, 2))
    half[:, 1] = 0.5 * rng.uniform(0.4, 0.6, m) * height
    # Without a foot, the second segment repeats the flag, which draws nothing new.
    foot = (rng.random(m) < FOOT_SHARE)[:, None]
    start = np.stack([tip, np.where(foot, base - half, tip)], axis=1)
    end = np.stack([flag_end, np.where(foot, base + half, flag_end)], axis=1)
    return start.astype(np.float32), end.astype(np.float32)


def draw_segments(
    images: NDArray[np.uint8],
    start: NDArray[np.float32],
    end: NDArray[np.float32],
    radius: NDArray[np.float32],
) -> NDArray[np.uint8]:
    """Anti-aliased segments, ends (m, s, 2) as (row, col), onto (m, 28, 28) by maximum."""
    start = np.clip(start, 1, SIDE - 2)  # keep the pen's centre off the frame's edge
    end = np.clip(end, 1, SIDE - 2)
    y0, x0 = start[..., 0, None, None], start[..., 1, None, None]  # (m, s, 1, 1)
    dy, dx = end[..., 0, None, None] - y0, end[..., 1, None, None] - x0
    from_y, from_x = _rows - y0, _cols - x0  # (m, s, 28, 28)
    # Each pixel centre's nearest point on a segment: its projection, clamped to the ends.
    t = np.clip((from_y * dy + from_x * dx) / np.maximum(dy * dy + dx * dx, 1e-6), 0, 1)
    distance = np.sqrt(((from_y - t * dy) ** 2 + (from_x - t * dx) ** 2).min(axis=1))
    # Coverage falls from 1 to 0 over the pixel straddling the pen's edge: anti-aliasing.
    coverage = np.clip(radius[:, None, None] + 0.5 - distance, 0, 1)
    drawn: NDArray[np.uint8] = np.maximum(images, (coverage * 255 + 0.5).astype(np.uint8))
    return drawn


def add_style_strokes(
    images: NDArray[np.uint8],
    labels: NDArray[np.integer],
    rng: np.random.Generator,
    probability: float,
) -> NDArray[np.uint8]:
    """(n, 28, 28) uint8 -> (n, 28, 28) uint8 copy; each 7 gets a cross-bar and each 1 a lead-in
    flag (sometimes also a foot serif) with chance `probability`; other digits are returned
    unchanged."""
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    out = images.copy()
    chosen = (rng.random(len(images)) < probability) & ((labels == 7) | (labels == 1))
    index = np.flatnonzero(chosen)
    index = index[(images[index] > INK).any(axis=(1, 2))]  # a blank image has no stem to style
    if len(index) == 0:
        return out
    digits, sevens = images[index], labels[index] == 7
    start, end = np.empty((2, len(index), 2, 2), np.float32)
    # A 7 has one stroke to add and a 1 two: the 7's bar fills both slots, drawn twice, no harm.
    start[sevens], end[sevens] = cross_bar(digits[sevens], rng)
    start[~sevens], end[~sevens] = flag_and_foot(digits[~sevens], rng)
    radius = pen_radius(digits) * rng.uniform(0.85, 1.15, len(index)).astype(np.float32)
    out[index] = draw_segments(digits, start, end, np.clip(radius, MIN_RADIUS, MAX_RADIUS))
    return out

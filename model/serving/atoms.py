"""Over-segmentation: cut the ink of a drawn number into atoms, small pieces of one digit each.

A digit may be made of several atoms (a 5 and its flag, a 0 cut in two), but an atom should
never hold ink of two digits: `model.serving.segment` glues consecutive atoms back into digits,
and it cannot take apart what this module left together. So when in doubt, cut.

    ink (H, W) --working_grid--> inked cells (h, w), one cell per f x f px (about 60,000 cells)
      blobs: one per stroke (the inked cells along its path), when the strokes are given,
             plus the connected components of the ink no stroke explains (all of it otherwise)
      --cut_columns--> a blob wider than a digit is cut at columns that look like a border
      --> atoms, sorted left to right by their ink's centre

Worked example: "2024" drawn with the 0 touching the 2 after it (docs/segmentation.png). The
ink has three blobs: the first 2, the touching "02" and the 4. Blobs wider than CUT_WIDER_THAN
line heights are cut: the "02" where the top edge dips between the two shapes and once inside
the 2, the first 2 once inside too. Six atoms: 2-left, 2-right, 0, 2-left, 2-right, 4. Given
the strokes, the same drawing gives one atom per stroke and needs no cut at all.

Connected components are labelled by `model.serving.components`.

Everything here is measured in cells of the working grid, and lengths are in units of the line
height (the height of a typical digit), so a number drawn small or large is cut alike.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from model.serving.components import component_boxes, connected_components, grown
from model.serving.preprocess import INK_THRESHOLD, PreprocessError

WORK_CELLS = 60_000  # the grid's size: an 840x280 drawing is labelled at 420x140 (f = 2)
# Blobs wider than this many line heights may hold two digits and are cut. Two touching 1s are
# about half a line height wide, so the bar is low; the glue step undoes needless cuts.
CUT_WIDER_THAN = 0.45
STROKE_CUT_WIDER_THAN = 2.0  # a single stroke rarely spans two digits: cut only very wide ones
MIN_CUT_SPACING = 0.18  # cuts (and the blob's ends) at least this far apart, line heights
MAX_ATOM_WIDTH = 1.0  # a part still wider than this after the cuts is cut at its thinnest
CUT_STROKES = 1.6  # a column profile minimum is a cut when it crosses at most this many strokes
VALLEY_DEPTH = 0.12  # a dip of the top edge (rise of the bottom) this deep is a cut, line heights
SMOOTHING = 0.06  # the column profile is smoothed over this width, line heights
STROKE_MARGIN = 2.0  # cells added to the brush when a stroke's path claims ink
MIN_SPECK = 0.002  # components smaller than this many line heights squared are noise
MAX_BLOBS = 60  # strokes and components a number may hold: bounds the work on hostile input
MAX_ATOM_COUNT = 60  # more atoms than this (a long thin scribble) and the blobs are not cut at all
# Ink cells left over by the strokes in a clump smaller than a dot of the brush are the strokes'
# own anti-aliased fringe, not a digit's part that the strokes missed.
LEFTOVER_DOTS = 1.0


Blob = tuple[int, int, NDArray[np.bool_], int]  # top, left, mask cropped to its ink, stroke


class TooManyPiecesError(PreprocessError):
    """More than MAX_BLOBS strokes and pieces of ink: too many to read as one number."""


@dataclass(frozen=True)
class Grid:
    """The drawing's inked cells: `factor` px a side each, `inked` (h, w) bool."""

    factor: int
    inked: NDArray[np.bool_]


@dataclass(frozen=True)
class Atom:
    """Inked cells that belong to one digit: `mask` (rows, cols) placed at (`top`, `left`)."""

    top: int
    left: int
    mask: NDArray[np.bool_]
    centre: float  # the column of its ink's centre of mass: atoms are sorted by it
    stroke: int  # the stroke it came from (drawing order), -1 for ink found on the image
    blob: int  # the blob (stroke or connected component) it was cut from

    @cached_property
    def grown(self) -> NDArray[np.bool_]:
        """`mask` grown by one cell on every side: (rows + 2, cols + 2), at (top - 1, left - 1)."""
        return grown(self.mask)

    @property
    def bottom(self) -> int:
        return self.top + int(self.mask.shape[0])

    @property
    def right(self) -> int:
        return self.left + int(self.mask.shape[1])


def working_grid(ink: NDArray[np.floating]) -> Grid:
    """Ink (H, W) -> cells of f x f px, inked where any px holds at least INK_THRESHOLD of the
    strongest ink (as the recipe's crop counts ink): about WORK_CELLS cells whatever the size."""
    height, width = ink.shape
    factor = max(1, math.ceil(math.sqrt(height * width / WORK_CELLS)))
    inked: NDArray[np.bool_] = ink >= INK_THRESHOLD * max(float(ink.max()), 1e-12)
    if factor > 1:  # max-pooling: a thin stroke stays connected on the coarser grid
        rows, cols = -(-height // factor), -(-width // factor)
        padded = np.zeros((rows * factor, cols * factor), dtype=bool)
        padded[:height, :width] = inked
        cells = np.zeros((rows, cols), dtype=bool)
        for dy in range(factor):  # one strided slice per px of a cell: 20x faster than .any
            for dx in range(factor):
                cells |= padded[dy::factor, dx::factor]
        inked = cells
    return Grid(factor, inked)


# ------------------------------------------------------------------ blobs: strokes, components
def line_height(boxes: NDArray[np.int64]) -> float:
    """The height of a typical digit in cells, from `component_boxes`: the median height of the
    components at least 40% as tall as the tallest (so a 5's flag or a dot does not count)."""
    if len(boxes) == 0:
        return 1.0
    heights = boxes[:, 2] - boxes[:, 0]
    return float(np.median(heights[heights >= 0.4 * heights.max()]))


def stroke_blobs(
    grid: Grid, strokes: Sequence[NDArray[np.floating]], brush: float
) -> list[NDArray[np.bool_]]:
    """Per stroke, the inked cells along its path: (h, w) bool each.

    Each path is drawn a little wider than the brush (`brush` cells; the page's curves cut
    corners the straight segments between samples do not), and only inked cells are kept: the
    blob is the image's own ink, the stroke only says which ink belongs together.
    """
    height, width = grid.inked.shape
    reach = brush + STROKE_MARGIN
    blobs = []
    for stroke in strokes:
        path = (np.asarray(stroke, dtype=np.float64) + 0.5) / grid.factor - 0.5  # px -> cells
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        points = [(float(x), float(y)) for x, y in path]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(reach)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps; a tap is a dot
            draw.ellipse((x - reach / 2, y - reach / 2, x + reach / 2, y + reach / 2), fill=255)
        blobs.append(np.asarray(canvas, dtype=bool) & grid.inked)
    return blobs


def cut_columns(mask: NDArray[np.bool_], height: float, brush: float) -> list[int]:
    """Where to cut a blob (rows, cols) that may hold several digits: columns 1..cols-1.

    A border between two touching digits shows in the columns' ink as a place where little ink
    crosses (a minimum of the column profile, at most CUT_STROKES brush widths: the middle of
    a 0 crosses two strokes, most touching points one or less), or where the top edge dips and
    the bottom edge rises (two rounded shapes meeting: a valley at least VALLEY_DEPTH line
    heights deep). Such columns are kept lowest profile first, at least MIN_CUT_SPACING line
    heights apart. Parts still wider than MAX_ATOM_WIDTH (digits that overlap, so neither sign
    shows) are cut at their thinnest column, at least a brush width from their ends, if it
    crosses half a brush width less ink than most of their columns.
    """
    rows, cols = mask.shape
    spacing = max(1, round(MIN_CUT_SPACING * height))
    raw = mask.sum(axis=0).astype(np.float64)
    profile = _smoothed(raw, height)
    inked = mask.any(axis=0)  # a column without ink has its top at the bottom, and vice versa
    top = _smoothed(np.where(inked, mask.argmax(axis=0), rows).astype(np.float64), height)
    bottom = np.where(inked, rows - 1 - mask[::-1].argmax(axis=0), -1).astype(np.float64)
    bottom = _smoothed(bottom, height)
    window = max(1, round(height / 2))
    valleys = [(_depth(top, c, window), c) for c in _local_minima(-top)]
    valleys += [(_depth(-bottom, c, window), c) for c in _local_minima(bottom)]
    thin = [c for c in _local_minima(profile) if raw[c] <= CUT_STROKES * brush]
    # The deepest valleys first (two shapes meeting is the surest sign), then the thinnest.
    deep = VALLEY_DEPTH * height
    ranked = [c for depth, c in sorted(valleys, key=lambda v: (-v[0], v[1])) if depth >= deep]
    ranked += sorted(thin, key=lambda c: (profile[c], c))
    cuts: list[int] = []
    for column in ranked:
        if spacing <= column <= cols - spacing and all(abs(column - c) >= spacing for c in cuts):
            cuts.append(column)
    cuts.sort()
    widest = max(1, round(MAX_ATOM_WIDTH * height))
    # Within a brush width of a part's end the profile only falls off the pen's round end: no
    # border. (It matters when the line height is a stroke's, as in "=", and spacing is tiny.)
    margin = max(spacing, math.ceil(brush))
    bounds = [0, *cuts, cols]
    for left, right in itertools.pairwise(bounds):
        if right - left > widest:
            inner = profile[left + margin : right - margin]
            # One even stroke (a dash, a bar) is about as thin everywhere: no column crosses
            # less ink than most by half a stroke, none looks like a border, and it is left
            # whole rather than cut at a column chosen by a pixel's jitter.
            if inner.size and inner.min() <= np.median(profile[left:right]) - brush / 2:
                cuts.append(left + margin + int(np.argmin(inner)))
    return sorted(cuts)


def _depth(edge: NDArray[np.float64], column: int, window: int) -> float:
    """How far `edge` (a row per column, larger = lower) at `column` lies below the highest
    point on either side within `window` columns: the shallower of the two sides."""
    left = edge[max(0, column - window) : column + 1].min()
    right = edge[column : column + window + 1].min()
    return float(edge[column] - max(left, right))


def _smoothed(values: NDArray[np.float64], height: float) -> NDArray[np.float64]:
    """A moving average over SMOOTHING line heights (odd width, edges repeated)."""
    half = max(0, round(SMOOTHING * height / 2))
    if half == 0:
        return values
    padded = np.pad(values, half, mode="edge")
    window = np.ones(2 * half + 1) / (2 * half + 1)
    return np.convolve(padded, window, mode="valid")


def _local_minima(values: NDArray[np.float64]) -> list[int]:
    """Indices of strict local minima, a flat bottom giving its middle."""
    minima = []
    index, count = 1, len(values)
    while index < count - 1:
        if values[index] < values[index - 1]:
            end = index
            while end + 1 < count and values[end + 1] == values[index]:
                end += 1  # a flat stretch
            if end + 1 < count and values[end + 1] > values[index]:
                minima.append((index + end) // 2)
            index = end + 1
        else:
            index += 1
    return minima


# ------------------------------------------------------------------ atoms
@dataclass(frozen=True)
class Atoms:
    """A drawing's atoms, left to right, with the line height and brush width in cells."""

    atoms: list[Atom]
    line_height: float
    brush: float
    touching: frozenset[tuple[int, int]]  # pairs (a, b), a < b, of blobs whose ink touches


def brush_width(inked: NDArray[np.bool_]) -> float:
    """The mean stroke width of the inked cells, in cells: area over half the outline.

    A stroke of width w and length L has area w L and outline 2 L. The outline is counted as
    changes between neighbouring cells along rows and columns, which is a curve's length
    times 4 / pi on average over its directions.
    """
    changes = int(
        np.count_nonzero(np.diff(inked, axis=0)) + np.count_nonzero(np.diff(inked, axis=1))
    )
    return max(1.0, 8.0 * float(inked.sum()) / (math.pi * max(changes, 1)))


def find_atoms(grid: Grid, strokes: Sequence[NDArray[np.floating]] | None = None) -> Atoms:
    """The atoms of a drawing, left to right, with its line height and brush width in cells.

    `strokes`: each (k, 2) x, y in the drawing's px, in drawing order; None if unknown.
    Specks under MIN_SPECK line heights squared are dropped and at most MAX_ATOM_COUNT atoms
    made, so a noisy photo or a long scribble cannot make thousands of candidates. When the
    strokes make more than MAX_BLOBS blobs (a digit retraced or dabbed many times) they are set
    aside and the ink is read alone; more than MAX_BLOBS pieces of ink that do not touch raise
    TooManyPiecesError (HTTP 422) rather than leave some out.
    """
    labels, count = connected_components(grid.inked)
    boxes = component_boxes(labels, count)
    height = line_height(boxes)
    brush = brush_width(grid.inked)
    smallest = max(1.0, MIN_SPECK * height * height)
    blobs: list[Blob] = []  # mask: the whole grid's for strokes, the box's for components
    if strokes:
        masks = stroke_blobs(grid, strokes, brush)
        covered = np.zeros_like(grid.inked)
        for index, mask in enumerate(masks):
            if mask.any():
                blobs.append((0, 0, mask, index))
                covered |= mask
        # Ink no stroke explains (a stroke the client left out) still counts, as components.
        labels, count = connected_components(grid.inked & ~covered)
        boxes = component_boxes(labels, count)
        smallest = max(smallest, LEFTOVER_DOTS * brush * brush)
    for label, (top, left, bottom, right, size) in enumerate(boxes.tolist(), start=1):
        if size >= smallest:
            blobs.append((top, left, labels[top:bottom, left:right] == label, -1))
    if len(blobs) > MAX_BLOBS:  # a number is never read with parts of it left out
        if strokes:  # a digit dabbed or retraced many times: the ink says what hangs together
            return find_atoms(grid, None)
        raise TooManyPiecesError(
            f"the drawing has {len(blobs)} separate pieces of ink; a number is read from at most "
            f"{MAX_BLOBS}"
        )
    blobs = [_cropped(top, left, mask, stroke) for top, left, mask, stroke in blobs]

    atoms = _cut(blobs, height, brush)
    if len(atoms) > MAX_ATOM_COUNT:  # a long thin scribble: each blob one atom, as cheap to read
        atoms = _cut(blobs, height, brush, cut=False)
    atoms.sort(key=lambda a: (a.centre, a.stroke))
    return Atoms(atoms, height, brush, touching_blobs(blobs))


def _cut(blobs: Sequence[Blob], height: float, brush: float, cut: bool = True) -> list[Atom]:
    """Each blob cut into atoms where `cut_columns` says (if `cut` and it is wide enough)."""
    atoms = []
    for index, (top, left, blob, stroke) in enumerate(blobs):
        wider_than = CUT_WIDER_THAN if stroke < 0 else STROKE_CUT_WIDER_THAN
        wide = cut and blob.shape[1] > wider_than * height
        bounds = [0, *(cut_columns(blob, height, brush) if wide else []), blob.shape[1]]
        for start, stop in itertools.pairwise(bounds):
            atom = _atom(blob[:, start:stop], top, left + start, stroke, index)
            if atom is not None:
                atoms.append(atom)
    return atoms


def _cropped(top: int, left: int, mask: NDArray[np.bool_], stroke: int) -> Blob:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return top + int(rows[0]), left + int(cols[0]), crop, stroke


def touching_blobs(blobs: Sequence[Blob]) -> frozenset[tuple[int, int]]:
    """Pairs of blobs whose cells share a cell or a side or corner: strokes that cross or meet.

    Components never touch one another (else they would be one); strokes of one digit mostly
    do (a 4's bar crosses its arm, a 5's flag starts on its stem), digits side by side mostly
    do not. Only pairs whose boxes meet are compared, in the small window they share.
    """
    pairs = set()
    for a, (top_a, left_a, mask_a, _) in enumerate(blobs):
        near_a = grown(mask_a)  # a's cells and their 8 neighbours, at (top_a - 1, left_a - 1)
        for b in range(a + 1, len(blobs)):
            top_b, left_b, mask_b, _ = blobs[b]
            y0, x0 = max(top_a - 1, top_b), max(left_a - 1, left_b)  # the shared window
            y1 = min(top_a - 1 + near_a.shape[0], top_b + mask_b.shape[0])
            x1 = min(left_a - 1 + near_a.shape[1], left_b + mask_b.shape[1])
            if y0 >= y1 or x0 >= x1:
                continue
            near = near_a[y0 - top_a + 1 : y1 - top_a + 1, x0 - left_a + 1 : x1 - left_a + 1]
            if (near & mask_b[y0 - top_b : y1 - top_b, x0 - left_b : x1 - left_b]).any():
                pairs.add((a, b))
    return frozenset(pairs)


def _atom(
    mask: NDArray[np.bool_],
    top: int,
    left: int,
    stroke: int,
    blob: int,
) -> Atom | None:
    """An Atom of `mask`'s inked cells, cropped to them; None if it has none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    column_mass = crop.sum(axis=0)
    centre = left + cols[0] + float(column_mass @ np.arange(crop.shape[1])) / column_mass.sum()
    return Atom(top + int(rows[0]), left + int(cols[0]), crop, centre, stroke, blob)

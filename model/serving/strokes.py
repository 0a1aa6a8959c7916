"""Stroke width: measured on the digit, and brought back into MNIST's range when it is not.

The recipe scales the ink's bounding box to 20 px, so what the network sees as stroke width is
the pen's width relative to the digit's size. A small digit drawn with a fat brush comes out as
a blob (a 3 drawn 34 px tall with a 20 px brush on the 280 px pad turns into strokes 7.6 px thick
in the 20 px box, which the network read as an 8); a large one drawn with a fine brush comes out
as hairlines. MNIST's writers used pens of about one width on digits of about one size.

`stroke_width` measures ink area over half the outline's length, so a stroke of width w and
any length L gives w: area = w L, outline = 2 L. The outline is read off the total variation
along rows, columns and both diagonals (the sum of |differences| between neighbouring pixels,
which counts an anti-aliased edge once, in full). It needs no threshold and no skeleton, and
costs a few array sums.

`normalized_strokes` leaves every digit within MNIST's own range untouched, bit for bit. Outside
it, the strokes are worn down (grey erosion) or built up (grey dilation) on a copy 3x the box's
resolution, until the digit, re-cropped and scaled to the box, has strokes of a chosen width.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image

# Stroke width in the 20 px box, measured by `stroke_width` on each digit cropped and fitted to
# the box as the recipe does. MNIST test set (10,000 digits): 0.1st percentile 1.39 px, 1st
# 1.55, median 2.53, 99th 4.71, 99.5th 5.02, 99.9th 5.70 (the training set agrees to 0.05 px).
# Its median agrees with ink area (above 127) over Zhang-Suen skeleton length on the committed
# sample (tests/data/mnist-sample, 3,000 digits, measured at 4x): 2.54 px, 5th-95th 1.64-4.53.
THICK_LIMIT = 5.0  # thicker than 99.5% of MNIST: worn down
THIN_LIMIT = 1.3  # thinner than 99.9% of MNIST: built up
# The widths normalised strokes are brought to: MNIST's 90th and 15th percentiles. Not its
# median for thick strokes: loops a fat brush only narrowed open up at 3.5 px as well, and a
# loop it closed is a blob, which wearing down to 2.5 px only squeezes into a narrower blob.
# On the ten test drawings at 80 sizes and brushes, 3.5 and 2.5 px read 741 and 742 of 800
# right (676 left alone), and 3.5 px keeps each drawing closer to the same digit drawn medium.
THICK_TARGET = 3.5
THIN_TARGET = 2.0
MIN_CROP_SIDE = 8  # px: a dot or a few pixels have no strokes to measure, and are left alone
WORKING_SIDE = 60  # the copy worn down or built up: 3x the 20 px box, so a 1 px step is a third
# A safeguard: an erosion step may take at most this share of the remaining ink. A stroke w px
# wide loses 2 / w of itself per step, so no stroke is worn below 2-4 working px, even where the
# width was misjudged. (None of the test drawings comes near it.)
MAX_STEP_LOSS = 0.5


def stroke_width(ink: NDArray[np.float32]) -> float:
    """Mean stroke width of an ink map (h, w), ink >= 0 high, in its own pixels; 0 if blank."""
    height, width = ink.shape
    values = np.zeros((height + 2, width + 2), dtype=np.float32)  # blank all round, so ink at
    values[1:-1, 1:-1] = ink  # the edge has an edge (np.pad takes 5x as long on a 20 px box)
    straight = float(np.abs(np.diff(values, axis=0)).sum() + np.abs(np.diff(values, axis=1)).sum())
    diagonal = float(
        np.abs(values[1:, 1:] - values[:-1, :-1]).sum()
        + np.abs(values[1:, :-1] - values[:-1, 1:]).sum()
    )
    # An edge of length L at any angle meets rows, columns and both diagonals (1 / sqrt(2)
    # apart) in 8 L / pi crossings on average, within 4% whatever the angle.
    outline = (straight + diagonal / math.sqrt(2.0)) * math.pi / 8.0
    if outline <= 0.0:
        return 0.0
    return 2.0 * float(values.sum()) / outline


def normalized_strokes(
    crop: NDArray[np.float32], fitted: NDArray[np.float32]
) -> NDArray[np.float32] | None:
    """The cropped ink (h, w) with its strokes brought into MNIST's range, as a new map of up to
    WORKING_SIDE px plus a margin (crop it again); None when they are within it already.

    `fitted` is the same crop as the recipe fitted it to the box: the limits and targets are
    stroke widths in its pixels.
    """
    if max(crop.shape) < MIN_CROP_SIDE:
        return None
    box = max(fitted.shape)
    width_in_box = stroke_width(fitted)
    if THIN_LIMIT <= width_in_box <= THICK_LIMIT:
        return None
    work = _resized(crop, WORKING_SIDE)
    side = max(work.shape)
    width = stroke_width(work)  # resolved here even when thinner than a box pixel
    target = (THICK_TARGET if width_in_box > THICK_LIMIT else THIN_TARGET) * side / box
    # Eroding by r px per side thins strokes by 2r and shrinks the box by 2r (dilating grows
    # both), and the result is scaled back to the box: (width - 2r) / (side - 2r) = target / side.
    radius = (width - target) / (2.0 * (1.0 - target / side))
    if abs(radius) < 0.25:
        return None
    if radius < 0:
        work = np.pad(work, math.ceil(-radius) + 1)  # room to grow into
    shaped = _reshaped(work, radius)
    return shaped if float(shaped.max()) > 0.0 else None


def _resized(crop: NDArray[np.float32], side: int) -> NDArray[np.float32]:
    """`crop` (h, w) scaled so its longer side is `side` px: area averaging down, bilinear up."""
    height, width = crop.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1.0 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(crop).resize(size, resample), dtype=np.float32)


def _reshaped(ink: NDArray[np.float32], radius: float) -> NDArray[np.float32]:
    """Grey erosion (radius > 0) or dilation (radius < 0) by |radius| px, a fractional last step
    blending two steps. Erosion stops early rather than wear a merged region away
    (MAX_STEP_LOSS). Outside the map counts as blank."""
    dilate = radius < 0
    whole, fraction = divmod(abs(radius), 1.0)
    current = np.pad(ink, 1)  # a blank ring: erosion wears strokes down from the map's edge too
    for step in range(int(whole) + (fraction > 0.0)):
        # Alternating the 3x3 square and the 4-neighbour cross moves an edge about 1 px per step
        # in every direction (an octagon, close to a disc), where either alone would turn every
        # round dot into a square or a diamond.
        nxt = _step(current, dilate, square=step % 2 == 1)
        if not dilate and float(nxt.sum()) < (1.0 - MAX_STEP_LOSS) * float(current.sum()):
            break
        if step == int(whole):  # the fractional step
            nxt = current + np.float32(fraction) * (nxt - current)
        current = nxt
    return current


def _step(ink: NDArray[np.float32], dilate: bool, square: bool) -> NDArray[np.float32]:
    """One step of grey dilation or erosion (h, w) over the cross or the 3x3 square.

    The same as `model.data.morphology.grey_morphology` with CROSS or disc(1) (tested), for one
    map, as four in-place operations on slices: 10-13 us a step on the 60 px copy instead of
    27-44 us, which the thick-brush path pays 5 to 15 times.
    """
    reduce = np.maximum if dilate else np.minimum
    columns = ink.copy()  # each pixel with its neighbours above and below
    reduce(columns[1:], ink[:-1], out=columns[1:])
    reduce(columns[:-1], ink[1:], out=columns[:-1])
    across = columns if square else ink  # the square: the columns' left and right neighbours
    out = columns.copy() if square else columns
    reduce(out[:, 1:], across[:, :-1], out=out[:, 1:])
    reduce(out[:, :-1], across[:, 1:], out=out[:, :-1])
    return out

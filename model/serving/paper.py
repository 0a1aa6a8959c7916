"""The paper under a photographed digit: its uneven light found and divided out, leaving the ink.

A canvas export, a screenshot or a clean scan has a flat background: the recipe reads the ink
straight off the border's level (`preprocess.ink_map`), and nothing here runs. A phone photo of
paper does not. The light falls off toward a corner, a hand or the phone casts a soft shadow,
squared paper has printed lines, paper has texture and the sensor has grain. Measured against
one level, any of these counts as ink, widens the crop and shrinks the digit into a corner.

`paper_ink` undoes them in order:

1. The paper's own brightness, everywhere: a grey closing (the maximum over a square window,
   then the minimum of that over the same window) on a copy LOW_SIDE px across, with a window
   about a quarter of the image. Dark strokes narrower than the window vanish from it; light
   and shadow, which change slowly, stay. Then bilinear back to full size.
2. Ink = 1 - luminance / paper: light falls on paper and ink alike, so the ratio leaves the
   ink's own darkness, as dark in a shadow as in the light. (For light ink on dark paper,
   chalk on a board, the difference instead: there is no paper brightness to divide by.)
3. Grain: what is left on bare paper is noise around zero. Its spread, from the median absolute
   deviation, sets a floor everything is lowered by.
4. Lines and specks: a 3x3 grey opening (minimum, then maximum) removes any ink under 3 px
   wide, which squared paper's printed lines are at the working size and a pen's strokes are
   not.
5. Remnants: grid crossings, texture blotches and shadow edges survive as weak ink. Everything
   is lowered by a share of the strongest ink, so the digit's strokes alone remain.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

# Photos are read at most this large (area-averaged down): the digit ends up 20 px, and at 480
# the lines of squared paper are thinner than a pen's strokes (step 4), as they are on the page.
WORKING_SIDE = 480
LOW_SIDE = 64  # the copy the paper's brightness is estimated on
PAPER_WINDOW = 15  # px of LOW_SIDE: a quarter of the image, wider than any pen stroke in it
# A border is flat when this share of it is within one grey level of its median: a canvas, a
# screenshot or a scan (and a JPEG of one). A photo's grain alone spreads it wider.
FLAT_BORDER_SHARE = 0.9
GRAIN_FLOOR = 3.0  # robust standard deviations of bare paper's ink: grain is under this
LINE_WIDTH = 3  # px at WORKING_SIDE: thinner than this (squared paper's lines) is not ink
# Ink weaker than this share of the strongest is not the digit. Measured on the test photos
# (tests/model/serving/photos.py): after the steps before, what is left of squared paper away
# from the digit is at most 0.19 of the pen's darkness, and a pencil is 0.56 of a pen's.
REMNANT_FLOOR = 0.35


def has_flat_border(ring: NDArray[np.generic], level: float, full_scale: float) -> bool:
    """True when the border ring's pixels are (nearly all) at `level`: no light to undo."""
    within = np.abs(ring.astype(np.float32) - np.float32(level)) <= full_scale / 255.0
    return int(np.count_nonzero(within)) >= FLAT_BORDER_SHARE * ring.size


def paper_ink(
    values: NDArray[np.uint8] | NDArray[np.float32],
    full_scale: float,
    light_paper: bool,
    min_contrast: float,
) -> NDArray[np.float32]:
    """Ink in [0, 1] (1 for the strongest) of a photographed page's luminance (H, W), white at
    `full_scale`: (H, W) float32, found on a copy at most WORKING_SIDE px a side. All zeros when
    no ink differs from the paper by `min_contrast` of its brightness (of full scale, for dark
    paper)."""
    height, width = values.shape
    luminance = _reduced(np.asarray(values, dtype=np.float32) / np.float32(full_scale))
    paper = _paper_level(luminance, light_paper)
    if light_paper:
        darkness = 1.0 - luminance / np.maximum(paper, np.float32(1.0 / 255.0))
    else:
        darkness = np.subtract(luminance, paper)
    ink: NDArray[np.float32] = np.maximum(darkness, 0.0).astype(np.float32, copy=False)

    sample = ink[::4, ::4]  # grain is the same everywhere: a sixteenth of the pixels will do
    median = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - median)))  # a standard deviation
    ink -= np.float32(median + GRAIN_FLOOR * spread)
    np.maximum(ink, 0.0, out=ink)

    ink = _square_filter(_square_filter(ink, LINE_WIDTH, np.minimum), LINE_WIDTH, np.maximum)
    strongest = float(ink.max())
    if strongest < min_contrast:
        return np.zeros((height, width), dtype=np.float32)
    ink -= np.float32(REMNANT_FLOOR * strongest)
    np.maximum(ink, 0.0, out=ink)
    ink *= np.float32(1.0 / ((1.0 - REMNANT_FLOOR) * strongest))
    if ink.shape != (height, width):  # back to the photo's own pixels, as ink_map promises
        ink = np.array(Image.fromarray(ink).resize((width, height), Image.Resampling.BILINEAR))
    return ink


def _reduced(values: NDArray[np.float32]) -> NDArray[np.float32]:
    """`values` (H, W) area-averaged so the longer side is at most WORKING_SIDE."""
    height, width = values.shape
    if max(height, width) <= WORKING_SIDE:
        return values
    scale = WORKING_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(values).resize(size, Image.Resampling.BOX), np.float32)


def _paper_level(luminance: NDArray[np.float32], light_paper: bool) -> NDArray[np.float32]:
    """The paper's luminance under each pixel (H, W), the ink taken out (step 1)."""
    height, width = luminance.shape
    scale = min(1.0, LOW_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    low = np.asarray(Image.fromarray(luminance).resize(size, Image.Resampling.BOX), np.float32)
    # Light paper: the closing (max, then min) fills in dark strokes; dark paper: the opening.
    first, second = (np.maximum, np.minimum) if light_paper else (np.minimum, np.maximum)
    level = _square_filter(_square_filter(low, PAPER_WINDOW, first), PAPER_WINDOW, second)
    return np.asarray(
        Image.fromarray(level).resize((width, height), Image.Resampling.BILINEAR), np.float32
    )


def _square_filter(values: NDArray[np.float32], side: int, reduce: np.ufunc) -> NDArray[np.float32]:
    """The max (reduce=np.maximum) or min over a side x side square around each pixel (H, W),
    pixels outside the image ignored. A square is two 1-D passes: 2 side array operations, not
    side squared."""
    out = values
    for axis in (0, 1):
        source, out = out, out.copy()
        length = source.shape[axis]
        for offset in range(1, side // 2 + 1):
            if offset >= length:
                break
            ahead = [slice(None), slice(None)]
            behind = [slice(None), slice(None)]
            ahead[axis], behind[axis] = slice(offset, None), slice(None, -offset)
            # Each pixel meets its neighbour `offset` away on both sides.
            reduce(out[tuple(behind)], source[tuple(ahead)], out=out[tuple(behind)])
            reduce(out[tuple(ahead)], source[tuple(behind)], out=out[tuple(ahead)])
    return out

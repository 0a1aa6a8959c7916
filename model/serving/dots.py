"""A drawing made only of dots: ":" or "..." is not a digit.

The verdict classifier learnt single dots and dashes, but two dots one above the other, fitted
into the 20x20 box, look to it like the ends of a digit's strokes: a colon on the digit pad was
read as a 4, a "digit". A dot is a connected component at most DOT_SIZE stroke widths tall and
wide; a drawing of two or more components that are all dots has no digit in it.

On the 28x28 images, DOT_SIZE 3 calls none of the 10,000 MNIST test digits, the first 20,000
training digits or 4,725 held-out UNIPEN writers' digits dots-only (4 would call 2, 2 and 1
of them so). Number mode applies the same size to the pieces it cuts, in its own grid
(`model.serving.segment`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from model.serving.components import component_boxes, connected_components
from model.serving.verdict import ROW_BITS, ink_bits

# A round dab is 2.5 stroke widths across by `atoms.brush_width` (area over half the outline).
DOT_SIZE = 3.0
INK_LEVEL = 128  # grey level (0..255, ink high) from which a cell of the 28x28 image is ink


def only_dots(image: NDArray[np.uint8]) -> bool:
    """Whether a (28, 28) uint8 image, ink high, is two or more dots and nothing else.

    The stroke width is `atoms.brush_width`'s (area over half the outline). A dot is at most
    DOT_SIZE of them across, so no run of ink along a row or a column is longer; a digit's
    strokes are (a 1 is ten stroke widths tall). That test runs on the ink as the bits of one
    Python integer, a few microseconds (as `verdict.features_one` does), and only the
    drawings that pass it have their connected components labelled.
    """
    inked = image >= INK_LEVEL
    ink = ink_bits(inked)
    if not ink:
        return False
    changes = (ink ^ (ink >> 1)).bit_count() + (ink ^ (ink >> ROW_BITS)).bit_count()
    brush = max(1.0, 8.0 * ink.bit_count() / (math.pi * max(changes, 1)))
    across, down = ink, ink
    for _ in range(int(DOT_SIZE * brush)):  # after k steps, a bit starts a run of over k
        across &= across >> 1
        down &= down >> ROW_BITS
    if across or down:
        return False
    labels, count = connected_components(inked)
    if count < 2:
        return False
    boxes = component_boxes(labels, count)
    extent = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return bool((extent <= DOT_SIZE * brush).all())

"""A drawing made only of dots: ":" or "..." is not a digit.

The verdict classifier learnt single dots and dashes, but two dots one above the other, fitted
into the 20x20 box, look to it like the ends of a digit's strokes: a colon on the digit pad was
read as a 4, a "digit". A dot is a connected component at most DOT_SIZE stroke widths tall and
wide; a drawing of two or more components that are all dots has no digit in it.

On the 28x28 images, DOT_SIZE 3 calls none of the 10,000 MNIST test digits, the first 20,000
training digits or 4,725 held-out UNIPEN writers' digits dots-only (4 would call 1, 6 and 2
of them so). Number mode applies the same size to the pieces it cuts, in its own grid
(`model.serving.segment`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from model.serving.atoms import brush_width
from model.serving.components import component_boxes, connected_components

# A round dab is 2.5 stroke widths across by `atoms.brush_width` (area over half the outline).
DOT_SIZE = 3.0
INK_LEVEL = 128  # grey level (0..255, ink high) from which a cell of the 28x28 image is ink


def only_dots(image: NDArray[np.uint8]) -> bool:
    """Whether a (28, 28) uint8 image, ink high, is two or more dots and nothing else."""
    inked = image >= INK_LEVEL
    # Separate dots leave an empty row or column between them (unless many are staggered to
    # cover both axes), and most drawings have none: this check costs a tenth of labelling.
    if _one_run(np.flatnonzero(inked.any(axis=1))) and _one_run(np.flatnonzero(inked.any(axis=0))):
        return False
    labels, count = connected_components(inked)
    if count < 2:
        return False
    boxes = component_boxes(labels, count)
    extent = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return bool((extent <= DOT_SIZE * brush_width(inked)).all())


def _one_run(where: NDArray[np.intp]) -> bool:
    """Whether sorted indices are consecutive (or there are none): rows or columns with ink."""
    return len(where) == 0 or int(where[-1] - where[0]) + 1 == len(where)

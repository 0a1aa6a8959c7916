"""Grey-level morphology on batches of images: dilation, erosion, and thinning to a skeleton.

Used to thicken and thin strokes (augmentation, robustness) and to re-draw a digit with a pen
of constant width (`model.data.pen`). Shapes are batch-first: (n, height, width).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

Offsets = list[tuple[int, int]]

CROSS: Offsets = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]  # the centre and its 4 neighbours


def disc(radius: int) -> Offsets:
    """The (dy, dx) offsets of a digital disc of `radius` pixels, slightly fuller than r^2."""
    return [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius + radius
    ]


def grey_morphology(
    images: NDArray[np.float32], footprint: Offsets, dilate: bool
) -> NDArray[np.float32]:
    """Grey-level dilation (max) or erosion (min) over `footprint`: (n, h, w) -> (n, h, w).

    Outside the image counts as 0 (background).
    """
    _n, h, w = images.shape
    r = max(max(abs(dy), abs(dx)) for dy, dx in footprint)
    pad = np.pad(images, ((0, 0), (r, r), (r, r)))
    reduce = np.maximum if dilate else np.minimum
    out = images.copy()
    for dy, dx in footprint:
        reduce(out, pad[:, r + dy : r + dy + h, r + dx : r + dx + w], out=out)
    return out


def thin(binary: NDArray[np.bool_], max_iterations: int = 40) -> NDArray[np.bool_]:
    """Zhang-Suen thinning to one-pixel-wide skeletons, for a batch (n, h, w) of masks."""
    image = np.pad(binary, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)
    for _ in range(max_iterations):
        changed = False
        for step in (0, 1):
            p = image
            # Neighbours P2..P9, clockwise from the pixel above.
            n2, n3, n4 = p[:, :-2, 1:-1], p[:, :-2, 2:], p[:, 1:-1, 2:]
            n5, n6, n7 = p[:, 2:, 2:], p[:, 2:, 1:-1], p[:, 2:, :-2]
            n8, n9 = p[:, 1:-1, :-2], p[:, :-2, :-2]
            ring = [n2, n3, n4, n5, n6, n7, n8, n9, n2]
            neighbours = sum(r.astype(np.int8) for r in ring[:-1])
            transitions = sum(
                ((a == 0) & (b == 1)).astype(np.int8) for a, b in itertools.pairwise(ring)
            )
            if step == 0:
                keep_shape = (n2 * n4 * n6 == 0) & (n4 * n6 * n8 == 0)
            else:
                keep_shape = (n2 * n4 * n8 == 0) & (n2 * n6 * n8 == 0)
            remove = (
                (p[:, 1:-1, 1:-1] == 1)
                & (neighbours >= 2)
                & (neighbours <= 6)
                & (transitions == 1)
                & keep_shape
            )
            if remove.any():
                changed = True
                image[:, 1:-1, 1:-1][remove] = 0
        if not changed:
            break
    return image[:, 1:-1, 1:-1].astype(bool)

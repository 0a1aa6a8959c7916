"""Connected components of a grid of cells, and the cells next to a shape.

`connected_components` labels the 8-connected regions of a boolean grid (h, w) the way a
scanline labeller does: each row's inked cells form a few runs; runs on neighbouring rows that
touch are joined; the joined groups are found with a union-find written as array operations.
The tests check it against a breadth-first flood fill. `component_boxes` gives each region's
bounding box and size; `grown` is a shape with its one-step neighbourhood (a 3x3 dilation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def connected_components(inked: NDArray[np.bool_]) -> tuple[NDArray[np.int32], int]:
    """Label 8-connected regions of `inked` (h, w): -> (labels (h, w), 0 = none, 1..n; n).

    Scanline labelling: each row's ink is a few runs; runs on neighbouring rows that touch
    (diagonals included) are joined, and the joined groups are found by a union-find written
    as array operations (every edge pulls its two groups' roots to the smaller one, then every
    run follows its pointers to its root), which needs a handful of passes, not one per run.
    """
    height, width = inked.shape
    edges = np.diff(np.pad(inked, ((0, 0), (1, 1))).astype(np.int8), axis=1)  # (h, w + 1)
    run_rows, starts = np.nonzero(edges == 1)  # row-major, so each start pairs with its end
    _, ends = np.nonzero(edges == -1)  # exclusive
    count = len(starts)
    labels = np.zeros((height, width), dtype=np.int32)
    if count == 0:
        return labels, 0

    # Runs a (row r) and b (row r + 1) touch when b starts at or before a's end and ends at
    # or after a's start (8-connected: end is exclusive, so "at" means diagonal contact).
    stride = width + 2
    start_keys = run_rows * stride + starts  # sorted: row-major
    end_keys = run_rows * stride + ends
    below = (run_rows + 1) * stride
    first = np.searchsorted(end_keys, below + starts, side="left")
    stop = np.searchsorted(start_keys, below + ends, side="right")
    touching = np.maximum(stop - first, 0)
    upper = np.repeat(np.arange(count), touching)
    offsets = np.arange(touching.sum()) - np.repeat(np.cumsum(touching) - touching, touching)
    lower = np.repeat(first, touching) + offsets

    root = np.arange(count)
    while True:
        smaller = np.minimum(root[upper], root[lower])
        hooked = root.copy()
        np.minimum.at(hooked, root[upper], smaller)  # hook each root under the smaller one
        np.minimum.at(hooked, root[lower], smaller)
        while True:  # pointer jumping: every run points straight at its root
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, root):
            break
        root = hooked
    _, group = np.unique(root, return_inverse=True)  # roots -> 0..n-1

    lengths = ends - starts
    cells = np.repeat(run_rows * width + starts - np.cumsum(lengths) + lengths, lengths)
    cells += np.arange(lengths.sum())
    labels.ravel()[cells] = np.repeat(group + 1, lengths)
    return labels, int(group.max()) + 1


def component_boxes(labels: NDArray[np.int32], count: int) -> NDArray[np.int64]:
    """(count, 5): top, left, bottom, right (ends exclusive) and size in cells of components
    1..count of `labels`."""
    rows, cols = np.nonzero(labels)
    ids = labels[rows, cols] - 1
    boxes = np.zeros((count, 5), dtype=np.int64)
    boxes[:, 0:2] = np.iinfo(np.int64).max
    np.minimum.at(boxes[:, 0], ids, rows)
    np.minimum.at(boxes[:, 1], ids, cols)
    np.maximum.at(boxes[:, 2], ids, rows + 1)
    np.maximum.at(boxes[:, 3], ids, cols + 1)
    boxes[:, 4] = np.bincount(ids, minlength=count)
    return boxes


def grown(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(h, w) -> (h + 2, w + 2): every cell within one step (diagonals too) of an inked one,
    the result's (0, 0) one cell up and left of the mask's."""
    height, width = mask.shape
    out = np.zeros((height + 2, width + 2), dtype=bool)
    for dy in range(3):
        for dx in range(3):
            out[dy : dy + height, dx : dx + width] |= mask
    return out

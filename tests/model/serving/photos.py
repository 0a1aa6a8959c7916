"""Phone-like test photos of a digit (made by `model.data.photos`), and the digits to photograph.

The generator lives in the package, where the robustness report uses it too; this module only
adds `mnist_digits`, the ten test-sample digits the serving tests photograph.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from model.data.mnist import load_mnist
from model.data.photos import INK, PAPER, PHOTO_KINDS, SIZE, PhotoKind, clean_scan, pen_ink, photo
from tests.conftest import SAMPLE_DIR

__all__ = [
    "INK",
    "PAPER",
    "PHOTO_KINDS",
    "SIZE",
    "PhotoKind",
    "clean_scan",
    "mnist_digits",
    "pen_ink",
    "photo",
]


def mnist_digits() -> tuple[list[NDArray[np.uint8]], list[int]]:
    """The first test-sample digit of each class 0..9: ten (28, 28) uint8 images, their labels."""
    images, labels = load_mnist(SAMPLE_DIR, "test")
    firsts = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]
    return [images[i] for i in firsts], list(range(10))

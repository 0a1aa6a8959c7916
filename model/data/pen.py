"""MNIST digits re-drawn with a pen of constant width, the way a canvas draws strokes.

Each digit is upscaled, thinned to its skeleton, and the skeleton dilated with a round pen, so
the network can train on the even, round-capped strokes a canvas pen makes, which MNIST's
scanned pen strokes rarely have.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from model.data.morphology import disc, grey_morphology, thin
from model.serving.preprocess import many_to_mnist

Digits = NDArray[np.uint8]
UPSCALE = 2  # strokes are re-drawn on a 56x56 grid, fine enough for 1-px pen steps


def upscaled(images: Digits, factor: int = UPSCALE) -> NDArray[np.float32]:
    """(n, 28, 28) uint8 -> (n, 28f, 28f) float32 in [0, 1], bilinear."""
    side = 28 * factor
    return (
        np.stack(
            [
                np.asarray(Image.fromarray(im).resize((side, side), Image.Resampling.BILINEAR))
                for im in images
            ]
        ).astype(np.float32)
        / 255.0
    )


def pen_redrawn(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Each digit's skeleton re-drawn with one constant pen width (1 to 4 px radius at 56x56)."""
    skeletons = thin(upscaled(images) > 0.5)
    out = np.empty(skeletons.shape, dtype=np.float32)
    radii = rng.integers(1, 5, len(images))
    for radius in np.unique(radii):
        chosen = radii == radius
        out[chosen] = grey_morphology(skeletons[chosen].astype(np.float32), disc(int(radius)), True)
    return out


def pen_redraw_dataset(images: Digits, rng: np.random.Generator, chunk: int = 2000) -> Digits:
    """Every digit re-drawn with a constant pen and put back through the recipe: (n, 28, 28).

    Training can mix these in so the network sees the even, round-capped strokes a canvas pen
    makes, which MNIST's scanned pen strokes rarely have.
    """
    out = np.empty_like(images)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk]
        redrawn, valid = many_to_mnist(pen_redrawn(part, rng))
        # A digit that thinned away entirely keeps its original form.
        out[start : start + chunk] = np.where(valid[:, None, None], redrawn, part)
    return out

"""On-the-fly data augmentation for MNIST batches, vectorised over the batch and seeded.

Each call draws a fresh random affine map (shift, rotation, scale, shear) and a Simard-style
elastic displacement field per image, and resamples all images at once with bilinear
interpolation; a random fraction also gets thicker or thinner strokes, as canvas pens make.
Images are (n, 28, 28) float32 in [0, 1], ink high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.data.morphology import CROSS, grey_morphology

Images = NDArray[np.float32]
SIDE = 28
CENTER = (SIDE - 1) / 2


@dataclass(frozen=True)
class AugmentParams:
    """Ranges of the random distortions; zero switches one off."""

    max_shift: float = 2.0  # pixels, each axis
    max_rotation: float = 12.0  # degrees
    max_scale: float = 0.12  # relative: scale in [1 - s, 1 + s]
    max_shear: float = 0.15  # horizontal shear factor (x += shear * y): slanted handwriting
    elastic_alpha: float = 1.2  # typical elastic displacement in pixels (Simard: about 1-1.5)
    elastic_sigma: float = 4.0  # Gaussian smoothing of the random field, pixels
    thickness_prob: float = 0.3  # chance to dilate or erode the strokes (half each)


def gaussian_matrix(sigma: float, size: int = SIDE) -> NDArray[np.float32]:
    """(size, size) matrix G with rows summing to 1 so that G @ f blurs f along one axis."""
    positions = np.arange(size)
    weights = np.exp(-0.5 * ((positions[:, None] - positions[None, :]) / sigma) ** 2)
    matrix: NDArray[np.float32] = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    return matrix


def elastic_fields(
    n: int, rng: np.random.Generator, alpha: float, sigma: float
) -> tuple[Images, Images]:
    """Smooth random displacement fields (dy, dx), each (n, 28, 28), of typical size `alpha`."""
    blur = gaussian_matrix(sigma)
    raw = rng.random((2, n, SIDE, SIDE), dtype=np.float32)  # float32 draws: half the cost
    raw *= 2
    raw -= 1  # uniform in [-1, 1)
    # Blurring along rows then columns is two small batched matrix products: G f G^T.
    smooth = blur @ raw @ blur.T
    # Blurring shrinks the field's spread; rescale so alpha is the typical displacement.
    smooth *= alpha / max(float(smooth.std()), 1e-6)
    return smooth[0], smooth[1]


def change_thickness(images: Images, rng: np.random.Generator, prob: float) -> Images:
    """Dilate (3x3 cross max) a random prob/2 of the images and erode another prob/2."""
    choice = rng.random(len(images))
    dilate, erode = choice < prob / 2, (choice >= prob / 2) & (choice < prob)
    if not (dilate.any() or erode.any()):
        return images
    out = images.copy()
    out[dilate] = grey_morphology(images[dilate], CROSS, dilate=True)
    # Erosion by a full min would wipe thin strokes; averaging with the min thins them instead.
    out[erode] = 0.5 * (images[erode] + grey_morphology(images[erode], CROSS, dilate=False))
    return out


def random_affine(n: int, rng: np.random.Generator, p: AugmentParams) -> NDArray[np.float32]:
    """(n, 2, 2) matrices mapping output offsets to input offsets (row, col order)."""
    angle = np.deg2rad(rng.uniform(-p.max_rotation, p.max_rotation, n))
    scale = rng.uniform(1 - p.max_scale, 1 + p.max_scale, n)
    shear = rng.uniform(-p.max_shear, p.max_shear, n)
    cos, sin = np.cos(angle), np.sin(angle)
    # Forward map: rotate, then shear columns by rows, then scale; we need its inverse to
    # pull each output pixel from the input.
    forward = np.empty((n, 2, 2))
    forward[:, 0, 0], forward[:, 0, 1] = cos, -sin
    forward[:, 1, 0], forward[:, 1, 1] = sin + shear * cos, cos - shear * sin
    forward *= scale[:, None, None]
    return np.linalg.inv(forward).astype(np.float32)


def bilinear_sample(images: Images, rows: Images, cols: Images) -> Images:
    """images (n, 28, 28) sampled at fractional (rows, cols) (n, 28, 28); outside is 0."""
    n = len(images)
    width = SIDE + 2
    flat = np.pad(images, ((0, 0), (1, 1), (1, 1))).reshape(-1)  # a zero border for outside
    r = np.clip(rows + 1, 0, SIDE)  # +1: coordinates in the padded image
    c = np.clip(cols + 1, 0, SIDE)
    r0 = np.floor(r).astype(np.int32)
    c0 = np.floor(c).astype(np.int32)
    fr = (r - r0.astype(np.float32)).reshape(n, -1)
    fc = (c - c0.astype(np.float32)).reshape(n, -1)
    # Indices into all padded images laid end to end: one flat gather per corner is several
    # times faster than take_along_axis over rows.
    base = (r0 * width + c0).reshape(n, -1) + (np.arange(n, dtype=np.int32) * width * width)[
        :, None
    ]

    def tap(offset: int) -> Images:
        taken: Images = flat.take(base + offset)
        return taken

    top = tap(0) * (1 - fc) + tap(1) * fc
    bottom = tap(width) * (1 - fc) + tap(width + 1) * fc
    sampled: Images = (top * (1 - fr) + bottom * fr).astype(np.float32, copy=False)
    sampled = sampled.reshape(n, SIDE, SIDE)
    return sampled


def augment(images: Images, rng: np.random.Generator, p: AugmentParams) -> Images:
    """A freshly distorted copy of a batch: (n, 28, 28) float32 in [0, 1] -> same shape."""
    n = len(images)
    if p.thickness_prob > 0:
        images = change_thickness(images, rng, p.thickness_prob)
    grid = np.arange(SIDE, dtype=np.float32) - CENTER
    out_r, out_c = np.meshgrid(grid, grid, indexing="ij")  # offsets from the centre
    inverse = random_affine(n, rng, p)
    rows = inverse[:, 0, 0, None, None] * out_r + inverse[:, 0, 1, None, None] * out_c
    cols = inverse[:, 1, 0, None, None] * out_r + inverse[:, 1, 1, None, None] * out_c
    shift = rng.uniform(-p.max_shift, p.max_shift, size=(2, n, 1, 1)).astype(np.float32)
    rows += CENTER - shift[0]
    cols += CENTER - shift[1]
    if p.elastic_alpha > 0:
        dy, dx = elastic_fields(n, rng, p.elastic_alpha, p.elastic_sigma)
        rows += dy
        cols += dx
    return bilinear_sample(images, rows, cols)

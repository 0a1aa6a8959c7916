"""How the model holds up under what real drawings bring, measured on MNIST test digits.

Each condition turns MNIST digits (n, 28, 28) into the kind of image a canvas produces: moved,
resized, rotated, with thicker or thinner strokes, or re-drawn as strokes of one constant pen
width. Every variant then goes through the serving recipe (`preprocess.to_mnist`), exactly as a
drawing sent to the API would, and the accuracy is compared with the clean digits'.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from model.evaluate import predict_in_batches
from model.network import MLP
from model.preprocess import NoInkError, normalize, to_mnist
from model.styles import add_style_strokes

Digits = NDArray[np.uint8]
UPSCALE = 2  # strokes are re-drawn on a 56x56 grid, fine enough for 1-px pen steps


def _upscaled(images: Digits, factor: int = UPSCALE) -> NDArray[np.float32]:
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


def _disc_offsets(radius: int) -> list[tuple[int, int]]:
    return [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius + radius  # a slightly fuller disc than r^2
    ]


def grey_morphology(images: NDArray[np.float32], radius: int, dilate: bool) -> NDArray[np.float32]:
    """Grey-level dilation (max) or erosion (min) with a disc: (n, h, w) -> (n, h, w)."""
    _n, h, w = images.shape
    pad = np.pad(images, ((0, 0), (radius, radius), (radius, radius)))
    reduce = np.maximum if dilate else np.minimum
    out = images.copy()
    for dy, dx in _disc_offsets(radius):
        reduce(out, pad[:, radius + dy : radius + dy + h, radius + dx : radius + dx + w], out=out)
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


def pen_redrawn(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Each digit's skeleton re-drawn with one constant pen width (1 to 4 px radius at 56x56)."""
    skeletons = thin(_upscaled(images) > 0.5)
    out = np.empty(skeletons.shape, dtype=np.float32)
    radii = rng.integers(1, 5, len(images))
    for radius in np.unique(radii):
        chosen = radii == radius
        out[chosen] = grey_morphology(skeletons[chosen].astype(np.float32), int(radius), True)
    return out


def pen_redraw_dataset(images: Digits, rng: np.random.Generator, chunk: int = 2000) -> Digits:
    """Every digit re-drawn with a constant pen and put back through the recipe: (n, 28, 28).

    Training can mix these in so the network sees the even, round-capped strokes a canvas pen
    makes, which MNIST's scanned pen strokes rarely have.
    """
    out = np.empty_like(images)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk]
        redrawn, valid = through_recipe(pen_redrawn(part, rng))
        # A digit that thinned away entirely keeps its original form.
        out[start : start + chunk] = np.where(valid[:, None, None], redrawn, part)
    return out


def shifted(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Moved by up to 3 px each way inside a larger canvas."""
    out = np.zeros((len(images), 34, 34), dtype=np.float32)
    offsets = rng.integers(0, 7, size=(len(images), 2))
    for image, target, (dy, dx) in zip(images, out, offsets, strict=True):
        target[dy : dy + 28, dx : dx + 28] = image / 255.0
    return out


def scaled(images: Digits, rng: np.random.Generator) -> list[NDArray[np.float32]]:
    """Drawn 0.5x to 3x as large (the recipe must bring them back to 20 px)."""
    sizes = (28 * rng.uniform(0.5, 3.0, len(images))).astype(int)
    return [
        np.asarray(Image.fromarray(im).resize((s, s), Image.Resampling.BILINEAR), np.float32)
        * np.float32(1 / 255)
        for im, s in zip(images, sizes, strict=True)
    ]


def rotated(images: Digits, rng: np.random.Generator) -> list[NDArray[np.float32]]:
    """Rotated by up to 15 degrees either way."""
    angles = rng.uniform(-15, 15, len(images))
    return [
        np.asarray(
            Image.fromarray(im).rotate(a, Image.Resampling.BILINEAR, expand=True), np.float32
        )
        * np.float32(1 / 255)
        for im, a in zip(images, angles, strict=True)
    ]


def thickened(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Strokes made about 1 source pixel thicker (a 1-px disc dilation at 56x56)."""
    return grey_morphology(_upscaled(images), 1, dilate=True)


def thinned(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Strokes made about 1 source pixel thinner (a 1-px disc erosion at 56x56)."""
    return grey_morphology(_upscaled(images), 1, dilate=False)


def clean(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """The digits themselves, through the recipe."""
    return images.astype(np.float32) / 255.0


CONDITIONS: dict[str, Callable[[Digits, np.random.Generator], object]] = {
    "clean (recipe)": clean,
    "shifted <=3px": shifted,
    "scaled 0.5-3x": scaled,
    "rotated <=15deg": rotated,
    "thickened": thickened,
    "thinned": thinned,
    "pen re-drawn": pen_redrawn,
}


def through_recipe(variants: object) -> tuple[Digits, NDArray[np.bool_]]:
    """Apply the serving recipe to each variant; (n, 28, 28) and which ones had ink."""
    inputs, ok = [], []
    for ink in variants:  # type: ignore[attr-defined]
        try:
            inputs.append(to_mnist(ink))
            ok.append(True)
        except NoInkError:  # a stroke thinned away entirely: counts as a miss
            inputs.append(np.zeros((28, 28), np.uint8))
            ok.append(False)
    return np.stack(inputs), np.array(ok)


def robustness_report(
    network: MLP,
    images: Digits,
    labels: NDArray[np.integer],
    mean: float,
    std: float,
    seed: int = 0,
    chunk: int = 2000,
) -> dict[str, float]:
    """Accuracy under each condition, plus the raw (no recipe) accuracy for reference."""

    def accuracy_of(inputs: Digits, valid: NDArray[np.bool_], truth: NDArray[np.integer]) -> int:
        x = normalize(inputs.reshape(len(inputs), -1), mean, std)
        predicted = predict_in_batches(network, x).argmax(axis=1)
        return int(((predicted == truth) & valid).sum())

    report = {
        "raw (no recipe)": accuracy_of(images, np.ones(len(images), bool), labels) / len(labels)
    }
    for name, condition in CONDITIONS.items():
        rng = np.random.default_rng([seed, len(report)])
        correct = 0
        for start in range(0, len(images), chunk):
            part = images[start : start + chunk]
            inputs, valid = through_recipe(condition(part, rng))
            correct += accuracy_of(inputs, valid, labels[start : start + chunk])
        report[name] = correct / len(labels)
    # Styles MNIST's writers seldom use (model/styles.py), on the 7s and 1s only, next to the
    # same digits unstyled: the drop is what a crossed 7 or a flagged 1 costs.
    sevens_and_ones = (labels == 7) | (labels == 1)
    subset, truth = images[sevens_and_ones], labels[sevens_and_ones]
    styled = add_style_strokes(subset, truth, np.random.default_rng([seed, len(report)]), 1.0)
    for name, variant in (("7s and 1s (recipe)", subset), ("7s and 1s, European styles", styled)):
        inputs, valid = through_recipe(variant.astype(np.float32) / 255.0)
        report[name] = accuracy_of(inputs, valid, truth) / max(len(truth), 1)
    return {name: round(value, 5) for name, value in report.items()}

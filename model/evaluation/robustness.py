"""How the model holds up under what real drawings bring, measured on MNIST test digits.

Each condition turns MNIST digits (n, 28, 28) into the kind of image a canvas produces: moved,
resized, rotated, with thicker or thinner strokes, or re-drawn as strokes of one constant pen
width. Every variant then goes through the serving recipe (`preprocess.to_mnist`), exactly as a
drawing sent to the API would, and the accuracy is compared with the clean digits'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from model.data.morphology import CROSS, disc, grey_morphology, thin
from model.data.pen import pen_redrawn, upscaled
from model.data.styles import add_style_strokes
from model.evaluation.metrics import predict_in_batches
from model.nn.mlp import MLP
from model.serving.preprocess import many_to_mnist, normalize

Digits = NDArray[np.uint8]


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
    return grey_morphology(upscaled(images), disc(1), dilate=True)


def thinned(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Strokes made about 1 source pixel thinner (a 1-px disc erosion at 56x56)."""
    return grey_morphology(upscaled(images), disc(1), dilate=False)


def thick_brush_small(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """Re-drawn small with a thick brush: the skeleton inked with a round pen 35-65% as wide as
    the digit is tall, as a 34 px digit drawn with the page's 20 px brush (or 56 px with 36)."""
    skeletons = thin(upscaled(images) > 0.5).astype(np.float32)  # (n, 56, 56), digits ~40 px
    margin = 14
    canvas = np.pad(skeletons, ((0, 0), (margin, margin), (margin, margin)))
    radii = rng.integers(7, 14, len(images))  # pen width 14-26 px for a ~40 px digit
    out = np.empty_like(canvas)
    for radius in np.unique(radii):
        chosen = radii == radius
        ink = canvas[chosen]
        # Alternating 4- and 8-neighbour dilations grow an octagon, close to the round pen,
        # for a few small footprints instead of one of hundreds of offsets.
        for step in range(int(radius)):
            ink = grey_morphology(ink, CROSS if step % 2 else disc(1), dilate=True)
        out[chosen] = ink
    return out


def clean(images: Digits, rng: np.random.Generator) -> NDArray[np.float32]:
    """The digits themselves, through the recipe."""
    return images.astype(np.float32) / 255.0


CONDITIONS: dict[str, Callable[[Digits, np.random.Generator], Iterable[NDArray[np.float32]]]] = {
    "clean (recipe)": clean,
    "shifted <=3px": shifted,
    "scaled 0.5-3x": scaled,
    "rotated <=15deg": rotated,
    "thickened": thickened,
    "thinned": thinned,
    "pen re-drawn": pen_redrawn,
    "thick brush, small": thick_brush_small,
}


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
            inputs, valid = many_to_mnist(condition(part, rng))
            correct += accuracy_of(inputs, valid, labels[start : start + chunk])
        report[name] = correct / len(labels)
    # Styles MNIST's writers seldom use (model/data/styles.py), on the 7s and 1s only, next to the
    # same digits unstyled: the drop is what a crossed 7 or a flagged 1 costs.
    sevens_and_ones = (labels == 7) | (labels == 1)
    subset, truth = images[sevens_and_ones], labels[sevens_and_ones]
    styled = add_style_strokes(subset, truth, np.random.default_rng([seed, len(report)]), 1.0)
    for name, variant in (("7s and 1s (recipe)", subset), ("7s and 1s, European styles", styled)):
        inputs, valid = many_to_mnist(variant.astype(np.float32) / 255.0)
        report[name] = accuracy_of(inputs, valid, truth) / max(len(truth), 1)
    return {name: round(value, 5) for name, value in report.items()}

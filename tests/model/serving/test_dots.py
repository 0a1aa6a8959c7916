"""Dots only: a colon, an ellipsis or a grid of dots is no digit; digits with a dot or a
detached stroke, and the committed MNIST sample, are not dots."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.serving.dots import only_dots
from model.serving.preprocess import image_to_mnist
from tests.model.serving.drawings import PAD, png

Sample = tuple[np.ndarray, np.ndarray]


def dabs(*centres: tuple[float, float]) -> list[list[tuple[float, float]]]:
    """Taps of the pen at pad fractions: one-point strokes."""
    return [[centre] for centre in centres]


def mnist_input(strokes: list[list[tuple[float, float]]], brush: float = 20.0) -> np.ndarray:
    """Strokes in pad fractions, drawn with a round `brush` px pen on the page's 280x280 pad
    (black on white), through the recipe to 28x28."""
    pad = Image.new("L", (PAD, PAD), 255)
    draw = ImageDraw.Draw(pad)
    radius = brush / 2
    for stroke in strokes:
        points = [(x * PAD, y * PAD) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=0, width=round(brush))
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return image_to_mnist(png(pad))


@pytest.mark.parametrize(
    "centres",
    [
        ((0.5, 0.3), (0.5, 0.7)),  # a colon
        ((0.3, 0.5), (0.7, 0.5)),  # side by side
        ((0.2, 0.5), (0.5, 0.5), (0.8, 0.5)),  # an ellipsis
        ((0.3, 0.3), (0.7, 0.3), (0.3, 0.7), (0.7, 0.7)),  # a square of four
    ],
)
def test_separate_dots_are_only_dots(centres: tuple[tuple[float, float], ...]) -> None:
    assert only_dots(mnist_input(dabs(*centres)))


def test_staggered_dots_covering_every_row_and_column_are_only_dots() -> None:
    """No blank row or column between any two of them: an earlier shortcut, which looked for
    one, let these through as a digit."""
    centres = ((0.2, 0.3), (0.3, 0.6), (0.4, 0.2), (0.5, 0.5), (0.6, 0.8), (0.7, 0.4), (0.8, 0.7))
    image = mnist_input(dabs(*centres), brush=30)
    rows, columns = (
        np.flatnonzero((image >= 128).any(axis=1)),
        np.flatnonzero((image >= 128).any(axis=0)),
    )
    assert len(rows) == rows[-1] - rows[0] + 1  # the premise: no blank row between the dots
    assert len(columns) == columns[-1] - columns[0] + 1  # nor column
    assert only_dots(image)


def test_one_dot_is_left_to_the_classifier() -> None:
    assert not only_dots(mnist_input(dabs((0.5, 0.5))))


@pytest.mark.parametrize(
    "strokes",
    [
        [[(0.5, 0.2)], [(0.5, 0.4), (0.5, 0.85)]],  # an i: a dot over a stroke
        [[(0.3, 0.2), (0.7, 0.2)], [(0.35, 0.3), (0.35, 0.5), (0.6, 0.6), (0.4, 0.85)]],  # a 5
        [[(0.3, 0.2), (0.3, 0.55), (0.75, 0.55)], [(0.6, 0.3), (0.6, 0.85)]],  # a 4 in two
    ],
)
def test_a_dot_or_a_detached_stroke_beside_a_stroke_is_not_only_dots(
    strokes: list[list[tuple[float, float]]],
) -> None:
    assert not only_dots(mnist_input(strokes))


def test_no_digit_of_the_mnist_sample_is_only_dots(sample: Sample) -> None:
    images, _ = sample
    assert not any(only_dots(image) for image in images)


def test_blank_and_full_images_are_not_dots() -> None:
    assert not only_dots(np.zeros((28, 28), np.uint8))
    assert not only_dots(np.full((28, 28), 255, np.uint8))

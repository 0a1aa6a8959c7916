"""Numbers drawn on the wide pad: the gaps asked for, on the pad, as the canvas draws ink."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from model.data.canvas import DrawingParams, draw
from model.data.numbers import (
    NUMBER_PAD,
    ink_extent,
    layout_number,
    random_number,
    render_number,
)
from model.data.unipen import load_strokes, split_by_writer

VERTICAL = [np.array([[0.0, 0.0], [0.0, 1.0]])]


def alpha(image: Image.Image) -> np.ndarray:
    return np.asarray(image)[..., 3]


@pytest.mark.parametrize("gap", [-10.0, 0.0, 25.0])
def test_neighbours_ink_is_the_gap_apart_and_the_number_is_centred(gap: float) -> None:
    strokes = load_strokes()
    digits = [strokes.strokes(r) for r in (0, 1, 2)]
    params = layout_number(digits, [120.0] * 3, [gap, gap], pen_width=12.0)
    boxes = [ink_extent(d, p) for d, p in zip(digits, params, strict=True)]
    for left, right in itertools.pairwise(boxes):
        assert right[0] - left[2] == pytest.approx(gap)
    assert (boxes[0][0] + boxes[-1][2]) / 2 == pytest.approx(NUMBER_PAD[0] / 2)


def test_a_long_number_shrinks_to_fit_the_pad() -> None:
    strokes = load_strokes()
    digits = [strokes.strokes(r) for r in range(12)]
    params = layout_number(digits, [200.0] * 12, [40.0] * 11, pen_width=10.0, slope=0.1)
    boxes = np.array([ink_extent(d, p) for d, p in zip(digits, params, strict=True)])
    assert boxes[:, 0].min() >= 0
    assert boxes[:, 2].max() <= NUMBER_PAD[0]
    assert boxes[:, 1].min() >= 0
    assert boxes[:, 3].max() <= NUMBER_PAD[1]
    assert params[0].height_px < 200


def test_a_digit_alone_is_drawn_exactly_as_the_canvas_draws_it() -> None:
    params = DrawingParams(150.0, 16.0, (140.0, 140.0))
    alone = render_number([VERTICAL], [params], size=(280, 280))
    assert np.array_equal(alpha(alone), alpha(draw(VERTICAL, params)))


def test_ink_over_ink_is_laid_as_the_canvas_does() -> None:
    crossing = [DrawingParams(100, 20, (140, 140)), DrawingParams(100, 20, (150, 140))]
    image = alpha(render_number([VERTICAL, VERTICAL], crossing, size=(280, 280)))
    one = alpha(render_number([VERTICAL], crossing[:1], size=(280, 280))) / 255
    two = alpha(render_number([VERTICAL], crossing[1:], size=(280, 280))) / 255
    expected = np.rint((one + two * (1 - one)) * 255)
    assert np.abs(image - expected).max() <= 1


def test_a_random_number_is_one_writers_digits_seeded() -> None:
    strokes = load_strokes()
    _, validation = split_by_writer(strokes)
    records = validation[:4].tolist()
    first = random_number(strokes, records, np.random.default_rng(5))
    again = random_number(strokes, records, np.random.default_rng(5))
    assert first.png == again.png
    assert first.label == "".join(str(int(strokes.labels[r])) for r in records)
    assert len(first.strokes) == sum(len(strokes.strokes(r)) for r in records)
    assert Image.open(io.BytesIO(first.png)).size == NUMBER_PAD
    assert len({p.pen_width for p in first.params}) == 1  # one brush for the whole number

"""Strokes drawn as the page draws them: ink where the strokes go, as wide as the brush, as tall
as asked, on a transparent 280x280 PNG that the serving recipe reads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model.data.canvas import (
    HEIGHTS,
    MIN_HEIGHT_PER_PEN,
    PAD,
    PEN_RANGE,
    DrawingParams,
    draw,
    page_path,
    png_bytes,
    random_drawing_params,
    render_drawing,
    resampled,
)
from model.data.unipen import StrokeSet, load_strokes
from model.serving.preprocess import image_to_mnist

VERTICAL = [np.array([[0.0, 0.0], [0.0, 1.0]])]  # one straight stroke, top to bottom


@pytest.fixture(scope="module")
def digits() -> StrokeSet:
    return load_strokes()


def alpha(image: Image.Image) -> np.ndarray:
    return np.asarray(image)[..., 3]


def ink_rows(image: Image.Image) -> np.ndarray:
    return np.flatnonzero((alpha(image) > 0).any(axis=1))


def test_the_export_is_black_ink_on_a_transparent_280px_square() -> None:
    image = render_drawing(VERTICAL, height_px=100, pen_width=20, centre_xy=(140, 140))
    pixels = np.asarray(image)
    assert image.mode == "RGBA"
    assert pixels.shape == (PAD, PAD, 4)
    assert not pixels[..., :3].any()  # colour is black everywhere, ink lives in alpha
    assert pixels[0, 0, 3] == 0
    assert len(np.unique(pixels[..., 3])) > 2  # anti-aliased: grey levels at the edges


def test_ink_lies_on_the_stroke_and_nowhere_else() -> None:
    image = alpha(render_drawing(VERTICAL, height_px=200, pen_width=20, centre_xy=(100, 140)))
    assert (image[40:241, 100] == 255).all()  # the stroke runs from y 40 to 240 at x 100
    assert (image[40:241, 92:109] > 200).all()  # 20 px wide around it
    assert not image[:, 112:].any()  # nothing right of the brush's edge
    assert not image[:, :88].any()
    assert not image[:28].any()  # round caps end 10 px past the stroke's ends
    assert not image[252:].any()


def test_the_ink_grows_with_the_brush() -> None:
    widths = []
    for pen in (8, 14, 20, 28, 36):
        image = alpha(render_drawing(VERTICAL, height_px=150, pen_width=pen, centre_xy=(140, 140)))
        widths.append(image[140].sum() / 255)  # ink across the middle row, in px
        assert abs(widths[-1] - pen) < 1.0
    assert widths == sorted(widths)


def test_a_digit_is_as_tall_as_asked_give_or_take_a_brush(digits: StrokeSet) -> None:
    for index, height, pen in ((0, 60, 8), (1000, 150, 20), (5000, 220, 36), (9000, 120, 30)):
        image = draw(digits.strokes(index), DrawingParams(height, pen, (140, 140)))
        rows = ink_rows(image)
        ink_height = rows[-1] - rows[0] + 1
        assert height <= ink_height <= height + pen + 2, (index, ink_height)


def test_a_tap_leaves_a_dot_as_wide_as_the_brush() -> None:
    tap = [np.array([[0.5, 0.5]])]
    image = alpha(render_drawing(tap, height_px=1, pen_width=20, centre_xy=(140, 140)))
    area = image.sum() / 255
    assert abs(area - np.pi * 10**2) < 0.05 * np.pi * 10**2
    assert image[140, 140] == 255


def test_a_quarter_turn_lays_a_vertical_stroke_flat() -> None:
    turned = render_drawing(
        VERTICAL, height_px=100, pen_width=10, centre_xy=(140, 140), rotation_deg=90
    )
    image = alpha(turned)
    assert (image[140, 95:186] == 255).all()
    assert not image[:125].any()
    assert not image[156:].any()


def test_the_page_path_starts_and_ends_on_the_samples_and_stays_near_them() -> None:
    samples = np.array([[0, 0], [10, 0], [10, 10], [20, 10]], dtype=float)
    path = page_path(samples)
    np.testing.assert_array_equal(path[0], samples[0])
    np.testing.assert_array_equal(path[-1], samples[-1])
    assert [5.0, 0.0] not in path.tolist()  # curves, not the polyline itself
    assert [10.0, 5.0] in path.tolist()  # each curve ends halfway to the next sample
    np.testing.assert_array_equal(page_path(samples[:2]), samples[:2])  # two samples: a line


def test_resampling_keeps_every_corner_and_closes_every_gap() -> None:
    corners = np.array([[0, 0], [30, 0], [30, 2]], dtype=float)
    dense = resampled(corners, spacing=5)
    assert all(c in dense.tolist() for c in corners.tolist())
    assert np.hypot(*np.diff(dense, axis=0).T).max() <= 5


def test_random_params_are_seeded_varied_and_keep_the_ink_on_the_pad(digits: StrokeSet) -> None:
    first = [random_drawing_params(np.random.default_rng(s), digits.strokes(s)) for s in range(40)]
    again = [random_drawing_params(np.random.default_rng(s), digits.strokes(s)) for s in range(40)]
    assert first == again
    pens = [p.pen_width for p in first]
    heights = [p.height_px for p in first]
    assert PEN_RANGE[0] <= min(pens)
    assert max(pens) <= PEN_RANGE[1]
    assert len(set(pens)) > 10
    assert HEIGHTS[0] <= min(heights)
    assert max(heights) <= HEIGHTS[1]
    assert all(p.height_px >= MIN_HEIGHT_PER_PEN * p.pen_width for p in first)
    assert {p.rotation_deg for p in first} == {0.0}  # no rotation unless asked
    for index, params in enumerate(first):
        image = alpha(draw(digits.strokes(index), params))
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        assert not border.any(), index  # the whole digit fits on the pad


def test_the_serving_recipe_reads_the_png(digits: StrokeSet) -> None:
    params = random_drawing_params(np.random.default_rng(1), digits.strokes(3))
    png = png_bytes(draw(digits.strokes(3), params))
    assert png.startswith(b"\x89PNG")
    mnist = image_to_mnist(png)
    assert mnist.shape == (28, 28)
    assert mnist.dtype == np.uint8
    assert mnist.max() > 200
    assert (mnist > 0).sum() > 30

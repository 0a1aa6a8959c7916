"""Grey-level dilation and erosion against a direct neighbourhood max/min; thinning."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.morphology import CROSS, disc, grey_morphology, thin


def direct(images: np.ndarray, footprint: list[tuple[int, int]], dilate: bool) -> np.ndarray:
    """The definition, pixel by pixel: max (or min) over the footprint, 0 outside the image."""
    n, h, w = images.shape
    out = np.empty_like(images)
    for k in range(n):
        for y in range(h):
            for x in range(w):
                values = [
                    images[k, y + dy, x + dx] if 0 <= y + dy < h and 0 <= x + dx < w else 0.0
                    for dy, dx in footprint
                ]
                out[k, y, x] = max(values) if dilate else min(values)
    return out


@pytest.mark.parametrize("footprint", [CROSS, disc(1), disc(2)])
@pytest.mark.parametrize("dilate", [True, False])
def test_grey_morphology_is_the_neighbourhood_max_or_min(
    footprint: list[tuple[int, int]], dilate: bool
) -> None:
    images = np.random.default_rng(0).random((2, 9, 7)).astype(np.float32)
    np.testing.assert_array_equal(
        grey_morphology(images, footprint, dilate), direct(images, footprint, dilate)
    )


def test_disc_grows_with_its_radius() -> None:
    assert len(disc(0)) == 1
    assert set(CROSS) < set(disc(1))
    assert len(disc(1)) < len(disc(2)) < len(disc(3))


def test_thin_leaves_a_one_pixel_line_of_a_thick_bar() -> None:
    bar = np.zeros((1, 12, 20), dtype=bool)
    bar[0, 4:9, 2:18] = True  # 5 px thick
    skeleton = thin(bar)[0]
    assert skeleton.any()
    assert (skeleton.sum(axis=0) <= 1).all()  # at most one pixel per column: one line
    assert not (skeleton & ~bar[0]).any()  # inside the original ink

"""Over-segmentation: connected components checked against a flood fill, cuts where touching
digits meet, one atom per stroke when the strokes are given, and which strokes touch."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from model.serving.atoms import (
    MAX_ATOM_COUNT,
    WORK_CELLS,
    brush_width,
    cut_columns,
    find_atoms,
    working_grid,
)
from model.serving.components import connected_components
from tests.model.serving.number_drawings import (
    DIGITS,
    FOUR_IN_TWO_STROKES,
    draw_number,
    number_of,
)


def flood_fill_partition(mask: NDArray[np.bool_]) -> set[frozenset[tuple[int, int]]]:
    """The 8-connected regions of `mask` by breadth-first search: the textbook reference."""
    seen = np.zeros_like(mask)
    regions = set()
    height, width = mask.shape
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        region, queue = set(), deque([start])
        seen[start] = True
        while queue:
            y, x = queue.popleft()
            region.add((int(y), int(x)))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        regions.add(frozenset(region))
    return regions


def partition_of(labels: NDArray[np.int32], count: int) -> set[frozenset[tuple[int, int]]]:
    return {
        frozenset((int(y), int(x)) for y, x in zip(*np.nonzero(labels == k), strict=True))
        for k in range(1, count + 1)
    }


@pytest.mark.parametrize("density", [0.2, 0.45, 0.6])
def test_components_match_a_flood_fill_on_random_masks(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    for _ in range(20):
        mask = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) < density
        labels, count = connected_components(mask)
        assert partition_of(labels, count) == flood_fill_partition(mask)
        assert labels[~mask].max(initial=0) == 0


def test_diagonal_neighbours_are_connected_and_a_blank_has_no_component() -> None:
    staircase = np.eye(6, dtype=bool)
    assert connected_components(staircase)[1] == 1
    assert connected_components(np.zeros((4, 5), dtype=bool))[1] == 0


def test_the_working_grid_is_about_work_cells_and_keeps_a_thin_line_whole() -> None:
    ink = np.zeros((280, 840), dtype=np.float32)
    rows = np.arange(20, 260)
    ink[rows, rows + 300] = 1.0  # a 1 px line, every px touching the next only at a corner
    grid = working_grid(ink)
    assert grid.factor == 2
    assert grid.inked.size <= WORK_CELLS
    assert connected_components(grid.inked)[1] == 1
    assert working_grid(np.ones((100, 100), np.float32)).factor == 1


def test_brush_width_is_the_stroke_width_of_a_curve() -> None:
    image = Image.new("1", (300, 300), 0)
    ImageDraw.Draw(image).ellipse((20, 20, 280, 280), outline=1, width=9)  # every direction
    assert brush_width(np.asarray(image, dtype=bool)) == pytest.approx(9, rel=0.1)


def rings(gap: int) -> NDArray[np.bool_]:
    """Two rings 60 px wide side by side, `gap` px apart (negative: overlapping)."""
    image = Image.new("1", (200, 80), 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 70, 70), outline=1, width=6)
    draw.ellipse((70 + gap, 10, 130 + gap, 70), outline=1, width=6)
    return np.asarray(image, dtype=bool)


@pytest.mark.parametrize("gap", [0, -3])
def test_touching_rings_are_cut_where_they_meet(gap: int) -> None:
    mask = rings(gap)
    cols = np.flatnonzero(mask.any(axis=0))
    blob = mask[:, cols[0] : cols[-1] + 1]
    meeting = 70 + gap / 2 - cols[0]
    cuts = cut_columns(blob, height=60.0, brush=brush_width(blob))
    assert any(abs(cut - meeting) <= 4 for cut in cuts), cuts


def test_given_strokes_each_stroke_is_an_atom_and_the_four_s_strokes_touch() -> None:
    drawn = draw_number([DIGITS[1], FOUR_IN_TWO_STROKES, DIGITS[7]], gaps=0.3)
    grid = working_grid(drawn.ink)
    found = find_atoms(grid, drawn.strokes)
    assert len(found.atoms) == len(drawn.strokes) == 4
    assert [a.stroke for a in found.atoms] == [0, 1, 2, 3]  # left to right, the 4's arm first
    blob = {a.stroke: a.blob for a in found.atoms}
    pair = tuple(sorted((blob[1], blob[2])))
    assert pair in found.touching  # the 4's stem crosses its arm
    assert tuple(sorted((blob[0], blob[1]))) not in found.touching


def test_without_strokes_separate_digits_are_separate_atoms() -> None:
    drawn = draw_number(number_of("1111"), gaps=0.3)
    found = find_atoms(working_grid(drawn.ink))
    assert len(found.atoms) == 4
    assert found.line_height * working_grid(drawn.ink).factor == pytest.approx(150 + 14, abs=8)
    centres = [a.centre for a in found.atoms]
    assert centres == sorted(centres)


def test_a_long_thin_scribble_is_not_cut_into_hundreds_of_atoms() -> None:
    image = Image.new("L", (2000, 200), 0)
    xs = np.arange(0, 2000, 3)
    points = list(zip(xs.tolist(), (100 + 4 * np.sin(xs / 3)).tolist(), strict=True))
    ImageDraw.Draw(image).line(points, fill=255, width=3)
    found = find_atoms(working_grid(np.asarray(image, dtype=np.float32) / 255))
    assert len(found.atoms) <= MAX_ATOM_COUNT


@pytest.mark.parametrize("use_strokes", [False, True])
def test_the_bars_of_an_equals_sign_are_not_cut_where_their_round_ends_thin(
    use_strokes: bool,
) -> None:
    # The bars set the line height themselves: the cut spacing is then a couple of cells, under
    # a brush width, and each bar was cut where its round cap thins, leaving a sliver.
    bars = [[(300.0, 120.0), (500.0, 120.0)], [(300.0, 170.0), (500.0, 170.0)]]
    image = Image.new("L", (840, 280), 0)
    draw = ImageDraw.Draw(image)
    for bar in bars:
        draw.line(bar, fill=255, width=20)
        for x, y in bar:
            draw.ellipse((x - 10, y - 10, x + 10, y + 10), fill=255)
    grid = working_grid(np.asarray(image, dtype=np.float32) / 255)
    given = [np.asarray(bar) for bar in bars] if use_strokes else None
    found = find_atoms(grid, given)
    assert len(found.atoms) == 2
    assert all(a.mask.shape[1] * grid.factor > 200 for a in found.atoms)

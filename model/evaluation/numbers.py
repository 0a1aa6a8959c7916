"""How well whole numbers are read: held-out writers' digits drawn side by side on a wide pad.

Each test number is 2 to 8 digits of ONE held-out writer (`unipen.split_by_writer`'s
validation side: people neither the network nor the segmentation's costs were tuned on),
drawn by `model.data.numbers.random_number` as the page would draw them: one brush, a sloping
baseline, sizes varying by 15%, and gaps between neighbours from a slight overlap to wide.

Every drawing is read, from the same PNG and with the same single-digit reader, by:
- "segment + strokes": `model.serving.segment` given the strokes, as the page can send them;
- "segment": the same from the image alone;
- "blank columns": a cut at every column without ink, each run of inked columns one digit;
- "connected pieces": each connected blob of ink one digit, left to right;
- "each digit alone": every digit drawn on its own and read (no segmentation at all), the
  ceiling any segmentation can reach with this reader.
The score is the share of numbers read exactly (every digit, no digit more or less).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from model.data.canvas import png_bytes
from model.data.numbers import NUMBER_PAD, NumberDrawing, random_number, render_number
from model.data.unipen import StrokeSet, load_strokes, split_by_writer
from model.serving.atoms import working_grid
from model.serving.components import connected_components
from model.serving.predictor import Predictor
from model.serving.preprocess import INK_THRESHOLD, ink_map, open_image, to_mnist
from model.serving.segment import read_number

LENGTHS = tuple(range(2, 9))
METHODS = ("segment + strokes", "segment", "blank columns", "connected pieces", "each digit alone")
MIN_PIECE_PX = 20  # the peer methods drop specks of fewer inked px (a stray tap, a JPEG speck)


def drawn_numbers(
    strokes: StrokeSet | None = None,
    per_length: int = 100,
    lengths: Sequence[int] = LENGTHS,
    seed: int = 0,
    size: tuple[int, int] = NUMBER_PAD,
    writers: Literal["held-out", "training"] = "held-out",
) -> list[NumberDrawing]:
    """`per_length` numbers of each length, each from one writer's digits, seeded.

    The writers are the held-out ones (the report's), or the training ones (what the
    segmentation's costs were chosen on). Number i of length n draws its writer, digits and
    layout from rng([seed, n, i]), so a number stays the same when more are asked for.
    """
    strokes = strokes if strokes is not None else load_strokes()
    training, held_out = split_by_writer(strokes)
    records = held_out if writers == "held-out" else training
    names = strokes.writer_of()[records]
    distinct = np.unique(names)
    drawings = []
    for length in lengths:
        for index in range(per_length):
            rng = np.random.default_rng([seed, length, index])
            own = records[names == distinct[rng.integers(len(distinct))]]
            chosen = rng.choice(own, size=length, replace=len(own) < length).tolist()
            drawings.append(random_number(strokes, chosen, rng, size))
    return drawings


# ---------------------------------------------------------------- the two peer methods
def blank_column_inks(ink: NDArray[np.float32]) -> list[NDArray[np.float32]]:
    """Peer method 1: split at every column without ink; each run of inked columns, all rows,
    is one digit (left to right). Touching or overlapping digits stay one piece."""
    columns = (ink >= INK_THRESHOLD * float(ink.max())).any(axis=0)
    edges = np.diff(np.concatenate([[0], columns.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    pieces = [ink[:, a:b] for a, b in zip(starts, stops, strict=True)]
    return [p for p in pieces if int((p >= INK_THRESHOLD).sum()) >= MIN_PIECE_PX]


def connected_inks(ink: NDArray[np.float32]) -> list[NDArray[np.float32]]:
    """Peer method 2: each connected blob of ink (8-connected, on the same grid the segmentation
    labels) is one digit, its own ink only, left to right. A 5 whose flag does not touch its
    body is two pieces; touching digits are one."""
    grid = working_grid(ink)
    labels, count = connected_components(grid.inked)
    f = grid.factor
    full = np.repeat(np.repeat(labels, f, axis=0), f, axis=1)[: ink.shape[0], : ink.shape[1]]
    pieces = []
    for label in range(1, count + 1):
        mask = full == label
        if int(mask.sum()) < MIN_PIECE_PX:
            continue
        cols = np.flatnonzero(mask.any(axis=0))
        pieces.append((int(cols[0]), np.where(mask, ink, 0.0).astype(np.float32)))
    pieces.sort(key=lambda piece: piece[0])
    return [piece for _, piece in pieces]


def read_pieces(
    predictor: Predictor, split: Callable[[NDArray[np.float32]], list[NDArray[np.float32]]]
) -> Callable[[NumberDrawing, NDArray[np.float32]], str]:
    """A peer method as a reader: its pieces through the recipe, read in one batch."""

    def read(_: NumberDrawing, ink: NDArray[np.float32]) -> str:
        pieces = split(ink)
        predictions = predictor.predict([to_mnist(piece) for piece in pieces])
        return "".join(str(p.digit) for p in predictions)

    return read


def digits_alone(
    predictor: Predictor, strokes: StrokeSet
) -> Callable[[NumberDrawing, NDArray[np.float32]], str]:
    """The ceiling: each digit of the number drawn alone, where it stood, and read."""

    def read(drawing: NumberDrawing, _: NDArray[np.float32]) -> str:
        images = []
        for record, params in zip(drawing.records, drawing.params, strict=True):
            alone = render_number([strokes.strokes(record)], [params], drawing.size)
            images.append(to_mnist(ink_map(open_image(png_bytes(alone)))))
        return "".join(str(p.digit) for p in predictor.predict(images))

    return read


# ---------------------------------------------------------------- the report
@dataclass(frozen=True)
class NumbersReport:
    """Exact-number accuracy per method, overall and by length, on `numbers` drawings."""

    numbers: int
    writers: int
    accuracy: dict[str, float]  # method -> share of numbers read exactly
    by_length: dict[str, dict[int, float]]  # method -> length -> share
    readings: dict[str, list[str]]  # method -> what it read, drawing by drawing


def numbers_report(
    drawings: Sequence[NumberDrawing], readings: dict[str, list[str]]
) -> NumbersReport:
    """Score each method's readings against the drawings' labels."""
    labels = np.array([d.label for d in drawings])
    lengths = np.array([len(d.label) for d in drawings])
    accuracy, by_length = {}, {}
    for method, read in readings.items():
        right = np.array(read) == labels
        accuracy[method] = float(right.mean())
        by_length[method] = {int(n): float(right[lengths == n].mean()) for n in np.unique(lengths)}
    return NumbersReport(
        numbers=len(drawings),
        writers=len({d.writer for d in drawings}),
        accuracy=accuracy,
        by_length=by_length,
        readings=readings,
    )


def read_numbers(
    predictor: Predictor,
    drawings: Sequence[NumberDrawing],
    strokes: StrokeSet | None = None,
    methods: Sequence[str] = METHODS,
) -> dict[str, list[str]]:
    """What each method reads in each drawing (see the module docstring), from its PNG."""
    strokes = strokes if strokes is not None else load_strokes()
    readers: dict[str, Callable[[NumberDrawing, NDArray[np.float32]], str]] = {
        "segment + strokes": lambda d, ink: read_number(predictor, ink, d.strokes).number,
        "segment": lambda _, ink: read_number(predictor, ink).number,
        "blank columns": read_pieces(predictor, blank_column_inks),
        "connected pieces": read_pieces(predictor, connected_inks),
        "each digit alone": digits_alone(predictor, strokes),
    }
    readings: dict[str, list[str]] = {method: [] for method in methods}
    for drawing in drawings:
        ink = ink_map(open_image(drawing.png))
        for method in methods:
            readings[method].append(readers[method](drawing, ink))
    return readings


def format_numbers_report(report: NumbersReport, whose: str = "held-out") -> str:
    """A table: one row per method, exact-number accuracy overall and for each length; `whose`
    names the writers ("held-out" or "training")."""
    lengths = sorted(next(iter(report.by_length.values())))
    head = f"{'method':<18} {'all':>6}  " + "  ".join(f"{n:>5}" for n in lengths)
    lines = [
        f"{report.numbers} numbers ({len(lengths)} lengths) by {report.writers} {whose} writers: "
        "share read exactly, by number of digits",
        head,
    ]
    for method, overall in report.accuracy.items():
        cells = "  ".join(f"{report.by_length[method][n]:5.1%}" for n in lengths)
        lines.append(f"{method:<18} {overall:6.1%}  {cells}")
    return "\n".join(lines)

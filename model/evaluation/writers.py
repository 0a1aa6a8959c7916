"""How the model reads people it never saw: held-out UNIPEN writers' digits, drawn on the pad.

The held-out writers are `unipen.split_by_writer`'s validation side (whole writers, a fifth of
each contributing institution's). Each of their digits is drawn `variants` times as the page
exports a drawing (`model.data.canvas`), with params seeded by (seed, record, variant): variant
k takes its brush from PEN_BANDS[k % 3] (thin, medium, thick), its height and place at random.
The PNGs go through the serving recipe and the model (`predict_drawings`), and `writers_report`
scores the answers: overall, per digit, top confusions, per writer, per brush and height band.
benchmarks/eval_writers.py sends the same PNGs through the real API and checks that it answers
exactly as `predict_drawings` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from model.data.canvas import DrawingParams, draw, png_bytes, random_drawing_params
from model.data.unipen import (
    DEFAULT_FRACTION,
    StrokeSet,
    load_strokes,
    split_by_contributor,
    split_by_writer,
)
from model.evaluation.metrics import confusion_matrix
from model.serving.predictor import Prediction, Predictor
from model.serving.preprocess import image_to_mnist

DIGITS = 10
PEN_BANDS = ((8, 15), (16, 25), (26, 36))  # brush px on the 280 px pad: thin, medium, thick
HEIGHT_BANDS = ((0.0, 80.0), (80.0, 160.0), (160.0, 281.0))  # digit height px: small, mid, large
TOP_CONFUSIONS = 5


@dataclass(frozen=True)
class WriterDrawing:
    """One held-out digit drawn once: which record, its truth, how it was drawn, the PNG."""

    record: int
    label: int
    writer: str
    params: DrawingParams
    png: bytes


def variant_params(strokes: StrokeSet, record: int, variant: int, seed: int = 0) -> DrawingParams:
    """The seeded size, brush and place of one variant of one record."""
    rng = np.random.default_rng([seed, record, variant])
    band = PEN_BANDS[variant % len(PEN_BANDS)]
    return random_drawing_params(rng, strokes.strokes(record), pen_range=band)


def writer_drawings(
    strokes: StrokeSet, records: Iterable[int], variants: int = 3, seed: int = 0
) -> list[WriterDrawing]:
    """Every record drawn `variants` times, as the page's PNG, in record then variant order."""
    writers = strokes.writer_of()
    out = []
    for record in records:
        for variant in range(variants):
            params = variant_params(strokes, int(record), variant, seed)
            out.append(
                WriterDrawing(
                    record=int(record),
                    label=int(strokes.labels[record]),
                    writer=str(writers[record]),
                    params=params,
                    png=png_bytes(draw(strokes.strokes(int(record)), params)),
                )
            )
    return out


def held_out_drawings(
    strokes: StrokeSet | None = None,
    variants: int = 3,
    seed: int = 0,
    fraction: float = DEFAULT_FRACTION,
    split_seed: int = 0,
    by: Literal["writer", "contributor"] = "writer",
) -> list[WriterDrawing]:
    """The held-out writers' digits (the shipped UNIPEN digits by default), each drawn
    `variants` times. `by="contributor"` holds out whole institutions instead."""
    strokes = strokes if strokes is not None else load_strokes()
    split = split_by_writer if by == "writer" else split_by_contributor
    _, validation = split(strokes, fraction, split_seed)
    return writer_drawings(strokes, validation, variants, seed)


def predict_drawings(
    predictor: Predictor, drawings: Sequence[WriterDrawing], batch_size: int = 500
) -> list[Prediction]:
    """The in-process serving path: each PNG through the recipe, then the model, in batches."""
    predictions: list[Prediction] = []
    for start in range(0, len(drawings), batch_size):
        images = [image_to_mnist(d.png) for d in drawings[start : start + batch_size]]
        predictions += predictor.predict(images)
    return predictions


@dataclass(frozen=True)
class WritersReport:
    """Accuracy on held-out writers' drawings; every accuracy is a fraction in [0, 1]."""

    drawings: int
    digits: int  # distinct records drawn
    writers: int
    accuracy: float
    per_digit: list[float]  # (10,), accuracy on the drawings of each true digit
    confusions: list[tuple[int, int, int]]  # (true, predicted, count), most frequent first
    per_writer: dict[str, float]
    writer_mean: float
    writer_median: float
    writer_worst: float
    worst_writer: str
    by_pen: dict[str, tuple[float, int]]  # band -> (accuracy, drawings)
    by_height: dict[str, tuple[float, int]]


def writers_report(
    drawings: Sequence[WriterDrawing],
    predicted: Sequence[int] | NDArray[np.integer],
    top: int = TOP_CONFUSIONS,
) -> WritersReport:
    """Score `predicted` (one digit per drawing) against the drawings' labels."""
    labels = np.array([d.label for d in drawings], dtype=np.int64)
    guesses = np.asarray(predicted, dtype=np.int64)
    right = labels == guesses
    counts = confusion_matrix(labels, guesses)  # (10, 10): [true, predicted]
    totals = counts.sum(axis=1)
    per_digit = [float(counts[d, d] / totals[d]) if totals[d] else float("nan") for d in range(10)]
    wrong = [(t, p, int(counts[t, p])) for t in range(DIGITS) for p in range(DIGITS) if t != p]
    confusions = sorted((c for c in wrong if c[2]), key=lambda c: (-c[2], c[0], c[1]))[:top]
    writers = np.array([d.writer for d in drawings])
    per_writer = {str(w): float(right[writers == w].mean()) for w in np.unique(writers)}
    scores = np.array(list(per_writer.values()))
    worst = min(per_writer, key=lambda w: (per_writer[w], w))
    pens = np.array([d.params.pen_width for d in drawings])
    heights = np.array([d.params.height_px for d in drawings])
    return WritersReport(
        drawings=len(drawings),
        digits=len({d.record for d in drawings}),
        writers=len(per_writer),
        accuracy=float(right.mean()),
        per_digit=per_digit,
        confusions=confusions,
        per_writer=per_writer,
        writer_mean=float(scores.mean()),
        writer_median=float(np.median(scores)),
        writer_worst=per_writer[worst],
        worst_writer=worst,
        by_pen=_banded(right, pens, PEN_BANDS, "pen {:g}-{:g} px", inclusive=True),
        by_height=_banded(right, heights, HEIGHT_BANDS, "height {:g}-{:g} px"),
    )


def _banded(
    right: NDArray[np.bool_],
    values: NDArray[np.floating],
    bands: Sequence[tuple[float, float]],
    name: str,
    inclusive: bool = False,
) -> dict[str, tuple[float, int]]:
    """Accuracy and count of the drawings whose value lies in each band [low, high)."""
    out = {}
    for low, high in bands:
        inside = (values >= low) & ((values <= high) if inclusive else (values < high))
        n = int(inside.sum())
        out[name.format(low, high)] = (float(right[inside].mean()) if n else float("nan"), n)
    return out


def format_writers_report(report: WritersReport) -> str:
    """The report as a few lines of text."""
    lines = [
        f"{report.drawings} drawings of {report.digits} digits by {report.writers} held-out "
        f"writers: accuracy {report.accuracy:.2%}",
        "per digit:  " + "  ".join(f"{d}: {a:.1%}" for d, a in enumerate(report.per_digit)),
        "top confusions (true -> predicted):  "
        + ",  ".join(f"{t} -> {p}: {n}" for t, p, n in report.confusions),
        f"per writer: mean {report.writer_mean:.2%}, median {report.writer_median:.2%}, "
        f"worst {report.writer_worst:.2%} ({report.worst_writer})",
    ]
    for title, bands in (("by brush", report.by_pen), ("by height", report.by_height)):
        lines.append(
            f"{title}:  " + ",  ".join(f"{b}: {a:.1%} (n={n})" for b, (a, n) in bands.items())
        )
    return "\n".join(lines)


def evaluate_writers(
    predictor: Predictor,
    variants: int = 3,
    seed: int = 0,
    strokes: StrokeSet | None = None,
    by: Literal["writer", "contributor"] = "writer",
) -> WritersReport:
    """Draw the held-out writers' digits, read them in-process, and score the answers."""
    drawings = held_out_drawings(strokes, variants, seed, by=by)
    return writers_report(drawings, [p.digit for p in predict_drawings(predictor, drawings)])

"""Held-out writers' digits drawn on the pad: seeded variants, and a report that scores them."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.canvas import DrawingParams
from model.data.unipen import StrokeSet, load_strokes, split_by_writer
from model.evaluation.writers import (
    PEN_BANDS,
    WriterDrawing,
    format_writers_report,
    predict_drawings,
    variant_params,
    writer_drawings,
    writers_report,
)
from model.serving.predictor import Predictor
from tests.conftest import SHIPPED_WEIGHTS


@pytest.fixture(scope="module")
def digits() -> StrokeSet:
    return load_strokes()


def fake(label: int, writer: str, pen: float = 20, height: float = 120) -> WriterDrawing:
    return WriterDrawing(0, label, writer, DrawingParams(height, pen, (140, 140)), b"")


def test_each_variant_takes_its_brush_band_and_the_same_params_every_time(
    digits: StrokeSet,
) -> None:
    for variant in range(6):
        params = variant_params(digits, 42, variant, seed=3)
        low, high = PEN_BANDS[variant % 3]
        assert low <= params.pen_width <= high
        assert params == variant_params(digits, 42, variant, seed=3)
    assert variant_params(digits, 42, 0, seed=3) != variant_params(digits, 42, 0, seed=4)


def test_the_report_counts_digits_confusions_and_writers() -> None:
    drawings = [fake(1, "a"), fake(1, "a"), fake(7, "a"), fake(1, "b"), fake(4, "b", pen=30)]
    report = writers_report(drawings, [1, 7, 7, 7, 9])
    assert report.accuracy == pytest.approx(2 / 5)
    assert report.per_digit[1] == pytest.approx(1 / 3)
    assert report.per_digit[7] == 1.0
    assert report.per_digit[4] == 0.0
    assert np.isnan(report.per_digit[0])  # no 0 was drawn
    assert report.confusions == [(1, 7, 2), (4, 9, 1)]
    assert report.per_writer == {"a": pytest.approx(2 / 3), "b": 0.0}
    assert (report.worst_writer, report.writer_worst) == ("b", 0.0)
    assert report.writer_mean == pytest.approx(1 / 3)
    assert report.by_pen["pen 26-36 px"] == (0.0, 1)
    assert report.by_pen["pen 16-25 px"] == (0.5, 4)
    assert "1 -> 7: 2" in format_writers_report(report)


def test_held_out_digits_drawn_on_the_pad_are_read_by_the_shipped_model(
    digits: StrokeSet,
) -> None:
    _, validation = split_by_writer(digits)
    records = validation[::60]  # 29 digits from the held-out writers
    drawings = writer_drawings(digits, records, variants=2)
    assert [d.record for d in drawings[:4]] == [records[0]] * 2 + [records[1]] * 2
    assert {d.writer for d in drawings} <= set(digits.writer_of()[validation])
    predictions = predict_drawings(Predictor.from_file(SHIPPED_WEIGHTS), drawings, batch_size=16)
    report = writers_report(drawings, [p.digit for p in predictions])
    assert report.drawings == 2 * len(records)
    # The shipped model reads about 97% of them; an upside-down or mis-scaled drawing would not.
    assert report.accuracy > 0.85

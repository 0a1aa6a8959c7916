"""Whole-number evaluation: the held-out numbers, the peer methods, and the report."""

from __future__ import annotations

import pytest

from model.data.numbers import NumberDrawing
from model.data.unipen import load_strokes, split_by_writer
from model.evaluation.numbers import (
    blank_column_inks,
    connected_inks,
    drawn_numbers,
    format_numbers_report,
    numbers_report,
    read_numbers,
)
from model.serving.predictor import Predictor
from tests.conftest import SHIPPED_WEIGHTS
from tests.model.serving.number_drawings import draw_number, number_of


def test_numbers_are_drawn_from_one_held_out_writer_each_and_seeded() -> None:
    strokes = load_strokes()
    _, validation = split_by_writer(strokes)
    held_out = set(validation.tolist())
    drawings = drawn_numbers(strokes, per_length=2, lengths=(2, 5), seed=3)
    assert [len(d.label) for d in drawings] == [2, 2, 5, 5]
    writers = strokes.writer_of()
    for drawing in drawings:
        assert set(drawing.records) <= held_out
        assert {writers[r] for r in drawing.records} == {drawing.writer}
    again = drawn_numbers(strokes, per_length=2, lengths=(2, 5), seed=3)
    assert [d.png for d in again] == [d.png for d in drawings]
    training = drawn_numbers(strokes, per_length=1, lengths=(3,), writers="training")
    assert not set(training[0].records) & held_out


def test_blank_columns_split_at_gaps_but_not_between_touching_digits() -> None:
    apart = draw_number(number_of("2024"), gaps=0.3)
    touching = draw_number(number_of("2024"), gaps=[0.3, -0.08, 0.3])
    assert len(blank_column_inks(apart.ink)) == 4
    assert len(blank_column_inks(touching.ink)) == 3


def test_connected_pieces_are_one_per_blob_left_to_right() -> None:
    apart = draw_number(number_of("1074"), gaps=0.3)
    pieces = connected_inks(apart.ink)
    assert len(pieces) == 4
    lefts = [int(piece.any(axis=0).argmax()) for piece in pieces]
    assert lefts == sorted(lefts)
    touching = draw_number(number_of("2024"), gaps=[0.3, -0.08, 0.3])
    assert len(connected_inks(touching.ink)) == 3


def test_the_report_scores_exact_numbers_by_length() -> None:
    def fake(label: str) -> NumberDrawing:
        return NumberDrawing(label, (), "w", (), (840, 280), (), b"")

    drawings = [fake("12"), fake("34"), fake("567")]
    report = numbers_report(drawings, {"a": ["12", "35", "567"], "b": ["12", "34", "56"]})
    assert report.accuracy == {"a": pytest.approx(2 / 3), "b": pytest.approx(2 / 3)}
    assert report.by_length["a"] == {2: 0.5, 3: 1.0}
    assert report.by_length["b"] == {2: 1.0, 3: 0.0}
    assert "66.7%" in format_numbers_report(report)


def test_every_method_reads_well_separated_numbers() -> None:
    predictor = Predictor.from_file(SHIPPED_WEIGHTS)
    drawings = drawn_numbers(per_length=2, lengths=(3,), seed=1)
    readings = read_numbers(predictor, drawings)
    assert set(readings) == {
        "segment + strokes",
        "segment",
        "blank columns",
        "connected pieces",
        "each digit alone",
    }
    assert all(len(read) == len(drawings) for read in readings.values())
    assert all(read.isdigit() or read == "" for reads in readings.values() for read in reads)

"""UNIPEN strokes: the shipped compact files, their reader and writer, simplification, and
hold-out splits that never put one writer (or institution) on both sides."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from model.data.unipen import (
    DIGIT_LIKE_LETTERS,
    DIGITS_FILE,
    GRID,
    LETTERS_FILE,
    TOLERANCE,
    StrokeFileError,
    StrokeSet,
    compact,
    held_out_contributors,
    held_out_writers,
    load_strokes,
    normalised,
    read_records,
    save_strokes,
    simplify,
    split_by_contributor,
    split_by_writer,
    split_counts,
)


@pytest.fixture(scope="module")
def digits() -> StrokeSet:
    return load_strokes(DIGITS_FILE)


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps({"y_axis": "up", **record}) + "\n")
    return path


def record(label: object, writer: str, strokes: list[list[list[int]]]) -> dict[str, object]:
    points = np.concatenate([np.array(s) for s in strokes])
    bbox = [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]
    return {
        "label": label,
        "writer": writer,
        "contributor": writer.split(":")[0],
        "bbox": bbox,
        "strokes": strokes,
    }


# ---------------------------------------------------------------- the shipped files


def test_the_shipped_digits_hold_every_record_with_labels_and_strokes(digits: StrokeSet) -> None:
    assert len(digits) == 11_718
    assert digits.labels.dtype == np.uint8
    assert set(np.unique(digits.labels)) == set(range(10))
    assert len(digits.writer_names) == 101
    assert len(digits.contributor_names) == 8
    assert digits.record_strokes.min() >= 1  # every record has a stroke
    assert digits.stroke_lengths.min() >= 1  # and every stroke a point
    assert digits.metadata["source"] == "unipen1a_digits.jsonl.gz"
    assert "Guyon" in digits.metadata["citation"]
    assert DIGITS_FILE.stat().st_size < 2_000_000


def test_each_shipped_record_spans_its_own_bbox(digits: StrokeSet) -> None:
    """Scaled by its own bbox: the longer side spans 0..1, less what simplification dropped."""
    for index in range(0, len(digits), 97):
        every = np.concatenate(digits.strokes(index))
        span = every.max(axis=0) - every.min(axis=0)
        assert every.min() >= 0.0
        assert every.max() <= 1.0
        assert 1.0 - TOLERANCE - 1.0 / GRID <= span.max() <= 1.0


def test_the_letters_file_leaves_out_every_letter_that_looks_like_a_digit() -> None:
    letters = load_strokes(LETTERS_FILE)
    labels = set(letters.labels.tolist())
    assert labels
    assert not labels & set(DIGIT_LIKE_LETTERS)
    assert all(len(label) == 1 and label.isalpha() for label in labels)
    assert set(letters.metadata["excluded_letters"]) == set(DIGIT_LIKE_LETTERS)
    assert LETTERS_FILE.stat().st_size < 3_000_000


# ---------------------------------------------------------------- reading and writing


def test_a_record_is_scaled_by_its_longer_side_with_y_turned_down(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl.gz", [record(1, "aa:1", [[[10, 300], [10, 100]]])])
    (only,) = read_records(path)
    (stroke,) = normalised(only)
    # x stays at the bbox's left; the first point, highest on the tablet, is at the top.
    np.testing.assert_allclose(stroke, [[0.0, 0.0], [0.0, 1.0]])


def test_records_written_compactly_read_back_the_same(tmp_path: Path) -> None:
    square = [[0, 0], [50, 0], [100, 0], [100, 50], [100, 100], [0, 100], [0, 0]]
    tap = [[40, 40]]
    records = [
        record(7, "aa:1", [square, tap]),
        record(3, "aa:2", [[[0, 0], [20, 40], [40, 80]]]),
        record(0, "bb:1", [[[5, 5], [5, 5], [6, 5]]]),
    ]
    path = write_jsonl(tmp_path / "r.jsonl.gz", records)
    saved = compact(read_records(path))
    save_strokes(tmp_path / "s.npz", saved, {"source": "test"})
    loaded = load_strokes(tmp_path / "s.npz")

    assert loaded.labels.tolist() == [7, 3, 0]
    assert loaded.writer_of().tolist() == ["aa:1", "aa:2", "bb:1"]
    assert loaded.contributor_of().tolist() == ["aa", "aa", "bb"]
    assert loaded.metadata["source"] == "test"
    assert loaded.metadata["records"] == 3
    first = loaded.strokes(0)
    # The square keeps its corners only (y down), the tap its one point.
    np.testing.assert_allclose(first[0], [[0, 1], [1, 1], [1, 0], [0, 0], [0, 1]])
    np.testing.assert_allclose(first[1], [[0.4, 0.6]], atol=1 / GRID)
    assert len(loaded.strokes(1)[0]) == 2  # a straight line is its two ends
    for name in ("points", "stroke_lengths", "record_strokes", "writers", "contributors"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(saved, name))


def test_simplify_drops_points_on_a_line_and_keeps_corners() -> None:
    line = np.column_stack([np.linspace(0, 1, 50), np.linspace(0, 0.5, 50)])
    np.testing.assert_array_equal(simplify(line, 0.01), line[[0, -1]])
    corner = np.array([[0, 0], [0.5, 0], [1, 0], [1, 0.5], [1, 1]], dtype=float)
    np.testing.assert_array_equal(simplify(corner, 0.01), corner[[0, 2, 4]])
    loop = np.array([[0, 0], [1, 0], [1, 1], [0, 0]], dtype=float)  # both ends the same point
    assert len(simplify(loop, 0.01)) == 4


def test_a_record_with_y_pointing_down_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl.gz", [{**record(1, "a:1", [[[0, 0]]]), "y_axis": "dn"}])
    with pytest.raises(StrokeFileError, match="y_axis"):
        list(read_records(path))


def test_a_broken_strokes_file_is_refused(tmp_path: Path, digits: StrokeSet) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(StrokeFileError, match="not a readable"):
        load_strokes(tmp_path / "junk.npz")
    np.savez(tmp_path / "pickled.npz", points=np.array([object()], dtype=object))
    with pytest.raises(StrokeFileError):
        load_strokes(tmp_path / "pickled.npz")
    short = dataclasses.replace(digits, labels=digits.labels[:-1])
    save_strokes(tmp_path / "short.npz", short, {})
    with pytest.raises(StrokeFileError, match="one entry per record"):
        load_strokes(tmp_path / "short.npz")


# ---------------------------------------------------------------- hold-out splits


def test_the_writer_split_never_shares_a_writer_and_is_the_same_every_time(
    digits: StrokeSet,
) -> None:
    train, validation = split_by_writer(digits)
    writers = digits.writer_of()
    assert not set(writers[train]) & set(writers[validation])
    assert len(train) + len(validation) == len(digits)
    again = split_by_writer(digits)
    np.testing.assert_array_equal(validation, again[1])
    counts = split_counts(digits, (train, validation))
    assert counts["validation"]["writers"] == 21  # a fifth of each institution's, rounded
    assert counts["train"]["writers"] == 80
    assert counts["validation"]["records"] == 1732
    assert not np.array_equal(validation, split_by_writer(digits, seed=1)[1])


def test_held_out_writers_come_from_every_institution_with_three_or_more(
    digits: StrokeSet,
) -> None:
    held = held_out_writers(digits.writer_of(), digits.contributor_of())
    contributors = digits.contributor_of()
    for code in digits.contributor_names:
        mine = set(digits.writer_of()[contributors == code])
        if len(mine) >= 3:
            assert mine & held, code
        assert mine - held, f"{code}: every writer held out"


def test_a_writer_keeps_its_side_when_another_file_joins_the_split(digits: StrokeSet) -> None:
    """A writer's place in the seeded order depends only on its name, so adding the letter
    writers (most of them the same people) leaves the digit writers' split unchanged."""
    letters = load_strokes(LETTERS_FILE)
    alone = held_out_writers(digits.writer_of(), digits.contributor_of())
    joint = held_out_writers(
        np.concatenate([digits.writer_of(), letters.writer_of()]),
        np.concatenate([digits.contributor_of(), letters.contributor_of()]),
    )
    assert joint & set(digits.writer_names) == alone


def test_the_contributor_split_keeps_institutions_apart(digits: StrokeSet) -> None:
    train, validation = split_by_contributor(digits)
    contributors = digits.contributor_of()
    assert not set(contributors[train]) & set(contributors[validation])
    assert len(held_out_contributors(contributors)) == 2  # a fifth of 8, rounded
    assert len(held_out_contributors(["a", "b"], fraction=0.01)) == 1  # never none

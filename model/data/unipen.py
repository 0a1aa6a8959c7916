"""UNIPEN pen strokes: real people's digits as their pens moved, and the compact copy we ship.

Source: the UNIPEN train_r01_v07 isolated digits (category 1a: 11,718 records, 101 writers from
8 contributing institutions) and letters (1b, 1c), as gzip-compressed JSON lines (one record per
line: label, writer, contributor, y_axis "up", bbox, strokes in tablet units). CC BY 4.0, credit
in model/data/strokes/README.md. Those writers are not MNIST's, and they write the way people
draw on a canvas: one stroke at a time, in their own styles.

The shipped form (model/data/strokes/*.npz) is made once, by `benchmarks/build_strokes.py`:

    record --normalised--> strokes in units of the bbox's longer side, y down
           --simplified--> Ramer-Douglas-Peucker at TOLERANCE
           --quantised-->  uint16 on a 0..GRID grid

It is read with `load_strokes` into a `StrokeSet`, never from the jsonl.gz at runtime.
Validation splits hold out whole writers (`split_by_writer`) or whole institutions
(`split_by_contributor`), never single records: a writer's other digits would flatter the model.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

STROKES_DIR = Path(__file__).resolve().parent / "strokes"
DIGITS_FILE = STROKES_DIR / "unipen-digits.npz"
LETTERS_FILE = STROKES_DIR / "unipen-letters.npz"
FORMAT = "digits-strokes"
FORMAT_VERSION = 1
METADATA_KEY = "metadata"
# Ramer-Douglas-Peucker tolerance in units of the record's longer bbox side: every dropped pen
# sample lies within 0.5% of it from the kept polyline, 1.25 px on a 250 px digit, a sixth of the
# thinnest brush the page offers (8 px). It keeps 52% of the digits' samples.
TOLERANCE = 0.005
# The longer bbox side spans 0..GRID: rounding moves a point by at most 0.05% of it (0.12 px at
# 250 px), and every coordinate fits a uint16.
GRID = 1023
DEFAULT_FRACTION = 0.2  # share of writers (or contributors) held out for validation
# Letters that pass for a digit in somebody's hand, left out of the letters file, which is meant
# as "not a digit" examples. The shared README's list (O o D Q, I l i j J, Z z, S s, G b, T, B,
# g q), then ours: C c U u (an unclosed 0), L (a 1 with a foot, half a 4), A h y Y (a closed or an
# open 4), t (a crossed stem: a 4, a crossed 7), a d p P (a loop on a stem: 9, 6, a 0 with a tail).
DIGIT_LIKE_LETTERS = "OoDQIlijJZzSsGbTBgq" + "CcUuLAhyYtadpP"

Label = int | str


class StrokeFileError(ValueError):
    """A strokes file is missing, unreadable or inconsistent; the message names it."""


# ---------------------------------------------------------------- the source: jsonl.gz records


@dataclass(frozen=True)
class UnipenRecord:
    """One written character as the tablet recorded it; strokes (k, 2) int, tablet units, y up."""

    label: Label
    writer: str
    contributor: str
    bbox: tuple[int, int, int, int]  # xmin, ymin, xmax, ymax over all strokes
    strokes: list[NDArray[np.int64]]


def read_records(path: Path) -> Iterator[UnipenRecord]:
    """Every record of a UNIPEN `.jsonl.gz` file, in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            raw = json.loads(line)
            if raw.get("y_axis") != "up" or not raw.get("strokes"):
                raise StrokeFileError(f"{path}:{number}: expected y_axis 'up' and some strokes")
            xmin, ymin, xmax, ymax = (int(v) for v in raw["bbox"])
            yield UnipenRecord(
                label=raw["label"],
                writer=str(raw["writer"]),
                contributor=str(raw["contributor"]),
                bbox=(xmin, ymin, xmax, ymax),
                strokes=[np.asarray(s, dtype=np.int64).reshape(-1, 2) for s in raw["strokes"]],
            )


def normalised(record: UnipenRecord) -> list[NDArray[np.float64]]:
    """Strokes in units of the bbox's longer side, origin at its top-left, y down: (k, 2) each.

    Tablets differ in resolution, so each record is scaled by its own bbox; one scale for both
    axes keeps the writer's proportions (a 1 stays narrow).
    """
    xmin, ymin, xmax, ymax = record.bbox
    side = float(max(xmax - xmin, ymax - ymin, 1))
    return [
        np.column_stack([(s[:, 0] - xmin) / side, (ymax - s[:, 1]) / side]) for s in record.strokes
    ]


def simplify(points: NDArray[np.float64], tolerance: float) -> NDArray[np.float64]:
    """Ramer-Douglas-Peucker: (k, 2) -> (m, 2), m <= k, ends kept, no dropped point farther
    than `tolerance` from the kept polyline."""
    if len(points) < 3:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    spans = [(0, len(points) - 1)]
    while spans:
        first, last = spans.pop()
        if last - first < 2:
            continue
        chord = points[last] - points[first]
        offsets = points[first + 1 : last] - points[first]
        # Distance to the chord as a segment, not as a line: a hook that runs past the chord's
        # end lies near its line yet far from the stroke that would replace it.
        along = np.clip(offsets @ chord / max(float(chord @ chord), 1e-300), 0.0, 1.0)
        gaps = offsets - along[:, None] * chord
        distances = np.hypot(gaps[:, 0], gaps[:, 1])
        farthest = int(np.argmax(distances))
        if distances[farthest] > tolerance:
            split = first + 1 + farthest
            keep[split] = True
            spans += [(first, split), (split, last)]
    return points[keep]


def quantised(points: NDArray[np.float64], grid: int) -> NDArray[np.uint16]:
    """(k, 2) in [0, 1] -> (m, 2) uint16 on 0..grid, repeated points dropped (m >= 1)."""
    q = np.rint(np.clip(points, 0.0, 1.0) * grid).astype(np.uint16)
    moved = np.ones(len(q), dtype=bool)
    moved[1:] = np.any(q[1:] != q[:-1], axis=1)
    return q[moved]


# ---------------------------------------------------------------- the compact form


@dataclass(frozen=True)
class StrokeSet:
    """Many records' strokes in flat arrays (R records, S strokes, P points), as stored.

    points (P, 2) uint16: x, y on 0..grid, the record's longer bbox side = grid, y down.
    stroke_lengths (S,): points per stroke, in record order; record_strokes (R,): strokes per
    record. labels (R,): uint8 digits or one-letter strings. writers (R,) indexes writer_names
    (pseudonyms "contributor:hash"); contributors (R,) indexes contributor_names.
    """

    points: NDArray[np.uint16]
    stroke_lengths: NDArray[np.uint16]
    record_strokes: NDArray[np.uint8]
    labels: NDArray[Any]
    writers: NDArray[np.uint16]
    writer_names: NDArray[np.str_]
    contributors: NDArray[np.uint8]
    contributor_names: NDArray[np.str_]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.record_strokes)

    @property
    def grid(self) -> int:
        return int(self.metadata.get("grid", GRID))

    @cached_property
    def _stroke_starts(self) -> NDArray[np.int64]:
        return np.concatenate([[0], np.cumsum(self.stroke_lengths, dtype=np.int64)])

    @cached_property
    def _record_starts(self) -> NDArray[np.int64]:
        return np.concatenate([[0], np.cumsum(self.record_strokes, dtype=np.int64)])

    def strokes(self, record: int) -> list[NDArray[np.float32]]:
        """Record `record`'s strokes, (k, 2) float32 each, in units of its longer bbox side."""
        first, last = self._record_starts[record], self._record_starts[record + 1]
        starts = self._stroke_starts
        scale = np.float32(1.0 / self.grid)
        return [
            self.points[starts[s] : starts[s + 1]].astype(np.float32) * scale
            for s in range(first, last)
        ]

    def writer_of(self) -> NDArray[np.str_]:
        """(R,) each record's writer pseudonym."""
        return self.writer_names[self.writers]

    def contributor_of(self) -> NDArray[np.str_]:
        """(R,) each record's contributor code."""
        return self.contributor_names[self.contributors]


def compact(
    records: Iterable[UnipenRecord], tolerance: float = TOLERANCE, grid: int = GRID
) -> StrokeSet:
    """Normalise, simplify and quantise every record into one StrokeSet."""
    points: list[NDArray[np.uint16]] = []
    lengths: list[int] = []
    per_record: list[int] = []
    labels: list[Label] = []
    writers: list[str] = []
    contributors: list[str] = []
    for record in records:
        for stroke in normalised(record):
            points.append(quantised(simplify(stroke, tolerance), grid))
            lengths.append(len(points[-1]))
        per_record.append(len(record.strokes))
        labels.append(record.label)
        writers.append(record.writer)
        contributors.append(record.contributor)
    if max(lengths) > np.iinfo(np.uint16).max or max(per_record) > np.iinfo(np.uint8).max:
        raise StrokeFileError("a stroke or a record is too long for the compact format")
    writer_names, writer_index = np.unique(np.array(writers), return_inverse=True)
    contributor_names, contributor_index = np.unique(np.array(contributors), return_inverse=True)
    digits = all(isinstance(label, int) for label in labels)
    return StrokeSet(
        points=np.concatenate(points),
        stroke_lengths=np.array(lengths, dtype=np.uint16),
        record_strokes=np.array(per_record, dtype=np.uint8),
        labels=np.array(labels, dtype=np.uint8 if digits else np.str_),
        writers=writer_index.astype(np.uint16),
        writer_names=writer_names,
        contributors=contributor_index.astype(np.uint8),
        contributor_names=contributor_names,
        metadata={"tolerance": tolerance, "grid": grid},
    )


_ARRAYS = (
    "points",
    "stroke_lengths",
    "record_strokes",
    "labels",
    "writers",
    "writer_names",
    "contributors",
    "contributor_names",
)


def save_strokes(path: Path, strokes: StrokeSet, metadata: dict[str, Any]) -> None:
    """Write a compressed .npz (no pickled objects) with `metadata` as UTF-8 JSON, atomically."""
    full = {
        **strokes.metadata,
        **metadata,
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "records": len(strokes),
        "writers": len(strokes.writer_names),
        "contributors": len(strokes.contributor_names),
    }
    arrays = {name: getattr(strokes, name) for name in _ARRAYS}
    arrays[METADATA_KEY] = np.frombuffer(json.dumps(full, sort_keys=True).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_strokes(path: Path = DIGITS_FILE) -> StrokeSet:
    """Read and check a strokes file written by `save_strokes` (never unpickles)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise StrokeFileError(f"{path}: not a readable strokes file ({error})") from None
    try:
        metadata = json.loads(arrays.pop(METADATA_KEY).tobytes().decode())
        strokes = StrokeSet(**{name: arrays[name] for name in _ARRAYS}, metadata=metadata)
    except (KeyError, ValueError) as error:
        raise StrokeFileError(f"{path}: not a strokes file ({error})") from None
    problem = _inconsistency(strokes)
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        problem = f"format {metadata.get('format')!r} v{metadata.get('format_version')!r}"
    if problem:
        raise StrokeFileError(f"{path}: {problem}")
    return strokes


def _inconsistency(s: StrokeSet) -> str | None:
    """What is wrong with the arrays' shapes or counts, or None."""
    records = len(s.record_strokes)
    if s.points.ndim != 2 or s.points.shape[1] != 2 or int(s.points.max(initial=0)) > s.grid:
        return f"points must be (P, 2) on 0..{s.grid}"
    if int(s.stroke_lengths.sum()) != len(s.points) or int(s.record_strokes.sum()) != len(
        s.stroke_lengths
    ):
        return "stroke lengths and strokes per record do not add up"
    if not (s.stroke_lengths.all() and s.record_strokes.all()):
        return "an empty stroke or a record without strokes"
    if not (len(s.labels) == len(s.writers) == len(s.contributors) == records):
        return "labels, writers and contributors must have one entry per record"
    if records and (
        int(s.writers.max()) >= len(s.writer_names)
        or int(s.contributors.max()) >= len(s.contributor_names)
    ):
        return "a writer or contributor index out of range"
    return None


# ---------------------------------------------------------------- hold-out splits


def _shuffled(names: Iterable[str], seed: int) -> list[str]:
    """Distinct names in a seeded order that needs no RNG: sorted by SHA-256 of "seed:name".

    A name's place depends only on itself and the seed, so the order is the same on any
    machine and NumPy version, and adding names elsewhere never reshuffles the others.
    """
    return sorted(set(names), key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).digest())


def _share(count: int, fraction: float) -> int:
    return int(np.floor(count * fraction + 0.5))  # round half up: 2.5 writers -> 3


def held_out_writers(
    writers: Sequence[str] | NDArray[np.str_],
    contributors: Sequence[str] | NDArray[np.str_],
    fraction: float = DEFAULT_FRACTION,
    seed: int = 0,
) -> frozenset[str]:
    """Whole writers to validate on: `fraction` of each contributor's writers, rounded.

    `writers` and `contributors` name each record's writer and institution (as
    `StrokeSet.writer_of()` and `contributor_of()`), so every institution's tablet and
    population shows up on both sides where it has enough writers. To split two files alike
    (digits and letters share writers), pass both files' names concatenated.
    """
    by_contributor: dict[str, set[str]] = {}
    for writer, contributor in zip(writers, contributors, strict=True):
        by_contributor.setdefault(str(contributor), set()).add(str(writer))
    held: set[str] = set()
    for names in by_contributor.values():
        held.update(_shuffled(names, seed)[: _share(len(names), fraction)])
    return frozenset(held)


def held_out_contributors(
    contributors: Sequence[str] | NDArray[np.str_],
    fraction: float = DEFAULT_FRACTION,
    seed: int = 0,
) -> frozenset[str]:
    """Whole institutions to validate on (at least one): closest to the product's test, whose
    writers come from institutions not in these files."""
    names = _shuffled((str(c) for c in contributors), seed)
    return frozenset(names[: max(1, _share(len(names), fraction))])


Split = tuple[NDArray[np.intp], NDArray[np.intp]]


def split_by_writer(strokes: StrokeSet, fraction: float = DEFAULT_FRACTION, seed: int = 0) -> Split:
    """(train, validation) record indices, every writer on one side only."""
    names = strokes.writer_of()
    held = held_out_writers(names, strokes.contributor_of(), fraction, seed)
    return _split(np.isin(names, list(held)))


def split_by_contributor(
    strokes: StrokeSet, fraction: float = DEFAULT_FRACTION, seed: int = 0
) -> Split:
    """(train, validation) record indices, every contributing institution on one side only."""
    names = strokes.contributor_of()
    return _split(np.isin(names, list(held_out_contributors(names, fraction, seed))))


def _split(validation: NDArray[np.bool_]) -> Split:
    return np.flatnonzero(~validation), np.flatnonzero(validation)


def split_counts(strokes: StrokeSet, split: Split) -> dict[str, dict[str, int]]:
    """Writers, contributors and records on each side of a split."""
    writers, contributors = strokes.writer_of(), strokes.contributor_of()
    return {
        side: {
            "writers": len(np.unique(writers[indices])),
            "contributors": len(np.unique(contributors[indices])),
            "records": len(indices),
        }
        for side, indices in zip(("train", "validation"), split, strict=True)
    }

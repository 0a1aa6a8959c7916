"""Build the shipped stroke files (model/data/strokes/*.npz) from the UNIPEN jsonl.gz files.

Not a benchmark and never needed at runtime: run it again only to change how the strokes are
simplified (model/data/unipen.py: TOLERANCE, GRID, DIGIT_LIKE_LETTERS).

    python -m benchmarks.build_strokes --source UNIPEN_DIR [--out model/data/strokes]

Writes unipen-digits.npz (every digit record) and unipen-letters.npz (the letters that do not
look like digits), then prints their sizes and the writer and contributor hold-out counts.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT
from model.data.unipen import (
    DIGIT_LIKE_LETTERS,
    GRID,
    TOLERANCE,
    compact,
    load_strokes,
    read_records,
    save_strokes,
    split_by_contributor,
    split_by_writer,
    split_counts,
)

DIGITS_SOURCE = "unipen1a_digits.jsonl.gz"
LETTERS_SOURCE = "unipen1bc_letters.jsonl.gz"
# As the UNIPEN release's README gives it (its "Source and licence").
CITATION = (
    "UNIPEN train_r01_v07 (December 1999), the International Unipen Foundation: I. Guyon, "
    'L. Schomaker, R. Plamondon, M. Liberman and S. Janet, "UNIPEN project of on-line data '
    'exchange and recognizer benchmarks", ICPR 1994.'
)
LICENCE = (
    "Creative Commons Attribution 4.0 International (LICENSE in this folder); "
    "Zenodo record 10.5281/zenodo.1195803"
)


def build(source: Path, out: Path) -> None:
    for name, target, keep in (
        (DIGITS_SOURCE, out / "unipen-digits.npz", None),
        (LETTERS_SOURCE, out / "unipen-letters.npz", DIGIT_LIKE_LETTERS),
    ):
        path = source / name
        records = [r for r in read_records(path) if keep is None or str(r.label) not in keep]
        metadata = {
            "source": name,
            "source_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "licence": LICENCE,
            "citation": CITATION,
            "simplified": f"Ramer-Douglas-Peucker, tolerance {TOLERANCE} of the longer bbox side",
            "quantised": f"uint16, longer bbox side = {GRID}, y down, origin at the bbox corner",
        }
        if keep is not None:
            metadata["excluded_letters"] = "".join(sorted(keep))
        save_strokes(target, compact(records), metadata)
        strokes = load_strokes(target)
        samples = sum(len(s) for r in records for s in r.strokes)
        print(
            f"{target}: "
            f"{target.stat().st_size / 1e6:.2f} MB, {len(strokes)} records, "
            f"{len(strokes.writer_names)} writers, {len(strokes.contributor_names)} contributors, "
            f"{len(strokes.points)} points kept of {samples} pen samples"
        )
        writers, contributors = strokes.writer_of(), strokes.contributor_of()
        by_writer, by_contributor = split_by_writer(strokes), split_by_contributor(strokes)
        print("  contributor  writers  records  held-out writers (records)  held out as a whole")
        for code in strokes.contributor_names:
            mine = contributors == code
            held = by_writer[1][mine[by_writer[1]]]
            print(
                f"  {code:<11}  {len(np.unique(writers[mine])):>7}  {int(mine.sum()):>7}  "
                f"{len(np.unique(writers[held])):>16} ({len(held):>4})        "
                f"{'yes' if mine[by_contributor[1]].any() else ''}"
            )
        for level, split in (("writer", by_writer), ("contributor", by_contributor)):
            print(f"  hold out by {level}: {split_counts(strokes, split)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        required=True,
        help=f"folder holding the UNIPEN files {DIGITS_SOURCE} and {LETTERS_SOURCE}",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "model" / "data" / "strokes", help="output folder"
    )
    args = parser.parse_args()
    build(args.source, args.out)


if __name__ == "__main__":
    main()

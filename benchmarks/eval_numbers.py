"""Whole numbers by people the model never saw: exact-number accuracy by length, four ways.

`--per-length` numbers of each length 2 to 8, each built from ONE held-out UNIPEN writer's
digits and drawn on the 840x280 pad as the page draws strokes (model/evaluation/numbers.py:
one brush, a sloping baseline, sizes varying by 15%, gaps from a slight overlap to wide). Each
PNG is read by the segmentation with and without its strokes, by the two peer methods (a cut
at every blank column; each connected blob a digit) with the same single-digit reader, and,
for the ceiling, every digit drawn alone. `--api` of the drawings, spread over the lengths,
are also posted to the real app's /api/number (TestClient, lifespan and all), with and without
strokes, and must be answered exactly as the in-process reading. `--writers training` draws the
training writers' digits instead: what the segmentation's costs were chosen on.

    python -m benchmarks.eval_numbers [--per-length 100] [--seed 0] [--writers held-out|training]
                                      [--api 50] [--json]

About two minutes with 100 numbers per length.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from model.data.canvas import png_data_url
from model.evaluation.numbers import (
    LENGTHS,
    drawn_numbers,
    format_numbers_report,
    numbers_report,
    read_numbers,
)
from model.resources import shipped_weights
from model.serving.predictor import Predictor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=shipped_weights(), help="weight file")
    parser.add_argument("--per-length", type=int, default=100, help="numbers of each length")
    parser.add_argument("--seed", type=int, default=0, help="seed of the numbers")
    parser.add_argument(
        "--writers",
        choices=("held-out", "training"),
        default="held-out",
        help="whose digits: the held-out writers (the report), or the training writers (what "
        "the segmentation's costs were chosen on)",
    )
    parser.add_argument("--api", type=int, default=50, help="also post this many to /api/number")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args()

    started = time.perf_counter()
    drawings = drawn_numbers(
        per_length=args.per_length, lengths=LENGTHS, seed=args.seed, writers=args.writers
    )
    drawn = time.perf_counter()
    readings = read_numbers(Predictor.from_file(args.weights), drawings)
    read = time.perf_counter()
    report = numbers_report(drawings, readings)

    mismatches = 0
    sample = drawings[:: max(1, len(drawings) // max(args.api, 1))][: args.api]
    with TestClient(create_app(Settings(weights=args.weights))) as client:
        for drawing in sample:
            index = drawings.index(drawing)
            for method, extra in (
                ("segment", {}),
                ("segment + strokes", {"strokes": drawing.strokes_as_lists()}),
            ):
                body = {"image": png_data_url(drawing.png), **extra}
                answer = client.post("/api/number", json=body).json()["number"]
                # Strokes go over the wire rounded to 0.1 px, so compare with what was read.
                mismatches += answer != readings[method][index]
    timing = {
        "draw_s": round(drawn - started, 1),
        "read_s": round(read - drawn, 1),
        "api_s": round(time.perf_counter() - read, 1),
    }
    if args.json:
        record = dataclasses.asdict(report)
        record.pop("readings")
        print(
            json.dumps(
                {
                    "weights": str(args.weights),
                    "per_length": args.per_length,
                    "seed": args.seed,
                    "writers": args.writers,
                    "api_checked": len(sample),
                    "api_mismatches": mismatches,
                    **timing,
                    **record,
                }
            )
        )
    else:
        print(f"weights {args.weights}, {args.writers} writers, seed {args.seed}, {timing}")
        print(format_numbers_report(report, args.writers))
        print(
            f"/api/number vs in-process: {mismatches} of {2 * len(sample)} answers differ "
            "(with and without strokes)"
        )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

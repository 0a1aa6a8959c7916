"""Accuracy on people the model never saw, through the real API: held-out UNIPEN writers.

Every digit of the held-out writers (model/evaluation/writers.py) is drawn `--variants` times
as the page exports a drawing (280x280 PNG, black ink on transparent, round brush 8-36 px),
posted to the real app (`create_app`, lifespan and all, through TestClient) as the page's data
URL: all of them to /api/predict/batch, the first `--single` also one by one to /api/predict.
The batch answers must equal the in-process path (`Predictor.predict` on `image_to_mnist` of the
same PNGs, in the same batches): the same digits, input pixels and probabilities (to 1e-12).
The one-by-one answers must give the same digits and input pixels as the batch; their
probabilities come from the float32 single-image path and may differ by about 1e-6.

    python -m benchmarks.eval_writers [--weights PATH] [--variants N] [--seed S]
                                      [--by writer|contributor] [--single N] [--json]

About a minute of CPU with 3 variants.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from model.data.canvas import png_data_url
from model.evaluation.writers import (
    WriterDrawing,
    format_writers_report,
    held_out_drawings,
    predict_drawings,
    writers_report,
)
from model.resources import shipped_weights
from model.serving.predictor import Predictor

BATCH = 500  # drawings per /api/predict/batch request (the server takes up to 2000)


def api_answers(
    client: TestClient, drawings: list[WriterDrawing], single: int
) -> tuple[list[dict[str, Any]], int, float]:
    """The batch endpoint's answer for every drawing; how many of the first `single` drawings
    /api/predict answered with another digit or input than the batch; and the largest
    probability difference between the two."""
    answers: list[dict[str, Any]] = []
    for start in range(0, len(drawings), BATCH):
        instances = [{"image": png_data_url(d.png)} for d in drawings[start : start + BATCH]]
        response = client.post("/api/predict/batch", json={"instances": instances})
        response.raise_for_status()
        answers += response.json()["predictions"]
    disagreements, largest = 0, 0.0
    for drawing, batch_answer in zip(drawings[:single], answers, strict=False):
        response = client.post("/api/predict", json={"image": png_data_url(drawing.png)})
        response.raise_for_status()
        answer = response.json()
        disagreements += (
            answer["digit"] != batch_answer["digit"] or answer["input"] != batch_answer["input"]
        )
        difference = np.abs(np.subtract(answer["probabilities"], batch_answer["probabilities"]))
        largest = max(largest, float(difference.max()))
    return answers, disagreements, largest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=shipped_weights(), help="weight file")
    parser.add_argument("--variants", type=int, default=3, help="drawings of each digit")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawing params")
    parser.add_argument(
        "--by",
        choices=("writer", "contributor"),
        default="writer",
        help="hold out whole writers (a fifth of each institution's) or whole institutions",
    )
    parser.add_argument(
        "--single", type=int, default=300, help="also send this many one by one to /api/predict"
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args()

    started = time.perf_counter()
    drawings = held_out_drawings(variants=args.variants, seed=args.seed, by=args.by)
    drawn = time.perf_counter()
    with TestClient(create_app(Settings(weights=args.weights))) as client:
        answers, single_disagreements, single_largest = api_answers(client, drawings, args.single)
    asked = time.perf_counter()
    local = predict_drawings(Predictor.from_file(args.weights), drawings, batch_size=BATCH)
    mismatches = sum(
        a["digit"] != p.digit
        or a["input"] != p.pixels.tolist()
        or not np.allclose(a["probabilities"], p.probabilities, rtol=0, atol=1e-12)
        for a, p in zip(answers, local, strict=True)
    )
    report = writers_report(drawings, [a["digit"] for a in answers])
    timing = {
        "draw_s": round(drawn - started, 1),
        "api_s": round(asked - drawn, 1),
        "in_process_s": round(time.perf_counter() - asked, 1),
    }
    if args.json:
        record = {
            "weights": str(args.weights),
            "variants": args.variants,
            "seed": args.seed,
            "held_out_by": args.by,
            "api_mismatches": mismatches,
            "single_disagreements": single_disagreements,
            "single_largest_probability_difference": single_largest,
            **timing,
            **dataclasses.asdict(report),
        }
        print(json.dumps(record))
    else:
        print(
            f"weights {args.weights}, held out by {args.by}, {args.variants} variants, "
            f"seed {args.seed}, {timing}"
        )
        print(format_writers_report(report))
        print(
            f"API vs in-process Predictor: {mismatches} of {len(drawings)} answers differ; "
            f"/api/predict vs /api/predict/batch: {single_disagreements} of "
            f"{min(args.single, len(drawings))} differ in digit or input (probabilities by at most "
            f"{single_largest:.1e})"
        )
    return 1 if mismatches or single_disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

"""Does a profile help each person? Held-out UNIPEN writers, through the real API.

For every held-out writer (model/evaluation/writers.py's split) with at least `--min-digits`
digits: a new profile; `k` of their drawings of each digit posted to /api/examples as the page
does (a data URL of the canvas PNG, the label, the profile); then all their other drawings read
through /api/predict/batch, once without the profile and once with it. Each record is drawn
once, as the page exports it, with the brush band of `record % 3` (thin, medium, thick) and a
seeded size and place. A digit with fewer than k + 1 drawings gives all but one.

A second protocol, "corrections", gives only what a person would correct: up to `--per-digit`
of the writer's drawings the network misreads, each labelled with its digit; the other drawings
are read with and without the profile.

Reported per protocol: the mean and worst per-writer accuracy with and without the profile,
how many writers are worse by any amount and by more than half a point, and the net change on
drawings of digits the profile holds no example of (corrections protocol).

    python -m benchmarks.eval_profiles [--weights PATH] [--k 1,3,5] [--seed S] [--json]

About two minutes of CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from model.data.canvas import draw, png_bytes, png_data_url
from model.data.unipen import StrokeSet, load_strokes, split_by_writer
from model.evaluation.writers import variant_params
from model.resources import shipped_weights

BATCH = 500


@dataclass(frozen=True)
class Drawing:
    record: int
    label: int
    url: str


@dataclass(frozen=True)
class ProtocolResult:
    protocol: str
    writers: int
    drawings_read: int
    examples_given: int
    mean_without: float
    mean_with: float
    worst_without: float
    worst_with: float
    writers_worse: int
    writers_worse_by_half_a_point: int
    net_on_digits_without_examples: int  # right with minus right without, those drawings only
    per_writer: list[dict[str, Any]]


def writer_drawings(strokes: StrokeSet, records: Sequence[int], seed: int) -> list[Drawing]:
    out = []
    for record in records:
        params = variant_params(strokes, int(record), int(record) % 3, seed)
        png = png_bytes(draw(strokes.strokes(int(record)), params))
        out.append(Drawing(int(record), int(strokes.labels[record]), png_data_url(png)))
    return out


def read(client: TestClient, drawings: Sequence[Drawing], profile: str | None) -> list[int]:
    digits: list[int] = []
    for start in range(0, len(drawings), BATCH):
        body: dict[str, Any] = {
            "instances": [{"image": d.url} for d in drawings[start : start + BATCH]]
        }
        if profile is not None:
            body["profile"] = profile
        response = client.post("/api/predict/batch", json=body)
        response.raise_for_status()
        digits += [p["digit"] for p in response.json()["predictions"]]
    return digits


def give(client: TestClient, examples: Sequence[Drawing]) -> str:
    response = client.post("/api/profiles")
    response.raise_for_status()
    profile: str = response.json()["profile"]
    for example in examples:
        stored = client.post(
            "/api/examples", json={"image": example.url, "label": example.label, "profile": profile}
        )
        stored.raise_for_status()
    return profile


def per_digit_examples(
    drawings: Sequence[Drawing], k: int, rng: np.random.Generator
) -> list[Drawing]:
    chosen: list[Drawing] = []
    for digit in range(10):
        mine = [d for d in drawings if d.label == digit]
        order = rng.permutation(len(mine))
        chosen += [mine[i] for i in order[: min(k, len(mine) - 1)]]
    return chosen


def corrections(
    drawings: Sequence[Drawing], plain: Sequence[int], per_digit: int, rng: np.random.Generator
) -> list[Drawing]:
    wrong = [d for d, p in zip(drawings, plain, strict=True) if p != d.label]
    chosen: list[Drawing] = []
    for digit in range(10):
        mine = [d for d in wrong if d.label == digit]
        order = rng.permutation(len(mine))
        chosen += [mine[i] for i in order[:per_digit]]
    return chosen


def run_protocol(
    client: TestClient,
    name: str,
    writers: dict[str, list[Drawing]],
    plain: dict[str, list[int]],
    choose: Any,
) -> ProtocolResult:
    rows = []
    given = read_total = net_unheld = 0
    for writer, drawings in writers.items():
        examples = choose(writer, drawings)
        held = {e.record for e in examples}
        rest = [i for i, d in enumerate(drawings) if d.record not in held]
        truth = [drawings[i].label for i in rest]
        without = [plain[writer][i] for i in rest]
        profile = give(client, examples)
        adapted = read(client, [drawings[i] for i in rest], profile)
        labels_given = {e.label for e in examples}
        for t, a, b in zip(truth, adapted, without, strict=True):
            if t not in labels_given:
                net_unheld += int(a == t) - int(b == t)
        acc_without = float(np.mean(np.equal(without, truth)))
        acc_with = float(np.mean(np.equal(adapted, truth)))
        rows.append(
            {
                "writer": writer,
                "examples": len(examples),
                "read": len(rest),
                "without": round(acc_without, 4),
                "with": round(acc_with, 4),
            }
        )
        given += len(examples)
        read_total += len(rest)
    without = [r["without"] for r in rows]
    with_ = [r["with"] for r in rows]
    return ProtocolResult(
        protocol=name,
        writers=len(rows),
        drawings_read=read_total,
        examples_given=given,
        mean_without=round(statistics.fmean(without), 4),
        mean_with=round(statistics.fmean(with_), 4),
        worst_without=min(without),
        worst_with=min(with_),
        writers_worse=sum(b < a for a, b in zip(without, with_, strict=True)),
        writers_worse_by_half_a_point=sum(
            b < a - 0.005 for a, b in zip(without, with_, strict=True)
        ),
        net_on_digits_without_examples=net_unheld,
        per_writer=rows,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=shipped_weights(), help="weight file")
    parser.add_argument("--k", default="1,3,5", help="examples per digit, comma-separated")
    parser.add_argument("--per-digit", type=int, default=2, help="corrections per digit")
    parser.add_argument("--min-digits", type=int, default=40, help="writers with this many")
    parser.add_argument("--seed", type=int, default=0, help="seed of drawings and choices")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()

    started = time.perf_counter()
    strokes = load_strokes()
    _, held_out = split_by_writer(strokes)
    names = strokes.writer_of()
    writers: dict[str, list[Drawing]] = {}
    for writer in sorted(set(names[held_out])):
        records = [r for r in held_out if names[r] == writer]
        if len(records) >= args.min_digits:
            writers[writer] = writer_drawings(strokes, records, args.seed)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(weights=args.weights, database=str(Path(folder) / "eval.sqlite3"))
        with TestClient(create_app(settings)) as client:
            plain = {w: read(client, d, None) for w, d in writers.items()}
            for k in (int(v) for v in args.k.split(",")):
                rng = np.random.default_rng([args.seed, k])
                results.append(
                    run_protocol(
                        client,
                        f"{k} per digit",
                        writers,
                        plain,
                        lambda _w, d, k=k, rng=rng: per_digit_examples(d, k, rng),
                    )
                )
            rng = np.random.default_rng([args.seed, 99])
            results.append(
                run_protocol(
                    client,
                    f"corrections (up to {args.per_digit} per digit)",
                    writers,
                    plain,
                    lambda w, d: corrections(d, plain[w], args.per_digit, rng),
                )
            )
    seconds = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps({"weights": str(args.weights), "seconds": seconds,
                          "results": [asdict(r) for r in results]}))  # fmt: skip
        return 0
    print(f"weights {args.weights}: {len(writers)} held-out writers, {seconds} s")
    print(
        f"{'protocol':34} {'examples':>8} {'read':>6} {'mean':>15} {'worst':>15} "
        f"{'worse':>5} {'>0.5pt':>6} {'unheld':>6}"
    )
    for r in results:
        print(
            f"{r.protocol:34} {r.examples_given:8d} {r.drawings_read:6d} "
            f"{r.mean_without * 100:6.2f} -> {r.mean_with * 100:6.2f} "
            f"{r.worst_without * 100:6.2f} -> {r.worst_with * 100:6.2f} "
            f"{r.writers_worse:5d} {r.writers_worse_by_half_a_point:6d} "
            f"{r.net_on_digits_without_examples:+6d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

With several `--seeds`, each seed draws the drawings afresh and chooses the examples afresh,
and a summary follows: the mean of the per-seed means, the lowest worst writer, and the writers
made worse summed over the seeds (a profile per writer per seed).

    python -m benchmarks.eval_profiles [--weights PATH] [--k 1,3,5] [--seeds 0,1,...] [--json]

About 15 s of CPU per seed.
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


def seed_results(
    strokes: StrokeSet, held_out: Sequence[int], args: argparse.Namespace, seed: int
) -> tuple[int, list[ProtocolResult]]:
    """(writers, one result per protocol) for one seed of drawings and choices."""
    names = strokes.writer_of()
    writers: dict[str, list[Drawing]] = {}
    for writer in sorted(set(names[held_out])):
        records = [r for r in held_out if names[r] == writer]
        if len(records) >= args.min_digits:
            writers[writer] = writer_drawings(strokes, records, seed)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(weights=args.weights, database=str(Path(folder) / "eval.sqlite3"))
        with TestClient(create_app(settings)) as client:
            plain = {w: read(client, d, None) for w, d in writers.items()}
            for k in (int(v) for v in args.k.split(",")):
                rng = np.random.default_rng([seed, k])
                results.append(
                    run_protocol(
                        client,
                        f"{k} per digit",
                        writers,
                        plain,
                        lambda _w, d, k=k, rng=rng: per_digit_examples(d, k, rng),
                    )
                )
            rng = np.random.default_rng([seed, 99])
            results.append(
                run_protocol(
                    client,
                    f"corrections (up to {args.per_digit} per digit)",
                    writers,
                    plain,
                    lambda w, d: corrections(d, plain[w], args.per_digit, rng),
                )
            )
    return len(writers), results


def over_seeds(runs: list[list[ProtocolResult]]) -> list[ProtocolResult]:
    """Each protocol over several seeds: means of the accuracies and counts, the lowest worst
    writer, and the sums of writers made worse and of the net change (per_writer left empty)."""
    summary = []
    for rows in zip(*runs, strict=True):
        summary.append(
            ProtocolResult(
                protocol=rows[0].protocol,
                writers=sum(r.writers for r in rows),
                drawings_read=round(statistics.fmean(r.drawings_read for r in rows)),
                examples_given=round(statistics.fmean(r.examples_given for r in rows)),
                mean_without=round(statistics.fmean(r.mean_without for r in rows), 4),
                mean_with=round(statistics.fmean(r.mean_with for r in rows), 4),
                worst_without=min(r.worst_without for r in rows),
                worst_with=min(r.worst_with for r in rows),
                writers_worse=sum(r.writers_worse for r in rows),
                writers_worse_by_half_a_point=sum(r.writers_worse_by_half_a_point for r in rows),
                net_on_digits_without_examples=sum(r.net_on_digits_without_examples for r in rows),
                per_writer=[],
            )
        )
    return summary


def print_table(title: str, results: Sequence[ProtocolResult]) -> None:
    print(title)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=shipped_weights(), help="weight file")
    parser.add_argument("--k", default="1,3,5", help="examples per digit, comma-separated")
    parser.add_argument("--per-digit", type=int, default=2, help="corrections per digit")
    parser.add_argument("--min-digits", type=int, default=40, help="writers with this many")
    parser.add_argument(
        "--seeds",
        default="0",
        help="seeds of drawings and choices, comma-separated; with several, a summary over them",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()
    try:
        seeds = [int(v) for v in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds must be integers separated by commas, not {args.seeds!r}")

    started = time.perf_counter()
    strokes = load_strokes()
    _, held_out = split_by_writer(strokes)
    runs = []
    for seed in seeds:
        writers, results = seed_results(strokes, held_out, args, seed)
        runs.append(results)
    summary = over_seeds(runs) if len(seeds) > 1 else None
    seconds = round(time.perf_counter() - started, 1)
    if args.json:
        record = {
            "weights": str(args.weights),
            "seconds": seconds,
            "seeds": seeds,
            "results": [[asdict(r) for r in results] for results in runs],
            "summary": [asdict(r) for r in summary] if summary else None,
        }
        print(json.dumps(record))
        return 0
    print(f"weights {args.weights}: {writers} held-out writers, {len(seeds)} seed(s), {seconds} s")
    for seed, results in zip(seeds, runs, strict=True):
        print_table(f"seed {seed}", results)
    if summary:
        print_table(
            f"over {len(seeds)} seeds: means of the means; lowest worst writer; "
            "writers worse and net changes summed",
            summary,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fill an example store with held-out UNIPEN writers' drawings, through the real API.

The store the README's `digits finetune --robustness` table was measured on. The writers the
writers benchmark holds out with `--by contributor` (`split_by_contributor`: the institutions `apa`
and `uqb`, 13 writers) each get one profile (POST /api/profiles) and up to `--per-writer` of their
UNIPEN digits, a seeded choice. Each digit is drawn once as the page exports it (the 280x280 canvas
PNG; brush band `record % 3`, seeded size and place, as in eval_profiles) and posted to
/api/examples as the page does: the data URL, the label, the profile. The app is the real one
(`create_app` through TestClient) on the store `--database` names. A store that already holds
examples is refused unless `--append`.

    python -m benchmarks.fill_store --database URL [--per-writer 40] [--seed 0] [--append]
                                    [--json]

    digits finetune --database URL --out tuned.npz --robustness    # then, the README's table

About 10 seconds for the default's 520 examples (13 writers, 40 each).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import numpy as np
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.store import StoreUnavailableError, describe_database, is_postgres_url, open_store
from benchmarks.eval_profiles import give, writer_drawings
from model.data.unipen import StrokeSet, load_strokes, split_by_contributor

NAME = "fill_store"


def stored_examples(settings: Settings) -> int:
    """How many examples the store holds (0 for a SQLite file not there yet);
    StoreUnavailableError if it cannot be opened."""
    store = open_store(settings.database, settings.store_limits)
    try:
        store.check()
        return sum(1 for _ in store.all_examples())
    finally:
        store.close()


def chosen_records(strokes: StrokeSet, per_writer: int, seed: int) -> dict[str, list[int]]:
    """Each held-out writer's records (up to `per_writer`, a seeded choice), by writer."""
    _, held_out = split_by_contributor(strokes)
    names = strokes.writer_of()[held_out]
    rng = np.random.default_rng(seed)
    chosen = {}
    for writer in sorted(set(names.tolist())):
        records = held_out[names == writer]
        take = rng.choice(len(records), size=min(per_writer, len(records)), replace=False)
        chosen[writer] = sorted(int(r) for r in records[take])
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLite file or postgresql:// URL")
    parser.add_argument("--per-writer", type=int, default=40, help="digits per writer, at most")
    parser.add_argument("--seed", type=int, default=0, help="seed of the choice and drawings")
    parser.add_argument("--append", action="store_true", help="add to a store holding examples")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args(argv)
    if args.per_writer < 1:
        parser.error("--per-writer must be at least 1")

    started = time.perf_counter()
    where = describe_database(args.database)
    if "://" in args.database and not is_postgres_url(args.database):
        scheme = urlsplit(args.database).scheme
        print(f"{NAME}: {where}: a {scheme}:// URL; give a SQLite file path, a file: URI or "
              "a postgresql:// URL", file=sys.stderr)  # fmt: skip
        return 2
    try:
        settings = dataclasses.replace(Settings.from_env(), database=args.database)
        held = stored_examples(settings)
    except (ValueError, StoreUnavailableError) as error:
        print(f"{NAME}: the example store at {where} is unavailable: {error}", file=sys.stderr)
        return 2
    if held and not args.append:
        print(f"{NAME}: the example store at {where} already holds {held:,} examples; "
              "give --append to add to them", file=sys.stderr)  # fmt: skip
        return 1

    strokes = load_strokes()
    per_digit = [0] * 10
    per_writer: dict[str, int] = {}
    with TestClient(create_app(settings)) as client:
        for writer, records in chosen_records(strokes, args.per_writer, args.seed).items():
            drawings = writer_drawings(strokes, records, args.seed)
            try:
                give(client, drawings)  # one profile, its examples posted as the page does
            except Exception as error:  # HTTPStatusError of whichever httpx the client uses
                response = getattr(error, "response", None)
                if response is None:
                    raise
                print(f"{NAME}: {response.request.method} {response.request.url.path}: "
                      f"{response.status_code} {response.text}", file=sys.stderr)  # fmt: skip
                return 1
            for drawing in drawings:
                per_digit[drawing.label] += 1
            per_writer[writer] = len(records)
    seconds = round(time.perf_counter() - started, 1)
    stored = sum(per_digit)
    if args.json:
        print(json.dumps({"database": where, "writers": len(per_writer), "examples": stored,
                          "store_total": held + stored, "per_digit": per_digit,
                          "per_writer": per_writer, "seed": args.seed,
                          "seconds": seconds}))  # fmt: skip
        return 0
    print(f"{where}: {len(per_writer)} writers (one profile each), {stored} examples stored "
          f"({held + stored} in the store), {seconds} s")  # fmt: skip
    print("per digit  " + "  ".join(f"{d}:{n}" for d, n in enumerate(per_digit)))
    print("per writer " + "  ".join(f"{w}:{n}" for w, n in per_writer.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

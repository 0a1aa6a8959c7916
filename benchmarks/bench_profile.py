"""Time /api/predict with a profile against without: the page's canvas PNG over loopback.

Starts the real server (`digits serve`, one worker, a fresh SQLite store in a temporary folder)
and fills one profile with `--examples` stored drawings (MNIST sample digits, posted to
/api/examples). Then one keep-alive httpx client sends the page's PNG as a raw image/png body,
`?profile=<id>` and plain in alternating blocks of 50, so both see the same machine. Every
answer must be 200 with a digit, and the profile's answers must name the profile.

Each request with a profile asks the store for the profile's revision (one indexed query) and
compares the drawing with every stored example (one (1, 2048) x (2048, n) product); the
examples are read and described again only when the profile has gained one.

Target: p50 <= 5 ms with a profile.

    python -m benchmarks.bench_profile [--examples 30,300] [--requests 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import ROOT, canvas_png, running_server
from model.data.mnist import load_mnist

BLOCK = 50
SAMPLE_DIR = ROOT / "tests" / "data" / "mnist-sample"  # MNIST digits to store


def fill_profile(client: httpx.Client, url: str, examples: int) -> str:
    images, labels = load_mnist(SAMPLE_DIR, "test")
    profile: str = client.post(f"{url}/api/profiles").json()["profile"]
    for image, label in zip(images[:examples], labels[:examples], strict=True):
        response = client.post(
            f"{url}/api/examples",
            json={"pixels": image.tolist(), "label": int(label), "profile": profile},
        )
        response.raise_for_status()
    return profile


def timed(client: httpx.Client, url: str, body: bytes, profile: str | None) -> float:
    target = f"{url}/api/predict" + (f"?profile={profile}" if profile else "")
    started = time.perf_counter()
    response = client.post(target, content=body, headers={"Content-Type": "image/png"})
    elapsed = time.perf_counter() - started
    answer = response.json()
    assert response.status_code == 200, response.text
    assert 0 <= answer["digit"] <= 9
    assert answer.get("profile") == profile
    return elapsed * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default="30,300", help="profile sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=1000, help="requests of each kind a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    args = parser.parse_args()
    body = canvas_png()
    with tempfile.TemporaryDirectory() as folder:
        env = {"DIGITS_DATABASE": str(Path(folder) / "bench.sqlite3")}
        with running_server(extra_env=env) as (url, _), httpx.Client(timeout=10) as client:
            print(
                f"{'examples':>8} {'p50 plain':>10} {'p50 profile':>12} {'ratio':>6} "
                f"{'p99 plain':>10} {'p99 profile':>12}  (ms, medians of {args.rounds} rounds)"
            )
            for size in (int(v) for v in args.examples.split(",")):
                profile = fill_profile(client, url, size)
                for _ in range(BLOCK):  # warm up: connection, caches, the profile's prototypes
                    timed(client, url, body, profile)
                    timed(client, url, body, None)
                rounds: list[tuple[float, float, float, float]] = []
                for _ in range(args.rounds):
                    plain: list[float] = []
                    adapted: list[float] = []
                    while len(plain) < args.requests:
                        adapted += [timed(client, url, body, profile) for _ in range(BLOCK)]
                        plain += [timed(client, url, body, None) for _ in range(BLOCK)]
                    rounds.append(
                        (
                            statistics.median(plain),
                            statistics.median(adapted),
                            percentile(plain, 0.99),
                            percentile(adapted, 0.99),
                        )
                    )
                p50, p50_profile, p99, p99_profile = (
                    float(np.median([r[i] for r in rounds])) for i in range(4)
                )
                print(
                    f"{size:8d} {p50:10.2f} {p50_profile:12.2f} {p50_profile / p50:6.2f} "
                    f"{p99:10.2f} {p99_profile:12.2f}"
                )


if __name__ == "__main__":
    main()

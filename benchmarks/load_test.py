"""Load test: many concurrent clients on loopback mixing good drawings and bad inputs.

Starts `digits serve` in its own process, drives it from this process with asyncio clients for a
bounded time, and reports requests/s, latency percentiles, responses whose status was not the
expected one (must be 0), and the server's resident memory before and after.

    python -m benchmarks.load_test [--clients 32] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass

import httpx
import numpy as np

from benchmarks.common import canvas_png, rss_mb, running_server


@dataclass(frozen=True)
class Probe:
    """One kind of request and the status it must get."""

    name: str
    path: str
    content: bytes
    content_type: str
    expected: int


def probes() -> list[Probe]:
    png = canvas_png()
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    blank = np.zeros((28, 28), dtype=int)
    digit = blank.copy()
    digit[6:22, 12:16] = 255
    json_type = "application/json"
    return [
        Probe("canvas png", "/api/predict", png, "image/png", 200),
        Probe("data url", "/api/predict", json.dumps({"image": data_url}).encode(), json_type, 200),
        Probe(
            "pixels",
            "/api/predict",
            json.dumps({"pixels": digit.tolist()}).encode(),
            json_type,
            200,
        ),
        Probe(
            "batch of 8",
            "/api/predict/batch",
            json.dumps({"instances": [{"pixels": digit.tolist()}] * 8}).encode(),
            json_type,
            200,
        ),
        Probe("garbage png", "/api/predict", b"\x89PNG not really" * 20, "image/png", 400),
        Probe("bad base64", "/api/predict", b'{"image": "%%%"}', json_type, 400),
        Probe(
            "no ink",
            "/api/predict",
            json.dumps({"pixels": blank.tolist()}).encode(),
            json_type,
            422,
        ),
        Probe("wrong type", "/api/predict", b"7", "text/plain", 415),
        Probe("too big", "/api/predict", b"\0" * (3 * 1024 * 1024), "image/png", 413),
        Probe("bad shape", "/api/predict", b'{"pixels": [1, 2, 3]}', json_type, 422),
    ]


async def client(
    http: httpx.AsyncClient, url: str, mix: list[Probe], stop_at: float, seed: int,
    latencies: list[float], unexpected: list[str],
) -> int:  # fmt: skip
    rng = np.random.default_rng(seed)
    sent = 0
    while time.perf_counter() < stop_at:
        probe = mix[int(rng.integers(len(mix)))]
        started = time.perf_counter()
        try:
            response = await http.post(
                url + probe.path,
                content=probe.content,
                headers={"Content-Type": probe.content_type},
            )
            status = response.status_code
            ok = status == 200 or "detail" in response.json()
        except httpx.HTTPError as error:
            status, ok = -1, False
            unexpected.append(f"{probe.name}: {type(error).__name__}")
        latencies.append(time.perf_counter() - started)
        if status != probe.expected:
            unexpected.append(f"{probe.name}: got {status}, expected {probe.expected}")
        elif not ok:
            unexpected.append(f"{probe.name}: no JSON detail")
        sent += 1
    return sent


async def drive(url: str, clients: int, seconds: float) -> tuple[int, list[float], list[str]]:
    mix = probes()
    latencies: list[float] = []
    unexpected: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        stop_at = time.perf_counter() + seconds
        counts = await asyncio.gather(
            *(
                client(http, url, mix, stop_at, seed, latencies, unexpected)
                for seed in range(clients)
            )
        )
    return sum(counts), latencies, unexpected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with running_server() as (url, pid):
        # Warm up (first requests import and allocate), then take the baseline.
        asyncio.run(drive(url, 4, 2.0))
        before = rss_mb(pid)
        started = time.perf_counter()
        total, latencies, unexpected = asyncio.run(drive(url, args.clients, args.seconds))
        elapsed = time.perf_counter() - started
        after = rss_mb(pid)
    latencies.sort()
    result = {
        "benchmark": "load_test",
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
        "unexpected": len(unexpected),
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
    }
    print(f"{'clients':<16}{args.clients}")
    print(f"{'requests':<16}{total:,} in {elapsed:.1f} s  ({result['requests_per_s']} /s)")
    print(f"{'latency':<16}p50 {result['p50_ms']} ms   p99 {result['p99_ms']} ms")
    print(f"{'unexpected':<16}{len(unexpected)}")
    print(f"{'server RSS':<16}{before:.1f} MB before, {after:.1f} MB after")
    for line, count in sorted(Counter(unexpected).items())[:10]:
        print(f"   {count:>5} x {line}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

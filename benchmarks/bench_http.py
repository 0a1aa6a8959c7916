"""Time /api/predict over loopback: a 280x280 canvas PNG as a raw image/png body.

Starts the real server (`digits serve`, via benchmarks.common.running_server) with 1 and then 2
worker processes, and drives it from ONE client process (never this one, never the server's):

- concurrency 1: an httpx sync client with keep-alive sends one request at a time; p50 and p99
  latency from sending the request to having read the whole response (the target figures). The
  same with a minimal client (below) shows how much of that latency is httpx's own;
- concurrency 16: 16 keep-alive connections from one asyncio event loop; requests per second.
  The connections are opened 5 ms apart, as separate users would open them (`--connect-gap-ms`).
  Opened in the same instant, every one of them reaches whichever uvicorn worker wakes first:
  the workers share one listening socket and asyncio accepts every pending connection at once,
  so with `--connect-gap-ms 0` one process of two serves every request (the table shows the
  busiest process's share of the server's CPU).

The concurrency-16 client is a minimal HTTP/1.1 client on asyncio streams (a fixed request, the
response read by its Content-Length), not httpx: on a 2-core machine every cycle the client
burns is taken from the server. httpx's AsyncClient costs about as much CPU per request as the
server spends answering it (roughly 2 ms), 16 processes with sync httpx clients cost about
1 ms per request plus 16 interpreters, the minimal client about 0.15 ms. `--c16-client httpx`
runs the AsyncClient instead. The client's CPU use and the server's CPU time per request are
both reported. Every response must be 200 (all are checked) with a digit (a sample is parsed);
the server's resident memory (benchmarks.common.rss_mb, workers included) is read after the
load. Rounds alternate 1 and 2 workers, and figures are medians over rounds.

Targets (1 worker): p50 <= 3 ms and p99 <= 15 ms at concurrency 1; >= 500 requests/s at
concurrency 16; RSS <= 150 MB. With 2 workers, requests/s at concurrency 16 should go up.

    python -m benchmarks.bench_http [--rounds 2] [--requests 2000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.common import canvas_png, rss_mb, running_server

PATH = "/api/predict"
HEADERS = {"content-type": "image/png"}
CONCURRENCY = 16
TARGET_P50_MS = 3.0
TARGET_P99_MS = 15.0
TARGET_RPS = 500.0
TARGET_RSS_MB = 150.0


# ------------------------------------------------------------------------------ client side
def check(response: httpx.Response) -> int:
    """The digit of a good answer; raises on anything else."""
    if response.status_code != 200:
        raise RuntimeError(f"{PATH} answered {response.status_code}: {response.text[:200]}")
    digit = response.json()["digit"]
    if not isinstance(digit, int) or not 0 <= digit <= 9:
        raise RuntimeError(f"{PATH} answered digit {digit!r}")
    return digit


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_result(
    latencies: list[float], wall: float, cpu_start: float, digits: set[int]
) -> dict[str, Any]:
    """What each client reports: latencies, wall time, its CPU since `cpu_start`, digits seen."""
    return {
        "latencies": latencies,
        "wall": wall,
        "client_cpu": cpu_seconds() - cpu_start,
        "digits": sorted(digits),
    }


def sequential_client(url: str, body: bytes, requests: int, seconds: float) -> dict[str, Any]:
    """Concurrency 1 on one keep-alive connection; runs in the client process."""
    latencies: list[float] = []
    digits: set[int] = set()
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(50):  # warm-up: the connection, the server's first-request paths
            digits.add(check(client.post(PATH, content=body, headers=HEADERS)))
        cpu_start, started = cpu_seconds(), time.perf_counter()
        deadline = started + seconds
        while len(latencies) < requests and time.perf_counter() < deadline:
            start = time.perf_counter()
            response = client.post(PATH, content=body, headers=HEADERS)
            latencies.append(time.perf_counter() - start)
            digits.add(check(response))
        wall = time.perf_counter() - started
    return client_result(latencies, wall, cpu_start, digits)


def concurrent_client(
    url: str, body: bytes, concurrency: int, requests: int, seconds: float
) -> dict[str, Any]:
    """`concurrency` requests always in flight from one event loop; runs in the client process."""
    return asyncio.run(_concurrent(url, body, concurrency, requests, seconds))


async def _concurrent(
    url: str, body: bytes, concurrency: int, requests: int, seconds: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    digits: set[int] = set()
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker(deadline: float | None, budget: list[int]) -> None:
            while budget[0] > 0 and (deadline is None or time.perf_counter() < deadline):
                budget[0] -= 1
                start = time.perf_counter()
                response = await client.post(PATH, content=body, headers=HEADERS)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200 or len(latencies) % 50 == 1:
                    digits.add(check(response))  # parse a sample; every status is checked

        await asyncio.gather(*(worker(None, [5]) for _ in range(concurrency)))  # warm-up
        latencies.clear()
        cpu_start, started = cpu_seconds(), time.perf_counter()
        budget = [requests]
        await asyncio.gather(*(worker(started + seconds, budget) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return client_result(latencies, wall, cpu_start, digits)


def minimal_client(
    url: str,
    body: bytes,
    concurrency: int,
    requests: int,
    seconds: float,
    connect_gap: float = 0.0,
) -> dict[str, Any]:
    """`concurrency` keep-alive connections, opened `connect_gap` seconds apart, each with one
    request in flight, from one event loop."""
    return asyncio.run(_minimal(url, body, concurrency, requests, seconds, connect_gap))


async def _minimal(
    url: str, body: bytes, concurrency: int, requests: int, seconds: float, connect_gap: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    digits: set[int] = set()

    async def worker(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float | None,
        budget: list[int],
    ) -> None:
        while budget[0] > 0 and (deadline is None or time.perf_counter() < deadline):
            budget[0] -= 1
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = content_length(head)
            payload = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            status = int(head[9:12])
            if status != 200 or len(latencies) % 50 == 1:
                digits.add(check_payload(status, payload))

    connections = []
    try:
        for _ in range(concurrency):
            connections.append(await asyncio.open_connection(host, port))
            await asyncio.sleep(connect_gap)
        await asyncio.gather(*(worker(r, w, None, [5]) for r, w in connections))  # warm-up
        latencies.clear()
        cpu_start, started = cpu_seconds(), time.perf_counter()
        budget = [requests]
        await asyncio.gather(*(worker(r, w, started + seconds, budget) for r, w in connections))
        wall = time.perf_counter() - started
    finally:
        for _, writer in connections:
            writer.close()
            await writer.wait_closed()
    return client_result(latencies, wall, cpu_start, digits)


def content_length(head: bytes) -> int:
    """The Content-Length of a response head; the minimal client reads nothing else."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
        if name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked response: the minimal client needs a Content-Length")
    raise RuntimeError(f"response without Content-Length: {head[:200]!r}")


def check_payload(status: int, payload: bytes) -> int:
    """check() for a raw response: 200 and a digit, or raise."""
    if status != 200:
        raise RuntimeError(f"{PATH} answered {status}: {payload[:200]!r}")
    digit = json.loads(payload)["digit"]
    if not isinstance(digit, int) or not 0 <= digit <= 9:
        raise RuntimeError(f"{PATH} answered digit {digit!r}")
    return int(digit)


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers), in seconds."""
    return sum(cpu_seconds_by_process(pid).values())


def cpu_seconds_by_process(pid: int) -> dict[int, float]:
    """User + system CPU time of a process and of each of its children, in seconds."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    seconds = {}
    for one in pids:
        # Fields after the parenthesised name; utime and stime are the 12th and 13th of them.
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        seconds[one] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest process's share of the CPU time spent between two readings (1.0: all of it)."""
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    return max(spent) / max(sum(spent), 1e-9)


# ------------------------------------------------------------------------------ driver
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


def measure(
    pool: ProcessPoolExecutor, workers: int, body: bytes, args: argparse.Namespace
) -> dict[str, Any]:
    """One server with `workers` processes: concurrency 1, then concurrency 16, then its RSS."""
    many_client = (
        functools.partial(minimal_client, connect_gap=args.connect_gap_ms / 1e3)
        if args.c16_client == "minimal"
        else concurrent_client
    )
    with running_server(workers=workers) as (url, pid):
        rss_before = rss_mb(pid)
        cpu_before_one = server_cpu_seconds(pid)
        one = pool.submit(sequential_client, url, body, args.requests, args.seconds).result()
        server_cpu_one = server_cpu_seconds(pid) - cpu_before_one
        one_minimal = pool.submit(
            minimal_client, url, body, 1, args.requests, args.seconds
        ).result()
        cpu_before = cpu_seconds_by_process(pid)
        many = pool.submit(
            many_client, url, body, CONCURRENCY, args.requests * 10, args.seconds
        ).result()
        cpu_after = cpu_seconds_by_process(pid)
        server_cpu = sum(cpu_after.values()) - sum(cpu_before.values())
        rss_after = rss_mb(pid)
    latencies_ms = [t * 1e3 for t in one["latencies"]]
    minimal_ms = [t * 1e3 for t in one_minimal["latencies"]]
    return {
        "workers": workers,
        "c1_requests": len(latencies_ms),
        "c1_p50_ms": statistics.median(latencies_ms),
        "c1_p99_ms": percentile(latencies_ms, 0.99),
        "c1_client_cpu_share": one["client_cpu"] / one["wall"],
        "c1_server_cpu_ms_per_request": 1e3 * server_cpu_one / max(len(latencies_ms), 1),
        "c1_minimal_p50_ms": statistics.median(minimal_ms),
        "c1_minimal_p99_ms": percentile(minimal_ms, 0.99),
        "c16_requests": len(many["latencies"]),
        "c16_rps": len(many["latencies"]) / many["wall"],
        "c16_p50_ms": statistics.median(many["latencies"]) * 1e3,
        "c16_p99_ms": percentile(many["latencies"], 0.99) * 1e3,
        "c16_client_cpu_share": many["client_cpu"] / many["wall"],
        "c16_server_cpu_share": server_cpu / many["wall"],
        "c16_server_cpu_ms_per_request": 1e3 * server_cpu / max(len(many["latencies"]), 1),
        "c16_busiest_process_cpu_share": busiest_share(cpu_before, cpu_after),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "digits": sorted(set(one["digits"]) | set(one_minimal["digits"]) | set(many["digits"])),
    }


def main() -> None:
    """Alternate 1 and 2 workers for --rounds rounds; a table of medians and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (1 worker, 2 workers)")
    parser.add_argument("--requests", type=int, default=2000, help="concurrency-1 requests")
    parser.add_argument("--seconds", type=float, default=8.0, help="time cap of each phase")
    parser.add_argument(
        "--c16-client",
        choices=("minimal", "httpx"),
        default="minimal",
        help="concurrency-16 client: minimal asyncio HTTP/1.1 (default) or httpx AsyncClient",
    )
    parser.add_argument(
        "--connect-gap-ms",
        type=float,
        default=5.0,
        help="minimal client: open the 16 connections this far apart (0: all at once)",
    )
    args = parser.parse_args()

    body = canvas_png()
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    load_before = os.getloadavg()[0]
    # A spawned process: the client shares nothing with this one but the loopback interface.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for round_index in range(args.rounds):
            for workers in runs:
                result = measure(pool, workers, body, args)
                runs[workers].append(result)
                print(
                    f"  round {round_index + 1}, {workers} worker(s): "
                    f"c1 p50 {result['c1_p50_ms']:.2f} ms p99 {result['c1_p99_ms']:.2f} ms "
                    f"({result['c1_requests']} requests); c16 {result['c16_rps']:.0f} req/s "
                    f"({result['c16_requests']} requests, server "
                    f"{result['c16_server_cpu_ms_per_request']:.2f} ms CPU each); "
                    f"RSS {result['rss_after_mb']:.1f} MB",
                    flush=True,
                )

    def median(workers: int, key: str) -> float:
        return float(statistics.median(run[key] for run in runs[workers]))

    scaling = statistics.median(
        two["c16_rps"] / one["c16_rps"] for one, two in zip(runs[1], runs[2], strict=True)
    )
    digits = sorted({d for results in runs.values() for run in results for d in run["digits"]})
    client = args.c16_client
    if client == "minimal":
        client += f", connections opened {args.connect_gap_ms:g} ms apart"
    print(
        f"\n{len(body)}-byte 280x280 canvas PNG as image/png to {PATH}; every answer 200, "
        f"digits seen {digits}; load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after, on {os.cpu_count()} cores; "
        f"concurrency-16 client: {client}"
    )
    print(f"{'figure':<46}{'1 worker':>10}{'2 workers':>11}  {'target (1 worker)':<19}{'met':>4}")

    def row(label: str, key: str, target: str, ok: bool | None, fmt: str = "{:.2f}") -> None:
        met = "" if ok is None else ("yes" if ok else "NO")
        values = fmt.format(median(1, key)), fmt.format(median(2, key))
        print(f"{label:<46}{values[0]:>10}{values[1]:>11}  {target:<19}{met:>4}")

    p50, p99 = median(1, "c1_p50_ms"), median(1, "c1_p99_ms")
    rps, rss = median(1, "c16_rps"), median(1, "rss_after_mb")
    row("concurrency 1, p50 (ms)", "c1_p50_ms", f"<= {TARGET_P50_MS:g}", p50 <= TARGET_P50_MS)
    row("concurrency 1, p99 (ms)", "c1_p99_ms", f"<= {TARGET_P99_MS:g}", p99 <= TARGET_P99_MS)
    row("concurrency 1, minimal client, p50 (ms)", "c1_minimal_p50_ms", "", None)
    row("concurrency 1, minimal client, p99 (ms)", "c1_minimal_p99_ms", "", None)
    row("concurrency 16, requests/s", "c16_rps", f">= {TARGET_RPS:g}", rps >= TARGET_RPS, "{:.0f}")
    row("concurrency 16, p50 (ms)", "c16_p50_ms", "", None)
    row("concurrency 16, p99 (ms)", "c16_p99_ms", "", None)
    row("server RSS after the load (MB)", "rss_after_mb", "<= 150", rss <= TARGET_RSS_MB, "{:.1f}")
    row("client CPU, concurrency 1 (cores)", "c1_client_cpu_share", "", None)
    row("client CPU, concurrency 16 (cores)", "c16_client_cpu_share", "", None)
    row("server CPU, concurrency 16 (cores)", "c16_server_cpu_share", "", None)
    row("server CPU per request, concurrency 1 (ms)", "c1_server_cpu_ms_per_request", "", None)
    row("server CPU per request, concurrency 16 (ms)", "c16_server_cpu_ms_per_request", "", None)
    row("busiest server process's share of that CPU", "c16_busiest_process_cpu_share", "", None)
    scaled = "yes" if scaling > 1.0 else "NO"
    print(f"{'2 workers / 1 worker, c16 requests/s':<46}{scaling:>21.2f}x  {'> 1':<19}{scaled:>4}")
    if median(2, "c16_busiest_process_cpu_share") > 0.9:
        print(
            "note: with 2 workers one process served nearly every request: connections that\n"
            "arrive together all go to the first worker to wake (asyncio accepts every pending\n"
            "connection at once; uvicorn's workers share one listening socket). See\n"
            "--connect-gap-ms."
        )
    if median(2, "c1_minimal_p50_ms") > 35 > median(1, "c1_minimal_p50_ms"):
        print(
            "note: with 2 workers every keep-alive request waits ~40 ms: uvicorn's --workers path\n"
            "binds the socket with proto 0, so asyncio never sets TCP_NODELAY and Nagle meets the\n"
            "client's delayed ACK (https://github.com/Kludex/uvicorn/issues/3149)."
        )

    record = {
        "benchmark": "http",
        "png_bytes": len(body),
        "rounds": args.rounds,
        "c16_client": args.c16_client,
        "connect_gap_ms": args.connect_gap_ms,
        "load_average_before": round(load_before, 2),
        "runs": {
            str(w): [
                {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                for r in results
            ]
            for w, results in runs.items()
        },
        "c1_p50_ms": round(p50, 3),
        "c1_p99_ms": round(p99, 3),
        "c16_rps": round(rps, 1),
        "c16_rps_2_workers": round(median(2, "c16_rps"), 1),
        "workers_scaling": round(scaling, 3),
        "rss_mb": round(rss, 1),
        "rss_mb_2_workers": round(median(2, "rss_after_mb"), 1),
        "targets": {
            "c1_p50_ms": TARGET_P50_MS,
            "c1_p99_ms": TARGET_P99_MS,
            "c16_rps": TARGET_RPS,
            "rss_mb": TARGET_RSS_MB,
        },
        "meets_p50": p50 <= TARGET_P50_MS,
        "meets_p99": p99 <= TARGET_P99_MS,
        "meets_rps": rps >= TARGET_RPS,
        "meets_rss": rss <= TARGET_RSS_MB,
        "workers_scale": scaling > 1.0,
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()

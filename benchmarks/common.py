"""Shared pieces of the benchmarks: canvas PNGs, a server in its own process, RSS."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
CANVAS = 280
STROKE = 18
# A '4' as a person draws it on the 280x280 canvas: the slanted arm and crossbar, then the stem.
FOUR_STROKES = [[(170, 40), (70, 170), (210, 170)], [(165, 90), (160, 250)]]
# That '4' drawn with the mouse on the page in Chromium, as posted: see capture_canvas.py.
CANVAS_PNG = ROOT / "benchmarks" / "data" / "canvas-4-chromium.png"


def canvas_png() -> bytes:
    """The page's own PNG of a drawn '4' (280x280 RGBA, transparent background), from Chromium."""
    return CANVAS_PNG.read_bytes()


def pillow_canvas_png() -> bytes:
    """The same '4' drawn with Pillow and saved at zlib level 6: slower to inflate than a
    browser's PNG, so the benchmarks time it as a pessimistic second input."""
    # Drawn 4x larger then reduced: ImageDraw lines are aliased, a browser canvas is not.
    scale = 4
    big = Image.new("RGBA", (CANVAS * scale, CANVAS * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    for stroke in FOUR_STROKES:
        points = [(x * scale, y * scale) for x, y in stroke]
        draw.line(points, fill=(20, 20, 20, 255), width=STROKE * scale, joint="curve")
        for x, y in points:  # round caps, as with lineCap = "round"
            r = STROKE * scale // 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(20, 20, 20, 255))
    image = big.resize((CANVAS, CANVAS), Image.Resampling.BOX)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """`digits serve` in a child process on loopback; yields (base URL, server pid)."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    env = {**os.environ, **(extra_env or {})}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024

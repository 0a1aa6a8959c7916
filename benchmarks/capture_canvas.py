"""Capture the PNG the drawing page really sends: a '4' drawn with the mouse in Chromium.

The benchmarks time this file (benchmarks/data/canvas-4-chromium.png) as "a 280x280 canvas
PNG", because what a browser's encoder writes decides the decode time: Chromium's PNGs of a
drawing inflate about twice as fast as Pillow's default level-6 encoding of the same strokes,
which the benchmarks keep as a pessimistic second input (`benchmarks.common.pillow_canvas_png`).

    python -m benchmarks.capture_canvas [--chromium /usr/bin/chromium]

Needs the `dev` extra (Playwright) and a Chromium; it starts `digits serve` itself.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import math

from playwright.sync_api import sync_playwright

from benchmarks.common import CANVAS, CANVAS_PNG, FOUR_STROKES, running_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="browser executable")
    args = parser.parse_args()
    with running_server() as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium)
        page = browser.new_page(viewport={"width": 800, "height": 900})
        page.goto(url)
        bodies: list[str] = []
        page.on(
            "request",
            lambda request: (
                bodies.append(request.post_data or "")
                if request.method == "POST" and request.url.endswith("/api/predict")
                else None
            ),
        )
        box = page.get_by_test_id("pad").bounding_box()
        assert box is not None, "the pad is not visible"
        for stroke in FOUR_STROKES:
            points = _dense([(x / CANVAS, y / CANVAS) for x, y in stroke])
            screen = [
                (box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points
            ]
            page.mouse.move(*screen[0])
            page.mouse.down()
            for point in screen[1:]:
                page.mouse.move(*point)
            page.mouse.up()
        page.wait_for_timeout(1500)  # the request for the finished drawing
        browser.close()
    data_url = json.loads(bodies[-1])["image"]
    png = base64.b64decode(data_url.split(",", 1)[1])
    CANVAS_PNG.write_bytes(png)
    print(f"wrote {CANVAS_PNG} ({len(png)} bytes) from {len(bodies)} requests")


def _dense(stroke: list[tuple[float, float]], gap: float = 0.02) -> list[tuple[float, float]]:
    """Points no more than `gap` apart along the stroke, like a hand's closely spaced samples."""
    points = [stroke[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(stroke):
        n = max(1, math.ceil(math.dist((x0, y0), (x1, y1)) / gap))
        points += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return points


if __name__ == "__main__":
    main()

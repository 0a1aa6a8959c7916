"""Time image_to_mnist on a canvas PNG from the drawing page: decode vs recipe, medians.

The input is what the page posts: a '4' drawn with the mouse in Chromium, exported by
`canvas.toDataURL()` as a 280x280 RGBA PNG with a transparent background
(benchmarks/data/canvas-4-chromium.png, made by capture_canvas.py). The same strokes saved by
Pillow at zlib level 6 inflate about twice as slowly, so that PNG is timed too, as a pessimistic
second input. Target: median decode + recipe <= 1 ms, for the page's PNG.

    python -m benchmarks.bench_preprocess [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from benchmarks.common import CANVAS, canvas_png, pillow_canvas_png
from model.serving.preprocess import image_to_mnist, ink_map, open_image, to_mnist


def median_ms(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and 95th percentile wall time of function() in milliseconds, after a warm-up."""
    for _ in range(min(50, runs)):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    """Print a table of median times and one JSON line for the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()

    data = canvas_png()
    image = open_image(data)
    ink = ink_map(image)
    rows = {
        "decode (open_image)": median_ms(lambda: open_image(data), args.runs),
        "ink_map": median_ms(lambda: ink_map(image), args.runs),
        "to_mnist": median_ms(lambda: to_mnist(ink), args.runs),
        "recipe (ink_map+to_mnist)": median_ms(lambda: to_mnist(ink_map(image)), args.runs),
        "total (image_to_mnist)": median_ms(lambda: image_to_mnist(data), args.runs),
    }
    pillow = pillow_canvas_png()
    rows["total, Pillow level-6 PNG"] = median_ms(lambda: image_to_mnist(pillow), args.runs)
    print(
        f"input: the page's {CANVAS}x{CANVAS} RGBA PNG from Chromium, {len(data)} bytes "
        f"(Pillow level 6: {len(pillow)} bytes), {args.runs} runs"
    )
    print(f"{'stage':<28}{'median ms':>10}{'p95 ms':>10}")
    for name, (median, p95) in rows.items():
        print(f"{name:<28}{median:>10.3f}{p95:>10.3f}")
    total = rows["total (image_to_mnist)"]
    record = {
        "benchmark": "preprocess",
        "median_ms": round(total[0], 4),
        "p95_ms": round(total[1], 4),
        "decode_median_ms": round(rows["decode (open_image)"][0], 4),
        "recipe_median_ms": round(rows["recipe (ink_map+to_mnist)"][0], 4),
        "png_bytes": len(data),
        "pillow_level6_median_ms": round(rows["total, Pillow level-6 PNG"][0], 4),
        "runs": args.runs,
        "target_ms": 1.0,
        "meets_target": total[0] <= 1.0,
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()

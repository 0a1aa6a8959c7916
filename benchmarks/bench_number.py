"""Time /api/number on a 5-digit canvas drawing, in-process; check /api/predict is unchanged.

The input is a 5-digit number drawn from UNIPEN pen digits on an 840x280 pad exactly as the page
draws strokes (model/data/numbers.py: one writer's digits, seeded gaps from a slight overlap to
wide, a sloping baseline), as the PNG the page would post (a data URL in JSON), without and
with its strokes. "Server-side" is the route handler's own work, called in-process the way
FastAPI calls it (read and parse the body, decode the image, find and read the digits in a
worker thread, build the response) plus encoding the response as JSON: no socket, no client.
The whole request through the app (TestClient) is timed too, for scale. Target: median
server-side time <= 20 ms for the image alone. The process's CPU time is printed beside the wall
time: on a shared machine, other processes stretch the wall time, not the work.

/api/predict must answer the page's single-digit PNG exactly as before the number route was
added: the same digit and input as `Predictor.predict` on `image_to_mnist`, probabilities to
1e-6; its in-process time is reported beside.

    python -m benchmarks.bench_number [--runs 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.main import create_app
from app.routes.number import read_number as number_route
from app.settings import Settings
from benchmarks.common import canvas_png
from model.data.canvas import png_data_url
from model.data.numbers import NumberDrawing, random_number
from model.data.unipen import load_strokes, split_by_writer
from model.resources import shipped_weights
from model.serving.predictor import Predictor
from model.serving.preprocess import image_to_mnist

TARGET_MS = 20.0
DIGITS = 5


def five_digit_drawing(seed: int) -> NumberDrawing:
    """A seeded 5-digit number from one training writer's digits on the 840x280 pad."""
    strokes = load_strokes()
    train, _ = split_by_writer(strokes)
    rng = np.random.default_rng(seed)
    writers = strokes.writer_of()[train]
    own = train[writers == writers[rng.integers(len(train))]]
    return random_number(strokes, rng.choice(own, DIGITS, replace=False), rng)


def timed(function: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median and 90th percentile wall time, and median CPU time of this process, in ms.

    On a shared machine other processes stretch the wall time; the CPU time is the work itself.
    """
    for _ in range(min(20, runs)):
        function()
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append((time.perf_counter() - start) * 1000.0)
        cpus.append((time.process_time() - cpu) * 1000.0)
    walls.sort()
    return statistics.median(walls), walls[int(0.9 * (len(walls) - 1))], statistics.median(cpus)


def handler_call(app: Any, body: bytes) -> Callable[[], object]:
    """One call of the /api/number handler on `body`, as FastAPI makes it, and its JSON."""
    predictor, settings = app.state.predictor, app.state.settings
    loop = asyncio.new_event_loop()

    async def once() -> bytes:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/number",
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        response = await number_route(
            Request(scope, receive), predictor, settings, app.state.prototypes, None
        )
        return response.model_dump_json().encode()

    return lambda: loop.run_until_complete(once())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7, help="which 5-digit drawing")
    args = parser.parse_args()

    drawing = five_digit_drawing(args.seed)
    image_only = json.dumps({"image": png_data_url(drawing.png)}).encode()
    with_strokes = json.dumps(
        {"image": png_data_url(drawing.png), "strokes": drawing.strokes_as_lists()}
    ).encode()
    weights = shipped_weights()
    rows: dict[str, tuple[float, float, float]] = {}
    with TestClient(create_app(Settings(weights=weights))) as client:
        app: Any = client.app
        answers = {}
        for name, body in (("image", image_only), ("image + strokes", with_strokes)):
            answer = client.post(
                "/api/number", content=body, headers={"content-type": "application/json"}
            )
            answer.raise_for_status()
            answers[name] = answer.json()["number"]
            rows[f"handler, {name}"] = timed(handler_call(app, body), args.runs)
            rows[f"whole request (TestClient), {name}"] = timed(
                lambda body=body: client.post(
                    "/api/number", content=body, headers={"content-type": "application/json"}
                ),
                args.runs,
            )

        single = canvas_png()
        expected = Predictor.from_file(weights).predict([image_to_mnist(single)])[0]
        predicted = client.post(
            "/api/predict", content=single, headers={"content-type": "image/png"}
        ).json()
        predict_unchanged = (
            predicted["digit"] == expected.digit
            and predicted["input"] == expected.pixels.tolist()
            and np.allclose(predicted["probabilities"], expected.probabilities, atol=1e-6)
        )
        rows["/api/predict whole request, page's 280x280 PNG"] = timed(
            lambda: client.post(
                "/api/predict", content=single, headers={"content-type": "image/png"}
            ),
            args.runs,
        )

    handler, _, handler_cpu = rows["handler, image"]
    load = os.getloadavg()[0]
    print(
        f'input: "{drawing.label}" drawn on {drawing.size[0]}x{drawing.size[1]}, '
        f"{len(drawing.png):,} bytes of PNG, {len(drawing.strokes)} strokes; read as "
        f"{answers['image']!r} from the image, {answers['image + strokes']!r} with strokes; "
        f"{args.runs} runs each, load average {load:.2f}"
    )
    print(f"{'figure':<52}{'p50 ms':>9}{'p90 ms':>9}{'CPU p50':>9}")
    for name, (median, p90, cpu) in rows.items():
        print(f"{name:<52}{median:>9.2f}{p90:>9.2f}{cpu:>9.2f}")
    met = "yes" if handler <= TARGET_MS else "NO"
    print(
        f"server-side p50, image alone: {handler:.2f} ms, {handler_cpu:.2f} ms of CPU "
        f"(target <= {TARGET_MS:g} ms: {met})"
    )
    print(f"/api/predict answers as Predictor.predict does: {'yes' if predict_unchanged else 'NO'}")
    record = {
        "benchmark": "number",
        "label": drawing.label,
        "read_image": answers["image"],
        "read_with_strokes": answers["image + strokes"],
        **{
            name: {"p50_ms": round(m, 3), "p90_ms": round(p, 3), "cpu_p50_ms": round(c, 3)}
            for name, (m, p, c) in rows.items()
        },
        "target_ms": TARGET_MS,
        "meets_target": handler <= TARGET_MS,
        "predict_unchanged": predict_unchanged,
        "runs": args.runs,
        "load_average": round(load, 2),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()

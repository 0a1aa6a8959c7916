"""Make docs/screenshot.png: the real app in headless Chromium with a 7 drawn on the pad.

    PYTHONPATH=. python docs/make_screenshot.py [--digit 7] [--color-scheme light] [--out PATH]
    PYTHONPATH=. python docs/make_screenshot.py --mode number --out docs/screenshot-number.png

Starts the app around the shipped weights (as tests/browser/conftest.py does), draws the digit
with real mouse strokes (in number mode: "2024" in a held-out UNIPEN writer's strokes, as
tests/browser/test_number_mode.py writes it), waits for the network's answer and saves a
1000x700 screenshot. Needs Debian's Chromium at /usr/bin/chromium and the playwright Python
package.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
import urllib.request
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, ViewportSize, sync_playwright

from app.main import create_app
from app.settings import Settings
from model.data.numbers import NUMBER_PAD, layout_number, placed_strokes
from model.data.unipen import load_strokes

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1000, "height": 700}

# Strokes as fractions of the pad (0..1), the way a person might draw each digit.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    1: [[(0.52, 0.2), (0.5, 0.5), (0.48, 0.8)]],
    4: [[(0.42, 0.2), (0.32, 0.55), (0.7, 0.55)], [(0.6, 0.32), (0.6, 0.82)]],
    7: [[(0.3, 0.22), (0.7, 0.22), (0.45, 0.8)]],
}
# Held-out writer apb:8f7edf21's 2, 0, 2 and 4 (model/data/strokes/), 170 px tall, 45 px apart.
NUMBER_RECORDS = (1282, 1279, 1292, 1284)


def number_strokes() -> list[list[tuple[float, float]]]:
    """ "2024" side by side on the wide pad, as fractions of its width and height."""
    strokes = load_strokes()
    digits = [strokes.strokes(record) for record in NUMBER_RECORDS]
    params = layout_number(digits, [170.0] * 4, [45.0] * 3, pen_width=16.0)
    width, height = NUMBER_PAD
    return [
        [(float(x) / width, float(y) / height) for x, y in stroke]
        for stroke in placed_strokes(digits, params)
    ]


def serve() -> tuple[str, uvicorn.Server, threading.Thread]:
    """Run the app with uvicorn in a background thread; return its URL once it is healthy."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings()), host="127.0.0.1", log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return url, server, thread
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the app did not answer {url}/healthz")


def draw(page: Page, strokes: list[list[tuple[float, float]]]) -> None:
    box = page.get_by_test_id("pad").bounding_box()
    assert box is not None
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=12)
        page.mouse.up()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digit", type=int, choices=sorted(STROKES), default=7)
    parser.add_argument("--mode", choices=["digit", "number"], default="digit")
    parser.add_argument("--color-scheme", choices=["light", "dark"], default="light")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("screenshot.png"))
    args = parser.parse_args()

    url, server, thread = serve()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT, color_scheme=args.color_scheme)
            page.goto(url)
            if args.mode == "number":
                page.get_by_test_id("mode-number").click()
                draw(page, number_strokes())
                answer = "number"
            else:
                draw(page, STROKES[args.digit])
                answer = "prediction"
            page.wait_for_function(
                f"() => document.querySelector('[data-testid={answer}]').dataset.state === 'ready'"
            )
            page.mouse.move(0, 0)  # no hover highlight in the picture
            page.wait_for_timeout(300)  # let the bars finish their transition
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

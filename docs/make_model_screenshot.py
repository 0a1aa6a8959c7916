"""Make docs/model-page.png: the model page of the real app, full length, in headless Chromium.

    PYTHONPATH=. python docs/make_model_screenshot.py [--color-scheme light] [--out PATH]

Starts the app around the shipped weights (see docs/make_screenshot.py), opens /model, waits
until every chart is drawn and saves a full-page screenshot 1000 pixels wide, reduced to 256
colours: the 512 noisy weight pictures make a true-colour PNG of the page over 1.5 MB.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import ViewportSize, sync_playwright

from docs.make_screenshot import CHROMIUM, CHROMIUM_ARGS, serve

VIEWPORT: ViewportSize = {"width": 1000, "height": 800}
CHARTS = ("curves", "confusion", "per-class", "mistakes", "weights-grid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--color-scheme", choices=["light", "dark"], default="light")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("model-page.png"))
    args = parser.parse_args()

    url, server, thread = serve()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT, color_scheme=args.color_scheme)
            page.goto(f"{url}/model")
            for testid in CHARTS:
                page.wait_for_selector(f"[data-testid={testid}][data-state=ready]")
            png = page.screenshot(full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    picture.quantize(colors=256, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

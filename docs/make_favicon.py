"""Make static/favicon.ico from static/favicon.svg: 16, 32 and 48 px in one ICO file.

    PYTHONPATH=. python docs/make_favicon.py [--out PATH]

Headless Chromium draws the SVG at 256x256 on a transparent background (so the icon is exactly
the SVG the pages link to), and Pillow scales it down and writes the ICO that /favicon.ico
serves to clients that do not read the pages' <link rel="icon">. Needs Debian's Chromium at
/usr/bin/chromium and the playwright Python package; run it again whenever the SVG changes.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from docs.make_screenshot import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "static" / "favicon.svg"
ICO = ROOT / "static" / "favicon.ico"
DRAWN_PX = 256
ICO_SIZES = [(16, 16), (32, 32), (48, 48)]


def render_svg(svg: str, size: int) -> Image.Image:
    """The SVG drawn by Chromium at size x size pixels, RGBA with a transparent background."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": size, "height": size})
        sized = svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
        page.set_content(f"<html><body style='margin:0'>{sized}</body></html>")
        png = page.locator("svg").screenshot(omit_background=True)
        browser.close()
    return Image.open(io.BytesIO(png)).convert("RGBA")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICO, help="where to write the ICO")
    args = parser.parse_args()
    image = render_svg(SVG.read_text(encoding="utf-8"), DRAWN_PX)
    image.save(args.out, format="ICO", sizes=ICO_SIZES)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sizes {ICO_SIZES})")


if __name__ == "__main__":
    main()

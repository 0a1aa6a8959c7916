"""Test drawings: the ten digits as pen strokes, rendered at any size and brush like the page does.

The strokes are the ones the browser tests draw with the mouse (tests/browser/test_page.py), in pad
fractions. `render` draws them as a canvas would: round caps and joints, anti-aliased (drawn 4x
larger and box-reduced), ink high, so a test can ask what the recipe makes of the same digit
drawn small with a fat brush, large with a fine one, and everything in between.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]

PAD = 280  # the page's drawing pad, px
SUPERSAMPLE = 4
PAGE_PNG = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "canvas-4-chromium.png"


def arc(
    cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float, n: int = 32
) -> Stroke:
    """Points along an elliptical arc; angles clockwise on screen, 0 degrees = 3 o'clock."""
    return [
        (
            cx + rx * math.cos(math.radians(start_deg + (end_deg - start_deg) * i / n)),
            cy + ry * math.sin(math.radians(start_deg + (end_deg - start_deg) * i / n)),
        )
        for i in range(n + 1)
    ]


def figure_eight(n: int = 64) -> Stroke:
    """One continuous stroke: top loop then bottom loop, crossing in the middle."""
    return [
        (0.5 + 0.17 * math.sin(2 * t), 0.5 - 0.3 * math.cos(t))
        for t in (2 * math.pi * i / n for i in range(n + 1))
    ]


# How a person might draw each digit, one list of strokes per digit, in pad fractions.
DIGIT_STROKES: dict[int, list[Stroke]] = {
    0: [arc(0.5, 0.5, 0.2, 0.3, -90, 275)],
    1: [[(0.52, 0.2), (0.5, 0.5), (0.48, 0.8)]],
    2: [
        [
            *arc(0.5, 0.35, 0.17, 0.14, 200, 360, 16),
            (0.64, 0.45),
            (0.5, 0.6),
            (0.32, 0.78),
            (0.5, 0.78),
            (0.7, 0.78),
        ]
    ],
    3: [arc(0.48, 0.34, 0.17, 0.14, 210, 450, 20) + arc(0.48, 0.64, 0.19, 0.16, -90, 150, 20)],
    4: [[(0.42, 0.2), (0.32, 0.55), (0.7, 0.55)], [(0.6, 0.32), (0.6, 0.82)]],
    5: [[(0.66, 0.2), (0.38, 0.2), (0.35, 0.46), *arc(0.5, 0.6, 0.18, 0.18, -125, 150, 20)]],
    6: [[(0.6, 0.2), (0.45, 0.36), *arc(0.5, 0.64, 0.17, 0.16, 195, 555, 30)]],
    7: [[(0.3, 0.22), (0.7, 0.22), (0.45, 0.8)]],
    8: [figure_eight()],
    9: [[*arc(0.5, 0.36, 0.16, 0.15, 0, 365, 28), (0.66, 0.5), (0.62, 0.82)]],
}


def render(
    strokes: list[Stroke],
    height: float,
    brush: float,
    size: int = PAD,
    centre: Point | None = None,
) -> NDArray[np.uint8]:
    """The strokes drawn `height` px tall (their path, caps not counted) with a `brush` px round
    pen, centred on `centre` (default: the middle) of a size x size pad: (size, size) uint8, ink
    high."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    scale = height / (max(ys) - min(ys))
    cx, cy = centre if centre is not None else (size / 2, size / 2)
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    k = SUPERSAMPLE
    big = Image.new("L", (size * k, size * k), 0)
    draw = ImageDraw.Draw(big)
    radius = brush * k / 2
    for stroke in strokes:
        points = [
            ((cx + (x - mid_x) * scale) * k, (cy + (y - mid_y) * scale) * k) for x, y in stroke
        ]
        draw.line(points, fill=255, width=max(1, round(brush * k)), joint="curve")
        for x, y in points:  # round caps (and joints between the polyline's segments)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(big.resize((size, size), Image.Resampling.BOX))


def canvas_rgba(ink: NDArray[np.uint8], colour: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """What the page's `toDataURL()` holds: `colour` strokes, alpha = ink, transparent elsewhere."""
    alpha = Image.fromarray(ink)
    channels = [Image.new("L", alpha.size, c) for c in colour]
    return Image.merge("RGBA", (*channels, alpha))


def png(image: Image.Image) -> bytes:
    """The image saved as a PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def canvas_exports() -> dict[str, bytes]:
    """Canvas-like PNGs of normal drawings (normal brush, normal size), by name.

    The page's own PNG of a '4' from Chromium, the ten digits as the page exports them at its
    default brush, other brushes and sizes, ink colours and flat opaque backgrounds. The recipe
    must turn each into exactly the input it gave before photos and stroke widths were handled
    (tests/data/canvas-inputs-before.npz, made by tests/data/make_canvas_fixture.py).
    """
    exports = {"page 4 (Chromium)": PAGE_PNG.read_bytes()}
    for digit, strokes in DIGIT_STROKES.items():
        exports[f"{digit} brush 20 170 px"] = png(canvas_rgba(render(strokes, 170, 20)))
    for digit, height, brush in ((1, 200, 16), (4, 220, 18), (7, 120, 28), (0, 140, 24)):
        exports[f"{digit} brush {brush} {height} px"] = png(
            canvas_rgba(render(DIGIT_STROKES[digit], height, brush))
        )
    exports["2 red on transparent"] = png(
        canvas_rgba(render(DIGIT_STROKES[2], 160, 20), (230, 40, 20))
    )
    exports["5 white on transparent"] = png(
        canvas_rgba(render(DIGIT_STROKES[5], 160, 20), (255, 255, 255))
    )
    exports["6 black on white RGB"] = png(
        Image.fromarray(255 - render(DIGIT_STROKES[6], 150, 18)).convert("RGB")
    )
    exports["9 white on black L"] = png(Image.fromarray(render(DIGIT_STROKES[9], 180, 22)))
    exports["3 on grey paper"] = png(
        Image.fromarray((200 - render(DIGIT_STROKES[3], 150, 20) * (160 / 255)).astype(np.uint8))
    )
    return exports


def blurred_correlation(a: NDArray[np.integer], b: NDArray[np.integer]) -> float:
    """Pearson correlation of two 28x28 inputs, each blurred with a Gaussian of sigma 1 px.

    The blur forgives what two drawings of one digit always differ by (where a 2 px stroke
    falls between pixels, strokes 2 or 4 px wide), not a wrong shape, size or place.
    """
    kernel = np.exp(-0.5 * np.arange(-3, 4) ** 2)
    kernel /= kernel.sum()

    def blur(image: NDArray[np.integer]) -> NDArray[np.float64]:
        out = image.astype(np.float64)
        for axis in (0, 1):
            out = np.apply_along_axis(np.convolve, axis, out, kernel, mode="same")
        return out

    return float(np.corrcoef(blur(a).ravel(), blur(b).ravel())[0, 1])

"""Phone-like photos of a digit: paper, uneven light, shadows, squared paper, grain, JPEG.

`photo` lays a digit's ink (high = ink, any size) on a sheet of paper and photographs it the way
a phone would: light falling off toward a corner, the soft shadow of a hand or a phone, the
lines of squared paper printed under the ink, paper texture and sensor grain, JPEG compression.
Everything multiplies like light does: shadow and falloff darken the ink as much as the paper.
Each `PHOTO_KINDS` entry is one of these on its own (plus the grain and JPEG every photo has),
so a test or a robustness condition can say which one the recipe cannot cope with.

The photos are what `model.serving.paper` must undo; its tests and the robustness report
(`model.evaluation.robustness`) both take them from here. Units: pixels of the photo, grey or
RGB levels 0..255, shares (0..1) of the lit paper's brightness.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

PAPER = np.array([236.0, 233.0, 226.0])  # a warm white sheet under indoor light, RGB
INK = np.array([28.0, 32.0, 62.0])  # blue-black ballpoint
SIZE = (360, 300)  # width, height of the photo, px
INK_HEIGHT = 150  # px: how tall `pen_ink` draws a digit on a SIZE photo
MARGIN = 20  # px: the digit is kept at least this far from the photo's edge
GRAIN = 2.5  # sensor grain: standard deviation in RGB levels, per channel
SHADOW_BLUR = 25  # px: the Gaussian blur of a shadow's edge
GRID_PITCH = (22.0, 26.0)  # px: squared paper's spacing, drawn from this range
GRID_LINE = (1.0, 2.0)  # px: its lines' width, drawn from this range
GRID_TILT = 2.0  # degrees: the sheet is turned up to this much either way
GRID_LINE_STEP = 0.25  # px: the line width is drawn to a whole number of quarter pixels


@dataclass(frozen=True)
class PhotoKind:
    """What one photo suffers from, besides grain and JPEG (which every photo has)."""

    falloff: float = 0.0  # light this much dimmer at the far corner than at the bright one
    shadow: float = 0.0  # a soft shadow this much darker than the lit paper
    grid: tuple[float, float, float] | None = None  # squared paper: the lines' RGB
    texture: float = 0.0  # blotchy paper texture, standard deviation in grey levels


LIGHT_BLUE_GRID = (150.0, 190.0, 232.0)
GREY_GRID = (178.0, 178.0, 178.0)

PHOTO_KINDS: dict[str, PhotoKind] = {
    "flat paper": PhotoKind(),
    "light 5% dimmer toward a corner": PhotoKind(falloff=0.05),
    "light 10% dimmer toward a corner": PhotoKind(falloff=0.10),
    "light 20% dimmer toward a corner": PhotoKind(falloff=0.20),
    "light 30% dimmer toward a corner": PhotoKind(falloff=0.30),
    "soft shadow": PhotoKind(shadow=0.45),
    "squared paper, light blue": PhotoKind(grid=LIGHT_BLUE_GRID),
    "squared paper, grey": PhotoKind(grid=GREY_GRID),
    "paper texture": PhotoKind(texture=6.0),
    "all of it": PhotoKind(falloff=0.2, shadow=0.35, grid=LIGHT_BLUE_GRID, texture=4.0),
}


def pen_ink(digit: NDArray[np.uint8], height: int = INK_HEIGHT) -> NDArray[np.float32]:
    """An MNIST digit (28, 28) uint8 enlarged to `height` px and given a pen's firm edge:
    (height, height) float32 in [0, 1], 1 = full ink."""
    big = Image.fromarray(digit).resize((height, height), Image.Resampling.BICUBIC)
    ink: NDArray[np.float32] = np.asarray(big, dtype=np.float32) / 255.0
    firm: NDArray[np.float32] = np.clip((ink - 0.25) / 0.4, 0.0, 1.0)  # scan edge -> pen edge
    return firm


def clean_scan(ink: NDArray[np.float32]) -> bytes:
    """The ink (h, w) in [0, 1] on perfectly white, evenly lit paper, as PNG bytes of an (h, w)
    grey image: the reference the photos are compared with."""
    grey = np.rint(255.0 * (1.0 - ink)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")
    return buffer.getvalue()


def photo(
    ink: NDArray[np.float32],
    kind: PhotoKind,
    rng: np.random.Generator,
    quality: int = 80,
    size: tuple[int, int] = SIZE,
) -> bytes:
    """The ink (h, w) in [0, 1] photographed on paper as `kind` says: JPEG bytes (at `quality`)
    of a size[0] x size[1] RGB photo. The ink must fit inside the photo with MARGIN px to spare.

    The digit sits at a random place, the bright corner and the shadow's side are random too.
    """
    width, height = size
    light = np.ones((height, width), dtype=np.float32)  # share of full light falling on each px
    if kind.falloff:
        corner_x, corner_y = rng.choice([0, width]), rng.choice([0, height])
        xs = np.arange(width, dtype=np.float64) - corner_x
        ys = np.arange(height, dtype=np.float64)[:, None] - corner_y
        distance = np.hypot(xs, ys)  # (h, w), px from the bright corner
        light *= 1.0 - kind.falloff * distance / distance.max()
    if kind.shadow:
        light *= 1.0 - kind.shadow * _soft_shadow(size, rng)
    rgb = np.broadcast_to(PAPER, (height, width, 3)).copy()  # (h, w, 3) float64, RGB levels
    if kind.grid is not None:
        rgb *= _grid(size, kind.grid, rng)
    if kind.texture:
        blotches = rng.normal(0.0, 1.0, (height // 12 + 1, width // 12 + 1)).astype(np.float32)
        smooth = Image.fromarray(blotches).resize((width, height), Image.Resampling.BICUBIC)
        rgb *= (1.0 + kind.texture / 236.0 * np.asarray(smooth))[..., None]

    ink_h, ink_w = ink.shape
    top = int(rng.integers(MARGIN, height - ink_h - MARGIN + 1))
    left = int(rng.integers(MARGIN, width - ink_w - MARGIN + 1))
    # The ink's reflectance over paper, only where the ink is (elsewhere it is exactly 1).
    pen = 1.0 - ink[..., None] * (1.0 - INK / PAPER)  # (h, w, 3)
    rgb[top : top + ink_h, left : left + ink_w] *= pen
    rgb *= light[..., None]

    rgb += rng.normal(0.0, GRAIN, rgb.shape)  # sensor grain
    np.clip(np.rint(rgb, out=rgb), 0, 255, out=rgb)
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _soft_shadow(size: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float32]:
    """A hand's or a phone's shadow: a slanted band over one side, its edge blurred SHADOW_BLUR
    px: (h, w) float32, 0 = lit, 1 = fully in the shadow."""
    width, height = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    cut = rng.uniform(0.35, 0.55)  # how far in from the shadowed side its edge reaches
    slant = rng.uniform(-0.25, 0.25)
    if rng.random() < 0.5:  # from the left or the right
        x0, x1 = width * (cut - slant), width * (cut + slant)
        polygon = [(0, 0), (x0, 0), (x1, height), (0, height)]
    else:
        x0, x1 = width * (1 - cut - slant), width * (1 - cut + slant)
        polygon = [(x0, 0), (width, 0), (width, height), (x1, height)]
    draw.polygon(polygon, fill=255)
    soft = mask.filter(ImageFilter.GaussianBlur(SHADOW_BLUR))
    return np.asarray(soft, dtype=np.float32) / 255.0


def _grid(
    size: tuple[int, int], colour: tuple[float, float, float], rng: np.random.Generator
) -> NDArray[np.float64]:
    """Squared paper's reflectance (h, w, 3), 1 = bare paper: lines GRID_LINE px wide every
    GRID_PITCH px, the sheet turned up to GRID_TILT degrees.

    Each pixel's share covered by the lines is computed exactly for the unturned lines (the
    overlap of the pixel with a band, per direction; the union of both directions), at the
    pixel's place on the turned sheet: anti-aliased like a supersampled drawing, far cheaper.
    """
    width, height = size
    pitch = rng.uniform(*GRID_PITCH)
    line = round(rng.uniform(*GRID_LINE) / GRID_LINE_STEP) * GRID_LINE_STEP
    offset = rng.uniform(0, pitch)  # where the first line of each direction lies
    angle = np.radians(rng.uniform(-GRID_TILT, GRID_TILT))
    # Each pixel centre on the sheet, turned about the photo's centre (Pillow's `rotate` sense).
    x = np.arange(width, dtype=np.float32)[None, :] + np.float32(0.5 - width / 2)
    y = np.arange(height, dtype=np.float32)[:, None] + np.float32(0.5 - height / 2)
    cos, sin = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    across = (cos * x - sin * y + np.float32(width / 2), sin * x + cos * y + np.float32(height / 2))
    covered = []
    for position in across:  # (h, w) px along the sheet, one direction each
        distance = np.abs(
            (position - np.float32(offset - pitch / 2)) % np.float32(pitch) - pitch / 2
        )
        # The overlap of a 1 px pixel with a band `line` px wide, centres `distance` apart.
        covered.append(np.clip(np.minimum((1.0 + line) / 2 - distance, min(1.0, line)), 0.0, 1.0))
    coverage = (covered[0] + covered[1] - covered[0] * covered[1])[..., None]  # (h, w, 1)
    reflectance: NDArray[np.float64] = 1.0 - coverage * (1.0 - np.asarray(colour) / PAPER)
    return reflectance

"""Phone-like test photos of a digit: paper, uneven light, shadows, squared paper, grain, JPEG.

`photo` lays a digit's ink (high = ink, any size) on a sheet of paper a few hundred px across and
photographs it the way a phone would: light falling off toward a corner, the soft shadow of a
hand or a phone, the lines of squared paper printed under the ink, paper texture and sensor
grain, JPEG compression. Everything multiplies like light does: shadow and falloff darken the
ink as much as the paper. Each `PHOTO_KINDS` entry is one of these on its own (plus the grain and
JPEG every photo has), so a test can say which one the recipe cannot cope with.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from model.data.mnist import load_mnist
from tests.conftest import SAMPLE_DIR

PAPER = np.array([236.0, 233.0, 226.0])  # a warm white sheet under indoor light, RGB
INK = np.array([28.0, 32.0, 62.0])  # blue-black ballpoint
SIZE = (360, 300)  # width, height of the photo


@dataclass(frozen=True)
class PhotoKind:
    """What one photo suffers from, besides grain and JPEG (which every photo has)."""

    falloff: float = 0.0  # light this much dimmer at the far corner than at the bright one
    shadow: float = 0.0  # a soft shadow this much darker than the lit paper
    grid: tuple[float, float, float] | None = None  # squared paper: the lines' RGB
    texture: float = 0.0  # blotchy paper texture, standard deviation in grey levels


PHOTO_KINDS: dict[str, PhotoKind] = {
    "flat paper": PhotoKind(),
    "light 5% dimmer toward a corner": PhotoKind(falloff=0.05),
    "light 10% dimmer toward a corner": PhotoKind(falloff=0.10),
    "light 20% dimmer toward a corner": PhotoKind(falloff=0.20),
    "light 30% dimmer toward a corner": PhotoKind(falloff=0.30),
    "soft shadow": PhotoKind(shadow=0.45),
    "squared paper, light blue": PhotoKind(grid=(150.0, 190.0, 232.0)),
    "squared paper, grey": PhotoKind(grid=(178.0, 178.0, 178.0)),
    "paper texture": PhotoKind(texture=6.0),
    "all of it": PhotoKind(falloff=0.2, shadow=0.35, grid=(150.0, 190.0, 232.0), texture=4.0),
}


def mnist_digits() -> tuple[list[NDArray[np.uint8]], list[int]]:
    """The first test-sample digit of each class 0..9: ten (28, 28) uint8 images, their labels."""
    images, labels = load_mnist(SAMPLE_DIR, "test")
    firsts = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]
    return [images[i] for i in firsts], list(range(10))


def pen_ink(digit: NDArray[np.uint8], height: int = 150) -> NDArray[np.float32]:
    """An MNIST digit enlarged to `height` px and given a pen's firm edge: (h, h) in [0, 1]."""
    big = Image.fromarray(digit).resize((height, height), Image.Resampling.BICUBIC)
    ink = np.asarray(big, dtype=np.float32) / 255.0
    return np.clip((ink - 0.25) / 0.4, 0.0, 1.0)  # MNIST's soft scan edge -> a pen line's edge


def clean_scan(ink: NDArray[np.float32]) -> bytes:
    """The ink on perfectly white, evenly lit paper: the reference the photos are compared with."""
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
    """The ink photographed on paper as `kind` says: JPEG bytes of a size[0] x size[1] RGB photo.

    The digit sits at a random place (kept inside the sheet), the bright corner and the shadow's
    side are random too.
    """
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = np.ones((height, width), dtype=np.float32)
    if kind.falloff:
        corner_x, corner_y = rng.choice([0, width]), rng.choice([0, height])
        distance = np.hypot(xs - corner_x, ys - corner_y)
        light *= 1.0 - kind.falloff * distance / distance.max()
    if kind.shadow:
        light *= 1.0 - kind.shadow * _soft_shadow(size, rng)
    reflectance = np.ones((height, width, 3), dtype=np.float32)
    if kind.grid is not None:
        reflectance *= _grid(size, kind.grid, rng)
    if kind.texture:
        blotches = rng.normal(0.0, 1.0, (height // 12 + 1, width // 12 + 1)).astype(np.float32)
        smooth = Image.fromarray(blotches).resize((width, height), Image.Resampling.BICUBIC)
        reflectance *= (1.0 + kind.texture / 236.0 * np.asarray(smooth))[..., None]

    ink_h, ink_w = ink.shape
    top = int(rng.integers(20, height - ink_h - 20 + 1))
    left = int(rng.integers(20, width - ink_w - 20 + 1))
    ink_layer = np.zeros((height, width), dtype=np.float32)
    ink_layer[top : top + ink_h, left : left + ink_w] = ink
    pen = 1.0 - ink_layer[..., None] * (1.0 - INK / PAPER)  # the ink's reflectance over paper

    rgb = PAPER * reflectance * pen * light[..., None]
    rgb += rng.normal(0.0, 2.5, rgb.shape)  # sensor grain
    image = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _soft_shadow(size: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float32]:
    """A hand's or a phone's shadow: a slanted band over one side, edge blurred ~25 px: 0..1."""
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
    soft = mask.filter(ImageFilter.GaussianBlur(25))
    return np.asarray(soft, dtype=np.float32) / 255.0


def _grid(
    size: tuple[int, int], colour: tuple[float, float, float], rng: np.random.Generator
) -> NDArray[np.float32]:
    """Squared paper's reflectance (h, w, 3): lines 1-2 px wide every 22-26 px, a little askew."""
    width, height = size
    k = 4  # drawn 4x larger and reduced, so the lines are anti-aliased
    pitch = rng.uniform(22, 26) * k
    line = round(rng.uniform(1.0, 2.0) * k)
    big = Image.new("L", (width * k, height * k), 0)
    draw = ImageDraw.Draw(big)
    offset = rng.uniform(0, pitch)
    for position in np.arange(offset, max(width, height) * k, pitch):
        draw.line([(position, 0), (position, height * k)], fill=255, width=line)
        draw.line([(0, position), (width * k, position)], fill=255, width=line)
    angle = rng.uniform(-2.0, 2.0)  # the sheet is never quite square to the camera
    lines = big.rotate(angle, Image.Resampling.BILINEAR).resize(size, Image.Resampling.BOX)
    coverage = np.asarray(lines, dtype=np.float32)[..., None] / 255.0
    return 1.0 - coverage * (1.0 - np.asarray(colour, dtype=np.float32) / PAPER)

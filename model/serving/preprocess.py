"""Turn any image (or a raw pixel list) into the 28x28 uint8 input MNIST was made of.

The one copy of the MNIST recipe, shared by the server, the CLI and the evaluation code:

    bytes --open_image--> PIL image --ink_map--> (H, W) ink in [0, 1] --to_mnist--> (28, 28) uint8

`ink_map` reads a canvas export or a clean scan straight off its flat background, and hands
a photo of paper to `paper` (uneven light, shadows, squared paper's lines and grain removed).
`to_mnist` follows LeCun et al.: crop to the ink, scale the longer side to 20 px keeping the
aspect ratio (anti-aliased), place in a 28x28 frame so the intensity centre of mass sits on the
frame's centre pixel. Before scaling, `strokes` brings a stroke width MNIST never has for the
digit's size (a fat brush on a small digit, a hairline on a large one) back into its range.
`normalize` is the one float scaling used for training, evaluation and serving.

Untrusted bytes are checked before any pixel is decoded; every failure is a `PreprocessError`
(a `ValueError`) whose subclass tells the web layer which status to answer with.
"""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from model.serving.paper import has_flat_border, paper_ink
from model.serving.strokes import normalized_strokes

ScalarT = TypeVar("ScalarT", bound=np.generic)
Item = TypeVar("Item")

FRAME = 28  # MNIST frame side
WHITE = 255.0  # full scale of 8-bit grey levels and alpha
BOX = 20  # the longer side of the digit inside the frame
# MNIST's centres of mass sit at 14.0 +- 0.5 in pixel-index coordinates (t10k: rows 13.99, cols
# 14.01, spread evenly over 13.5..14.5): the integer-shift target was pixel 14, half a pixel
# below/right of the geometric centre 13.5. We copy MNIST, not geometry: the network learnt MNIST.
CENTER_OF_MASS_TARGET = 14.0
# Ink weaker than this fraction of the strongest ink does not stretch the bounding box: anti-alias
# fringes and JPEG ringing live there. A stroke's fringe is under 1 source pixel, so the box moves
# by less than that. Run back through the recipe, 2 in 3 MNIST digits come out unchanged.
INK_THRESHOLD = 0.1
# After the background level is removed, an image whose strongest ink is below this (about 26 of
# 255 grey levels) is paper texture or compression noise, not a stroke: it is reported as no ink.
MIN_INK_CONTRAST = 0.1
BORDER_WIDTH = 2  # px of the outer ring sampled for the background level and polarity
# A pixel list with more than half its pixels above this is inverted (dark ink on white): of
# MNIST's 70,000 digits, the boldest has 40% of its pixels above it, the average 13%.
MOSTLY_INK_LEVEL = 127
# Formats Pillow may decode for us. Anything else (EPS would run Ghostscript, and many rarely
# used decoders are a wider attack surface) is refused as undecodable.
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")


class PreprocessError(ValueError):
    """Base of every input error raised here; its message is safe to show to the user."""


class ImageDecodeError(PreprocessError):
    """The bytes are not a complete image in an allowed format (HTTP 400)."""


class ImageTooLargeError(PreprocessError):
    """Too many bytes, too wide, too tall or too many pixels (HTTP 413)."""


class UnsupportedImageError(PreprocessError):
    """A decodable image whose pixel mode we cannot read as ink (HTTP 422)."""


class NoInkError(PreprocessError):
    """The image (or pixel array) holds no ink to recognise (HTTP 422)."""


class PixelValueError(PreprocessError):
    """A pixel array of the wrong shape, type or range (HTTP 422)."""


@dataclass(frozen=True)
class ImageLimits:
    """Upper bounds checked before decoding: encoded size, each side, and their product."""

    max_bytes: int = 2 * 1024 * 1024
    max_side: int = 4096
    max_pixels: int = 4096 * 4096


def open_image(data: bytes, limits: ImageLimits = ImageLimits()) -> Image.Image:
    """Decode untrusted bytes into a loaded Pillow image, refusing oversize input before decoding.

    Multi-frame images (animated GIF/APNG/WebP, multi-page TIFF) give their first frame: that is
    what a viewer shows first and what the spec asks for ("GIF first frame"); the other frames are
    never decoded. EXIF orientation is applied, so a phone photo is upright.
    """
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(f"image is {len(data)} bytes; the limit is {limits.max_bytes}")
    try:
        # Pillow warns between 1x and 2x its own MAX_IMAGE_PIXELS and raises above; both mean
        # "too large". catch_warnings is process-wide: a race between threads can at worst leave
        # this filter installed, which is the behaviour we want anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Image.open is lazy: it parses the header only, so the size is known before any
            # pixel is decoded.
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            _check_size(image.size, limits)
            image.load()  # first frame only; truncated or corrupt data fails here
            ImageOps.exif_transpose(image, in_place=True)  # no-op without an EXIF rotation
    except PreprocessError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError) as error:
        raise ImageTooLargeError("image has too many pixels") from error
    except Exception as error:
        # Any failure inside a decoder is the input's fault: UnidentifiedImageError, OSError
        # (truncated), SyntaxError (bad header), ValueError, EOFError, struct.error, ...
        raise ImageDecodeError(f"not a readable image ({', '.join(ALLOWED_FORMATS)})") from error
    return image


def header_pixels(data: bytes) -> int:
    """width * height as the image's header states it, without decoding any pixel; 0 when the
    header cannot be read (decoding the image then reports why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
                width, height = image.size
    except Exception:
        return 0
    return width * height


def _check_size(size: tuple[int, int], limits: ImageLimits) -> None:
    """Raise ImageTooLargeError if (width, height) exceeds the limits, ImageDecodeError if empty."""
    width, height = size
    if width > limits.max_side or height > limits.max_side:
        raise ImageTooLargeError(
            f"image is {width}x{height}; each side must be at most {limits.max_side}"
        )
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height}; at most {limits.max_pixels} pixels are allowed"
        )
    if width < 1 or height < 1:
        raise ImageDecodeError(f"image is {width}x{height}")


def ink_map(image: Image.Image) -> NDArray[np.float32]:
    """Ink strength per pixel, 1 for the strongest ink and 0 for background: (H, W) float32.

    A transparent background (the border is mostly transparent, as in a canvas `toDataURL()`
    PNG) means ink = alpha, whatever the ink's colour. Otherwise ink is read from luminance, with
    the polarity taken from the border: a light border means dark ink on light paper, a dark
    border means light ink (MNIST style). A flat border (a canvas, a screenshot, a clean scan)
    has its median level subtracted, so grey paper or a JPEG haze is not ink, and the result
    stretched so the strongest ink is 1. Any other border is a photo's: `paper.paper_ink` finds
    the paper's level pixel by pixel instead (on a copy at most 480 px a side). A uniform image
    (any 1x1 image included) has no ink and maps to all zeros; so does one whose strongest ink
    is under MIN_INK_CONTRAST. `to_mnist` reports both as NoInkError.
    """
    alpha = _alpha(image)
    if alpha is not None:
        level = _background_level(alpha)
        if level < WHITE / 2:  # transparent background: alpha is the ink, whatever its colour
            return _stretch(alpha, level, full_scale=WHITE, light_background=False)
    values, full_scale = _luminance(image)
    level = _background_level(values)
    light_background = _ink_is_dark(values, level, full_scale)
    ring = _border(values)
    if ring.size < values.size and not has_flat_border(ring, level, full_scale):
        # A photo of paper: uneven light, shadows, printed lines and grain removed first. (An
        # image too thin to have a border around an interior is no photo.)
        return paper_ink(values, full_scale, light_background, MIN_INK_CONTRAST)
    return _stretch(values, level, full_scale, light_background)


def _stretch(
    values: NDArray[np.uint8] | NDArray[np.float32],
    level: float,
    full_scale: float,
    light_background: bool,
) -> NDArray[np.float32]:
    """Ink |values - level| on the ink side of the background level, max 1: (H, W) float32."""
    # The contrast is known from the raw extreme, so the float conversion, the background
    # subtraction and the stretch are one fused pass (this runs on every request).
    if light_background:
        contrast, scale = level - float(values.min()), -1.0
    else:
        contrast, scale = float(values.max()) - level, 1.0
    if contrast < MIN_INK_CONTRAST * full_scale:
        return np.zeros(values.shape, dtype=np.float32)
    scale /= contrast
    ink = np.multiply(values, np.float32(scale), dtype=np.float32)
    if level != 0.0:
        ink -= np.float32(level * scale)
    # Pixels on the background's far side (brighter than the paper, fainter than the haze) are
    # not ink. Nothing lies beyond a background at the range's end, so the pass is skipped then.
    if level not in (0.0, full_scale):
        np.maximum(ink, 0.0, out=ink)
    return ink


def _alpha(image: Image.Image) -> NDArray[np.uint8] | None:
    """The alpha channel (H, W) uint8, or None if the image has no transparency."""
    if "transparency" in image.info and image.mode in ("1", "L", "P", "RGB"):
        image = image.convert("RGBA")  # palette index or colour-key transparency -> real alpha
    bands = image.getbands()
    band = "A" if "A" in bands else "a" if "a" in bands else None
    if band is None:
        return None
    return np.asarray(image.getchannel(band))


def _luminance(image: Image.Image) -> tuple[NDArray[np.uint8] | NDArray[np.float32], float]:
    """Grey level (H, W), high = white, for every Pillow mode, with its full-scale value."""
    if image.mode in ("F", "I") or image.mode.startswith("I;16"):
        # High-bit-depth data has no agreed white level: stretch its own range to [0, 1].
        values = np.asarray(image).astype(np.float64)
        if not np.isfinite(values).all():
            raise PixelValueError("image has non-finite pixel values")
        low, high = float(values.min()), float(values.max())
        scale = 1.0 / (high - low) if high > low else 0.0
        return ((values - low) * scale).astype(np.float32), 1.0
    if image.mode in ("LAB", "LA", "La"):
        grey = image.getchannel("L")  # LAB's L is lightness; Pillow has no LAB -> RGB
    elif image.mode == "L":
        grey = image
    else:
        try:
            # HSV -> L is not a luminance conversion in Pillow; going through RGB always is.
            grey = image if image.mode in ("1", "P", "RGB", "RGBA") else image.convert("RGB")
            grey = grey.convert("L")
        except ValueError as error:
            raise UnsupportedImageError(f"cannot read pixel mode {image.mode}") from error
    return np.asarray(grey), WHITE


def _ink_is_dark(
    values: NDArray[np.uint8] | NDArray[np.float32], level: float, full_scale: float
) -> bool:
    """Whether the ink is darker than a background at `level` (the border's median).

    A background in the outer quarters of the range decides: light paper, dark ink; a dark
    screen, light ink; unless nothing on that side stands out by MIN_INK_CONTRAST and the
    other side does (white ink on yellow paper, 250 on 220). In the middle half the image's
    extremes decide, the ink being on the side the image reaches further from the background:
    a green sheet (luminance 119 of 255) with red ink (81) was taken for light ink on a dark
    background, and found no ink.
    """
    darker, lighter = level - float(values.min()), float(values.max()) - level
    if abs(level - full_scale / 2) <= full_scale / 4:
        return darker >= lighter
    usual, other = (darker, lighter) if level > full_scale / 2 else (lighter, darker)
    faint = MIN_INK_CONTRAST * full_scale
    flipped = usual < faint <= other
    return (level > full_scale / 2) != flipped


def _background_level(values: NDArray[np.uint8] | NDArray[np.float32]) -> float:
    """The median of the border ring (the upper one for an even count): the background's level."""
    ring = _border(values)
    middle = ring.size // 2
    return float(np.partition(ring, middle)[middle])  # a partial sort is enough for a median


def _border(values: NDArray[ScalarT]) -> NDArray[ScalarT]:
    """The outer ring BORDER_WIDTH px wide, flattened; the whole image if it has no interior."""
    height, width = values.shape
    b = BORDER_WIDTH
    if height <= 2 * b or width <= 2 * b:
        return values.ravel()
    return np.concatenate(
        (
            values[:b].ravel(),
            values[-b:].ravel(),
            values[b:-b, :b].ravel(),
            values[b:-b, -b:].ravel(),
        )
    )


def to_mnist(ink: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Apply the MNIST recipe to an ink map (H, W), ink >= 0 high, any scale: -> (28, 28) uint8.

    Crop to the ink's bounding box, scale the longer side to 20 px (aspect kept; a side never
    shrinks below 1 px), shift by whole pixels so the centre of mass lands on pixel (14, 14)
    as in MNIST, but never so far that ink leaves the frame; stretch so the maximum is 255.
    Strokes thicker or thinner in the box than any MNIST digit's are first worn down or built
    up to an MNIST width (`strokes.normalized_strokes`); all others are left as they are.
    """
    values = np.asarray(ink, dtype=np.float32)
    if values.ndim != 2 or values.size == 0:
        raise PixelValueError(f"ink map must be a non-empty 2-D array, got shape {values.shape}")
    strongest = float(values.max())  # NaN anywhere makes this NaN; -inf is clipped below
    if not np.isfinite(strongest):
        raise PixelValueError("ink map has non-finite values")
    if strongest <= 0.0:
        raise NoInkError("no ink found: draw a digit")

    crop = _crop_to_ink(values, strongest)
    np.maximum(crop, 0.0, out=crop)  # negative ink means nothing (and -inf would poison sums)
    digit = _fit_box(crop)
    # A brush too fat (or too fine) for the digit's size: strokes brought into MNIST's range.
    reshaped = normalized_strokes(crop, digit)
    if reshaped is not None:
        digit = _fit_box(_crop_to_ink(reshaped, float(reshaped.max())))

    peak = float(digit.max())
    if peak <= 0.0:
        raise NoInkError("no ink found: draw a digit")
    # Centre the grey levels the network will see. Ink fainter than half a grey level rounds
    # to 0; had it counted, a haze of it could pull the visible pixels off centre, or hold
    # them against the frame's edge as part of a box wider than what remains.
    grey = np.rint(digit * np.float32(WHITE / peak))
    visible_rows, visible_cols = np.flatnonzero(grey.any(axis=1)), np.flatnonzero(grey.any(axis=0))
    grey = grey[visible_rows[0] : visible_rows[-1] + 1, visible_cols[0] : visible_cols[-1] + 1]
    top, left = _center_of_mass_offset(grey)
    mnist = np.zeros((FRAME, FRAME), dtype=np.uint8)
    mnist[top : top + grey.shape[0], left : left + grey.shape[1]] = grey
    return mnist


def _crop_to_ink(values: NDArray[np.float32], strongest: float) -> NDArray[np.float32]:
    """The bounding box of the ink at least INK_THRESHOLD * strongest, as a contiguous copy (never
    a view: the recipe clips it in place, and must not write into its caller's ink map)."""
    inked = values >= INK_THRESHOLD * strongest
    rows = np.flatnonzero(inked.any(axis=1))
    cols = np.flatnonzero(inked.any(axis=0))
    return values[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()


def many_to_mnist(
    inks: Iterable[NDArray[np.floating]],
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """`to_mnist` for each ink map: ((n, 28, 28) uint8, (n,) which had ink).

    An ink map with no ink gives a blank image and False, not NoInkError.
    """
    return each_to_mnist(inks, to_mnist, NoInkError)


def each_to_mnist(
    items: Iterable[Item],
    read: Callable[[Item], NDArray[np.uint8]],
    refused: type[PreprocessError] = PreprocessError,
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """`read` each item into a 28x28 input: ((n, 28, 28) uint8, (n,) which were read). An item
    `read` refuses with `refused` gives a blank image and False."""
    inputs, ok = [], []
    for item in items:
        try:
            inputs.append(read(item))
            ok.append(True)
        except refused:
            inputs.append(np.zeros((28, 28), np.uint8))
            ok.append(False)
    return np.array(inputs, dtype=np.uint8).reshape(-1, 28, 28), np.array(ok, dtype=bool)


def _fit_box(crop: NDArray[np.float32]) -> NDArray[np.float32]:
    """Resize (h, w) so the longer side is BOX px, aspect kept: -> (<= 20, <= 20), values >= 0."""
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow: (w, h)
    if size == (width, height):
        return crop
    # Shrinking: area averaging. It cannot ring, and on MNIST digits drawn 10x larger it brings
    # them back as faithfully as Lanczos (mean correlation 0.948 vs 0.950) at a seventh of the
    # cost. Enlarging a small drawing: Lanczos, whose ringing below zero is clipped.
    shrinking = scale < 1.0
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.LANCZOS
    resized = np.asarray(Image.fromarray(crop).resize(size, resample), dtype=np.float32)
    return resized if shrinking else np.maximum(resized, 0.0)


def _center_of_mass_offset(digit: NDArray[np.float32]) -> tuple[int, int]:
    """(top, left) placing digit (h, w) so its centre of mass is nearest CENTER_OF_MASS_TARGET."""
    total = float(digit.sum())
    offsets = []
    for axis, side in enumerate(digit.shape):
        profile = digit.sum(axis=1 - axis)  # mass per row (axis 0) or per column (axis 1)
        center = float(profile @ np.arange(side, dtype=np.float32)) / total  # total > 0: ink
        offset = int(np.floor(CENTER_OF_MASS_TARGET - center + 0.5))
        # Clamp to the free margin: a lopsided digit stays whole rather than perfectly centred.
        offsets.append(min(max(offset, 0), FRAME - side))
    return offsets[0], offsets[1]


def image_to_mnist(data: bytes, limits: ImageLimits = ImageLimits()) -> NDArray[np.uint8]:
    """Encoded image bytes -> (28, 28) uint8 MNIST-style digit, ink high."""
    return to_mnist(ink_map(open_image(data, limits)))


_NUMBER_TYPES = (int, float, np.integer, np.floating)
_BOOL_TYPES = (bool, np.bool_)


def pixels_to_mnist(pixels: object) -> NDArray[np.uint8]:
    """Validate a ready-made MNIST-style digit (28x28 or 784 numbers): -> (28, 28) uint8, as is.

    The numbers must be ink-high grey levels in 0..255, already cropped and centred as in MNIST;
    no recipe is applied. Bools and strings are refused; non-integers are rounded to nearest.
    Two honest mistakes are refused rather than read as a faint or a blotted digit: a 0..1 scale
    (no value above 1) and inverted polarity (most pixels inked, as dark ink on white gives).
    """
    values = _pixels_as_array(pixels)
    if not np.isfinite(values).all():
        raise PixelValueError("pixels must be finite numbers (no NaN or infinity)")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > WHITE:
        raise PixelValueError(f"pixels must lie in 0..255; found values from {low:g} to {high:g}")
    if high <= 0.0:
        # Same rule as for images: a blank input is not a digit, so no guess is made.
        raise NoInkError("no ink: every pixel is 0")
    if high <= 1.0:
        raise PixelValueError(
            f"pixels look like a 0..1 scale (the largest is {high:g}); they must be grey levels "
            "0..255: multiply by 255"
        )
    digit = np.rint(values).astype(np.uint8).reshape(FRAME, FRAME)
    inked = int(np.count_nonzero(digit > MOSTLY_INK_LEVEL))
    if inked > digit.size // 2:
        raise PixelValueError(
            f"{inked} of {digit.size} pixels are inked (above {MOSTLY_INK_LEVEL}): the image "
            "looks inverted; ink must be high (a bright digit on a dark background, as in MNIST)"
        )
    return digit


def _pixels_as_array(pixels: object) -> NDArray[np.float64]:
    """A list/tuple/array of pixels as float64 of shape (28, 28) or (784,), else PixelValueError."""
    expected = "pixels must be 28x28 numbers or a flat list of 784"
    if isinstance(pixels, np.ndarray):
        if pixels.dtype.kind not in "iuf":
            raise PixelValueError(f"pixels must be numbers, not {pixels.dtype}")
        if pixels.shape not in ((FRAME, FRAME), (FRAME * FRAME,)):
            raise PixelValueError(f"{expected}; got shape {pixels.shape}")
        return pixels.astype(np.float64)
    if not isinstance(pixels, (list, tuple)):
        raise PixelValueError(f"{expected}; got {type(pixels).__name__}")

    # Check lengths before touching every element, so a huge payload fails fast.
    if len(pixels) == FRAME * FRAME:
        flat: list[object] = list(pixels)  # nested items are refused by the type check below
    elif len(pixels) == FRAME:
        if not all(isinstance(row, (list, tuple)) for row in pixels):
            raise PixelValueError(f"{expected}; got {FRAME} items that are not all rows")
        bad_rows = [len(row) for row in pixels if len(row) != FRAME]
        if bad_rows:
            raise PixelValueError(f"{expected}; got {FRAME} rows, one of length {bad_rows[0]}")
        flat = list(itertools.chain.from_iterable(pixels))
    else:
        first = pixels[0] if pixels else None
        inner = f", {len(first)}" if isinstance(first, (list, tuple)) else ""
        raise PixelValueError(f"{expected}; got shape ({len(pixels)}{inner})")

    # One isinstance check per distinct type, not per element (784 elements, a handful of types).
    for kind in set(map(type, flat)):
        if not issubclass(kind, _NUMBER_TYPES) or issubclass(kind, _BOOL_TYPES):
            raise PixelValueError(f"pixels must be numbers, found {kind.__name__}")
    try:
        return np.array(flat, dtype=np.float64)
    except (OverflowError, ValueError, TypeError) as error:
        raise PixelValueError("pixels must be numbers in 0..255") from error


def normalize(
    pixels: NDArray[np.uint8] | NDArray[np.floating], mean: float, std: float
) -> NDArray[np.float32]:
    """(pixels / 255 - mean) / std as float32, any shape; the one scaling for train, eval, serve."""
    if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
        raise ValueError(f"normalize needs a finite mean and a positive std, got {mean}, {std}")
    # Fused as x * scale - offset in float32: one cast-and-multiply pass plus one in-place
    # subtract, instead of float64 temporaries (the 60000x784 training set is 47M values).
    scale = np.float32(1.0 / (WHITE * std))
    offset = np.float32(mean / std)
    out = np.multiply(pixels, scale, dtype=np.float32)
    out -= offset
    return out

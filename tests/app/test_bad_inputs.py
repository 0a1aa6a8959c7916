"""Hostile and broken input: each answered quickly with the right 4xx and a JSON detail.

One test per bad input named in the "hold up under bad input" issue, through the real app (the
session `client`: shipped weights, default limits). Every request is timed, and every check ends
by asking `GET /healthz`, so a test also fails if the server stopped answering.

Status rules: 400 malformed body or undecodable image; 413 body or image too large; 415
unsupported content type; 422 wrong shape or values, or no ink. Decided behaviours kept here: a
multi-frame image is read by its first frame; 16-bit, CMYK and palette images are decoded; NaN
and Infinity literals in `pixels` are 422 (pydantic's parser accepts them, our range check
refuses them), like any other out-of-range number.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from app.main import create_app
from app.settings import Settings
from tests.conftest import SHIPPED_WEIGHTS

Sample = tuple[np.ndarray, np.ndarray]
Digit = tuple[Image.Image, int]  # a digit on paper, and its label

QUICK_SECONDS = 2.0  # "quickly", with room for a slow CI runner; the real figure is milliseconds
MIB = 1024 * 1024
SINGLE_LIMIT = 2 * MIB  # Settings defaults, restated: the issue fixes these numbers
BATCH_LIMIT = 32 * MIB
FIRST, SECOND = 0, 1  # indices into the MNIST test sample: a 7 and a 2
IMAGE_FORMS = ("raw", "json", "batch")  # raw body, data URL in JSON, instance 1 of a batch


# ------------------------------------------------------------------ images built for the tests
def on_paper(digit: np.ndarray, size: int = 200) -> Image.Image:
    """An MNIST digit as dark ink on white paper, scaled up: mode L, size x size."""
    return Image.fromarray(255 - digit).resize((size, size), Image.Resampling.BILINEAR)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def crafted_png(
    width: int,
    height: int,
    idat: bytes,
    bit_depth: int = 8,
    color_type: int = 0,
    extra: bytes = b"",
) -> bytes:
    """A PNG built from its chunks: IHDR claims width x height, whatever the deflated IDAT holds."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def header_claiming(fmt: str, width: int, height: int) -> bytes:
    """A tiny real image whose header is patched to claim width x height (nothing else changes)."""
    if fmt == "PNG":
        return crafted_png(width, height, zlib.compress(b"\x00" * 4096))
    data = bytearray(encode(Image.new("L", (8, 8), 255), fmt))
    if fmt == "BMP":
        data[18:26] = struct.pack("<ii", width, height)  # BITMAPINFOHEADER width, height
    elif fmt == "GIF":
        data[6:10] = struct.pack("<HH", width, height)  # logical screen size
    elif fmt == "JPEG":
        sof = data.index(b"\xff\xc0")  # start of frame: length, precision, height, width
        data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def multi_frame(first: Image.Image, second: Image.Image, fmt: str) -> bytes:
    """An animation (GIF, APNG, WebP) or a multi-page TIFF: `first`, then `second`."""
    if fmt == "GIF":
        first, second = first.convert("P"), second.convert("P")
    params: dict[str, object] = {"save_all": True, "append_images": [second]}
    if fmt in ("GIF", "PNG", "WEBP"):
        params.update(duration=100, loop=0)
    return encode(first, fmt, **params)


def sixteen_bit_rgb_png(image: Image.Image) -> bytes:
    """A 48-bit RGB PNG (Pillow cannot write one), crafted row by row: filter byte, then pixels."""
    grey = np.asarray(image, dtype=np.uint16) * 257  # 0..255 -> 0..65535
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(">u2")  # (H, W, 3) big-endian
    rows = b"".join(b"\x00" + row.tobytes() for row in rgb)
    return crafted_png(image.width, image.height, zlib.compress(rows), bit_depth=16, color_type=2)


@pytest.fixture(scope="module")
def zeros_deflated() -> bytes:
    """16 MiB of zero bytes deflated to about 16 KiB: the payload of a decompression bomb."""
    return zlib.compress(b"\x00" * (16 * MIB), 9)


@pytest.fixture(scope="module")
def first_digit(test_sample: Sample) -> Digit:
    images, labels = test_sample
    return on_paper(images[FIRST]), int(labels[FIRST])


@pytest.fixture(scope="module")
def second_digit(test_sample: Sample) -> Digit:
    images, labels = test_sample
    return on_paper(images[SECOND]), int(labels[SECOND])


# ------------------------------------------------------------------ sending and checking
class Api:
    """The app through TestClient: every request timed, every answer followed by a health check."""

    def __init__(self, client: TestClient, good_pixels: list[list[int]], good_label: int) -> None:
        self.client = client
        self.good_pixels = good_pixels  # a real digit: instance 0 of every batch sent here
        self.good_label = good_label

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        start = time.perf_counter()
        response: httpx.Response = self.client.post(path, **kwargs)
        elapsed = time.perf_counter() - start
        assert elapsed < QUICK_SECONDS, f"POST {path} took {elapsed:.2f} s"
        return response

    def post_json_text(self, text: str | bytes, path: str = "/api/predict") -> httpx.Response:
        """JSON written by hand (NaN literals, 5,000-digit numbers, hostile nesting)."""
        body = text.encode() if isinstance(text, str) else text
        return self.post(path, content=body, headers={"Content-Type": "application/json"})

    def send_image(self, data: bytes, kind: str, form: str) -> httpx.Response:
        """Encoded image bytes as a raw body, as a data URL in JSON, or as instance 1 of a batch."""
        if form == "raw":
            return self.post("/api/predict", content=data, headers={"Content-Type": kind})
        url = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
        return self.send_item(json.dumps({"image": url}), form)

    def send_item(self, item: str, form: str) -> httpx.Response:
        """One JSON item (`{"image": ...}` or `{"pixels": ...}`, as text) alone or in a batch."""
        if form == "batch":
            good = json.dumps({"pixels": self.good_pixels})
            return self.post_json_text(f'{{"instances": [{good}, {item}]}}', "/api/predict/batch")
        return self.post_json_text(item)

    def send_pixels(self, pixels: str, form: str) -> httpx.Response:
        return self.send_item(f'{{"pixels": {pixels}}}', form)

    def refused(
        self, response: httpx.Response, status: int, fragment: str = "", form: str = ""
    ) -> str:
        """Assert the status and a non-empty JSON detail, then that the server still answers.

        In a batch the detail must name instance 1. Returns the detail as text.
        """
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        detail = response.json()["detail"]
        assert detail, response.text
        text = detail if isinstance(detail, str) else json.dumps(detail)
        assert "Traceback" not in text
        if fragment:
            assert fragment.lower() in text.lower(), text
        if form == "batch":
            assert text.startswith("instances[1]") or '"loc": ["instances", 1' in text, text
        self.still_serving()
        return text

    def read(self, response: httpx.Response, form: str) -> int:
        """Assert a 200 and return the digit read (instance 1's in a batch)."""
        assert response.status_code == 200, response.text
        body = response.json()
        if form == "batch":
            assert [p["digit"] for p in body["predictions"]][:1] == [self.good_label]
            assert len(body["predictions"]) == 2
            body = body["predictions"][1]
        digit = body["digit"]
        self.still_serving()
        return int(digit)

    def still_serving(self) -> None:
        response = self.client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


@pytest.fixture
def api(client: TestClient, test_sample: Sample) -> Api:
    images, labels = test_sample
    return Api(client, images[SECOND].tolist(), int(labels[SECOND]))


def with_odd_pixel(digit: list[list[int]], odd: str, flat: bool = False) -> str:
    """A real digit's pixels as JSON text, pixel (14, 14) written literally as `odd`.

    The rest is a valid digit, so the odd pixel alone decides the answer.
    """
    rows = [[str(value) for value in row] for row in digit]
    rows[14][14] = odd
    if flat:
        return "[" + ", ".join(value for row in rows for value in row) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"


# ------------------------------------------------------------------ decompression bombs
@pytest.mark.parametrize("form", IMAGE_FORMS)
def test_decompression_bomb_is_413(api: Api, zeros_deflated: bytes, form: str) -> None:
    """A 16 KB PNG claiming 100,000 x 100,000 pixels (10 GB decoded) is refused as too large."""
    bomb = crafted_png(100_000, 100_000, zeros_deflated)
    api.refused(api.send_image(bomb, "image/png", form), 413, "too many pixels", form)


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "JPEG"])
@pytest.mark.parametrize(("width", "height"), [(65_535, 65_535), (8_000, 8), (8, 8_000)])
def test_oversized_header_is_refused_before_decoding(
    api: Api, monkeypatch: pytest.MonkeyPatch, fmt: str, width: int, height: int
) -> None:
    """The size comes from the header; no pixel is decoded (ImageFile.load is never called)."""
    loads: list[str | None] = []
    original_load = ImageFile.ImageFile.load

    def counting_load(self: ImageFile.ImageFile) -> object:
        loads.append(self.format)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    response = api.send_image(header_claiming(fmt, width, height), "image/png", "raw")
    text = api.refused(response, 413)
    assert ("too many pixels" in text) or (f"{width}x{height}" in text and "4096" in text)
    assert loads == []
    # The counter does see a real decode: an honest 8x8 image is loaded (then has no ink).
    honest = encode(Image.new("L", (8, 8), 255), fmt)
    api.refused(api.send_image(honest, "image/png", "raw"), 422, "no ink")
    assert set(loads) == {fmt}


def test_decompression_bomb_stays_in_bounded_memory(api: Api, zeros_deflated: bytes) -> None:
    """Python-level allocations (request, JSON, NumPy) peak far below the 10 GB the bomb claims.

    tracemalloc does not see Pillow's own C buffers; that no pixel buffer is ever allocated is
    what test_oversized_header_is_refused_before_decoding shows.
    """
    bomb = crafted_png(100_000, 100_000, zeros_deflated)
    tracemalloc.start()
    try:
        response = api.send_image(bomb, "image/png", "raw")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    api.refused(response, 413)
    assert peak < 50 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_png_whose_data_inflates_past_its_header_is_read_in_bounded_time(
    api: Api, zeros_deflated: bytes
) -> None:
    """A 64x64 PNG whose IDAT inflates to 16 MiB: the decoder stops at 64x64 (all black: no ink)."""
    bomb = crafted_png(64, 64, zeros_deflated)
    api.refused(api.send_image(bomb, "image/png", "raw"), 422, "no ink")


def test_png_metadata_bomb_is_400(api: Api, zeros_deflated: bytes, first_digit: Digit) -> None:
    """A zTXt chunk inflating to 16 MiB: Pillow refuses it (MAX_TEXT_CHUNK) as unreadable."""
    image, label = first_digit
    rows = b"".join(b"\x00" + row.tobytes() for row in np.asarray(image))  # filter 0, then pixels
    clean = crafted_png(image.width, image.height, zlib.compress(rows))
    assert api.read(api.send_image(clean, "image/png", "raw"), "raw") == label
    comment = png_chunk(b"zTXt", b"Comment\x00\x00" + zeros_deflated)
    bomb = crafted_png(image.width, image.height, zlib.compress(rows), extra=comment)
    api.refused(api.send_image(bomb, "image/png", "raw"), 400, "not a readable image")


# ------------------------------------------------------------------ broken and unusual images
@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_truncated_image_is_400(
    api: Api, first_digit: Digit, fmt: str, kind: str, form: str
) -> None:
    image, _label = first_digit
    whole = encode(image, fmt)
    api.refused(api.send_image(whole[: len(whole) // 2], kind, form), 400, "not a readable", form)


@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("GIF", "image/gif"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("TIFF", "image/tiff")],
    ids=["animated-gif", "apng", "animated-webp", "multi-page-tiff"],
)
def test_multi_frame_image_is_read_by_its_first_frame(
    api: Api, first_digit: Digit, second_digit: Digit, fmt: str, kind: str, form: str
) -> None:
    (first, first_label), (second, second_label) = first_digit, second_digit
    assert first_label != second_label
    data = multi_frame(first, second, fmt)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert api.read(api.send_image(data, kind, form), form) == first_label


@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize("container", ["grey-png", "grey-tiff", "rgb-png"])
def test_16_bit_image_is_decoded(api: Api, first_digit: Digit, container: str, form: str) -> None:
    image, label = first_digit
    if container == "rgb-png":
        data, kind = sixteen_bit_rgb_png(image), "image/png"
    else:
        wide = Image.fromarray(np.asarray(image, dtype=np.uint16) * 257)  # mode I;16
        fmt, kind = ("PNG", "image/png") if container == "grey-png" else ("TIFF", "image/tiff")
        data = encode(wide, fmt)
    opened = Image.open(io.BytesIO(data))
    assert opened.mode in ("I;16", "I;16B", "RGB")
    assert api.read(api.send_image(data, kind, form), form) == label


@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize(("fmt", "kind"), [("JPEG", "image/jpeg"), ("TIFF", "image/tiff")])
def test_cmyk_image_is_decoded(
    api: Api, first_digit: Digit, fmt: str, kind: str, form: str
) -> None:
    image, label = first_digit
    data = encode(image.convert("CMYK"), fmt)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert api.read(api.send_image(data, kind, form), form) == label


@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize(
    ("fmt", "kind"), [("PNG", "image/png"), ("GIF", "image/gif"), ("BMP", "image/bmp")]
)
def test_palette_image_is_decoded(
    api: Api, first_digit: Digit, fmt: str, kind: str, form: str
) -> None:
    image, label = first_digit
    data = encode(image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE), fmt)
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert api.read(api.send_image(data, kind, form), form) == label


@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1"])
def test_1x1_image_is_422_no_ink(api: Api, mode: str, form: str) -> None:
    data = encode(Image.new(mode, (1, 1)), "PNG")
    api.refused(api.send_image(data, "image/png", form), 422, "no ink", form)


@pytest.mark.parametrize("form", IMAGE_FORMS)
@pytest.mark.parametrize(("width", "height"), [(10_000, 1), (1, 10_000)])
def test_10000x1_image_is_413(api: Api, width: int, height: int, form: str) -> None:
    data = encode(Image.new("L", (width, height), 255), "PNG")
    text = api.refused(api.send_image(data, "image/png", form), 413, "at most 4096", form)
    assert f"{width}x{height}" in text


def test_image_side_limit_is_inclusive(api: Api) -> None:
    """4096 px is allowed (decoded: uniform, so no ink), 4097 px is too large."""
    at_limit = encode(Image.new("L", (4096, 2), 255), "PNG")
    over_limit = encode(Image.new("L", (4097, 2), 255), "PNG")
    api.refused(api.send_image(at_limit, "image/png", "raw"), 422, "no ink")
    api.refused(api.send_image(over_limit, "image/png", "raw"), 413, "4097x2")


NON_IMAGES = {
    "text": b"hello, this is certainly not a picture of a digit\n" * 8,
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "random": np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><path d="M1 1"/></svg>',
    "png-signature-only": b"\x89PNG\r\n\x1a\n",
    # A real image in a format the server will not decode (Pillow reads PPM, we do not allow it).
    "ppm": b"P5\n28 28\n255\n" + bytes(28 * 28),
}


@pytest.mark.parametrize("kind", ["image/png", "image/jpeg", "application/octet-stream"])
@pytest.mark.parametrize("name", list(NON_IMAGES))
def test_non_image_bytes_under_image_type_are_400(api: Api, name: str, kind: str) -> None:
    api.refused(api.send_image(NON_IMAGES[name], kind, "raw"), 400, "not a readable image")


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize("name", ["text", "random", "ppm"])
def test_non_image_bytes_in_a_data_url_are_400(api: Api, name: str, form: str) -> None:
    response = api.send_image(NON_IMAGES[name], "image/png", form)
    api.refused(response, 400, "not a readable image", form)


# ------------------------------------------------------------------ base64 and data URLs
@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!!",
        "AAA",  # bad padding
        "iVBORw0KGgo=AAAA",  # data after the padding
        "data:image/png;base64,@@@@",
        "data:image/png;base64,iVBOR\u00e9w0KGgo=",  # non-ASCII
        "data:image/png,iVBORw0KGgo=",  # a data URL without ;base64
    ],
)
def test_invalid_base64_is_400(api: Api, text: str, form: str) -> None:
    api.refused(api.send_item(json.dumps({"image": text}), form), 400, "base64", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize(
    "kind", ["text/plain", "text/html", "application/pdf", "image/svg+xml", ""]
)
def test_data_url_of_other_media_type_is_415(api: Api, kind: str, form: str) -> None:
    url = f"data:{kind};base64," + base64.b64encode(b"<b>7</b>").decode()
    api.refused(api.send_item(json.dumps({"image": url}), form), 415, "not an image", form)


# ------------------------------------------------------------------ pixel arrays
@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize("value", ["0", "255", "254.6", "1e2"])
def test_pixels_at_the_edges_of_the_range_are_read(api: Api, value: str, form: str) -> None:
    """The control for the tests below: the same digit with an ordinary odd pixel is a 200."""
    response = api.send_pixels(with_odd_pixel(api.good_pixels, value), form)
    assert api.read(response, form) == api.good_label


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize("flat", [True, False], ids=["flat", "nested"])
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_pixels_are_422(api: Api, literal: str, flat: bool, form: str) -> None:
    pixels = with_odd_pixel(api.good_pixels, literal, flat)
    api.refused(api.send_pixels(pixels, form), 422, "finite", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize("value", ["-1", "-0.5", "-1e-9", "-255"])
def test_negative_pixels_are_422(api: Api, value: str, form: str) -> None:
    api.refused(api.send_pixels(with_odd_pixel(api.good_pixels, value), form), 422, "0..255", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize("value", ["256", "255.5", "1000", "65535"])
def test_over_range_pixels_are_422(api: Api, value: str, form: str) -> None:
    api.refused(api.send_pixels(with_odd_pixel(api.good_pixels, value), form), 422, "0..255", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize("value", ["true", "false", '"12"', "null", "{}", "[]"])
def test_non_numeric_pixels_are_422(api: Api, value: str, form: str) -> None:
    """JSON booleans and numeric strings are not numbers (no lax coercion to 1.0 or 12.0)."""
    api.refused(api.send_pixels(with_odd_pixel(api.good_pixels, value), form), 422, "", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize(
    "pixels",
    [
        [[[0] * 28] * 28],  # one level too deep
        [[[0]] * 28] * 28,  # every pixel wrapped in a list
        [[0] * 784],  # a 1x784 grid
        7,  # a bare number
        [[0] * 28] * 27 + [0],  # 27 rows and a number
    ],
    ids=["3-deep", "pixels-in-lists", "1x784", "scalar", "rows-then-number"],
)
def test_pixels_of_wrong_depth_are_422(api: Api, pixels: object, form: str) -> None:
    api.refused(api.send_pixels(json.dumps(pixels), form), 422, "", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize(
    "pixels",
    [
        [0] * 783,
        [0] * 785,
        [],
        [[0] * 28] * 27,
        [[0] * 28] * 29,
        [[0] * 27] * 28,
        [[0] * 29] * 28,
        [[0] * 28] * 27 + [[0] * 29],
    ],
    ids=["783", "785", "empty", "27-rows", "29-rows", "27-columns", "29-columns", "ragged"],
)
def test_pixels_of_wrong_length_are_422(api: Api, pixels: object, form: str) -> None:
    api.refused(api.send_pixels(json.dumps(pixels), form), 422, "28x28", form)


@pytest.mark.parametrize("form", ["json", "batch"])
@pytest.mark.parametrize(
    "number",
    ["1e400", "-1e400", "1.8e308", "9" * 400, "-" + "9" * 400, "9" * 5000, "1" + "0" * 20_000],
    ids=["1e400", "-1e400", "1.8e308", "400-digits", "minus-400-digits", "5000-digits", "20001-d"],
)
def test_huge_numbers_are_422(api: Api, number: str, form: str) -> None:
    # The JSON parser gives up on integers over 4,300 digits before any instance is validated:
    # the detail then gives a line and column instead of the instance.
    parsed = len(number.lstrip("-")) <= 4300
    detail = api.refused(
        api.send_pixels(with_odd_pixel(api.good_pixels, number), form), 422, "", form * parsed
    )
    assert parsed or "number out of range" in detail


@pytest.mark.parametrize("path", ["/api/predict", "/api/predict/batch"])
@pytest.mark.parametrize(
    ("opening", "closing"),
    [('{"pixels": ' + "[" * 100_000, "]" * 100_000 + "}"), ('{"a": ' * 50_000, "}" * 50_000)],
    ids=["100000-nested-lists", "50000-nested-objects"],
)
def test_deeply_nested_json_is_400(api: Api, path: str, opening: str, closing: str) -> None:
    response = api.post_json_text(opening + "0" + closing, path)
    api.refused(response, 400, "malformed json")


def test_moderately_nested_pixels_are_422(api: Api) -> None:
    """Nesting under the parser's limit is well-formed JSON of the wrong shape."""
    api.refused(api.send_pixels("[" * 20 + "0" + "]" * 20, "json"), 422)


# ------------------------------------------------------------------ content types and bodies
@pytest.mark.parametrize("path", ["/api/predict", "/api/predict/batch"])
@pytest.mark.parametrize(
    "kind",
    [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/xml",
        "text/html",
        None,
    ],
)
def test_wrong_content_type_is_415(api: Api, path: str, kind: str | None) -> None:
    headers = {"Content-Type": kind} if kind else {}
    body = b'{"pixels": [0]}'
    api.refused(api.post(path, content=body, headers=headers), 415, "json")


def test_image_body_to_batch_is_415(api: Api, first_digit: Digit) -> None:
    image, _label = first_digit
    data = encode(image, "PNG")
    response = api.post("/api/predict/batch", content=data, headers={"Content-Type": "image/png"})
    api.refused(response, 415, "application/json")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/predict", "application/json"),
        ("/api/predict", "image/png"),
        ("/api/predict", "application/octet-stream"),
        ("/api/predict/batch", "application/json"),
    ],
)
def test_empty_body_is_400(api: Api, path: str, kind: str) -> None:
    api.refused(api.post(path, content=b"", headers={"Content-Type": kind}), 400, "empty")


@pytest.mark.parametrize(
    "path",
    [
        "/api/predict",
        "/api/predict/batch",
        "/api/explain",
        "/api/adversarial?target=3",
        "/api/number",
        "/api/examples?label=3",
    ],
)
def test_a_bare_post_lacks_a_body_not_a_type(api: Api, path: str) -> None:
    """`curl -X POST URL`: no Content-Type and nothing sent is 400 empty_body (it was a 415
    naming the type 'none'); a body sent without a type is still a 415."""
    response = api.post(path)
    api.refused(response, 400, "empty")
    assert response.json()["code"] == "empty_body"
    assert api.post(path, content=b"abc").status_code == 415


# ------------------------------------------------------------------ size limits
@pytest.mark.parametrize("form", ["raw", "json"])
def test_body_over_2_mib_is_413(api: Api, form: str) -> None:
    if form == "raw":
        body = b"\x89PNG\r\n\x1a\n" + b"\x00" * SINGLE_LIMIT
        response = api.post("/api/predict", content=body, headers={"Content-Type": "image/png"})
    else:
        response = api.post_json_text('{"image": "' + "A" * SINGLE_LIMIT + '"}')
    api.refused(response, 413, "limit")


def test_body_at_2_mib_is_read(api: Api) -> None:
    """A body of exactly the limit is read and judged on its content (here: wrong shape)."""
    text = '{"pixels": [0]}'
    body = text.encode() + b" " * (SINGLE_LIMIT - len(text))
    assert len(body) == SINGLE_LIMIT
    response = api.post("/api/predict", content=body, headers={"Content-Type": "application/json"})
    api.refused(response, 422, "28x28")


def test_streamed_body_over_limit_is_413(api: Api) -> None:
    """Without a Content-Length (chunked upload), the limit holds while the body streams in."""

    def chunks() -> Iterator[bytes]:
        for _ in range(3 * 16):
            yield b"\x00" * (64 * 1024)

    response = api.post("/api/predict", content=chunks(), headers={"Content-Type": "image/png"})
    api.refused(response, 413, "limit")


def test_batch_body_over_32_mib_is_413(api: Api) -> None:
    body = b'{"instances": [' + b" " * BATCH_LIMIT + b"]}"
    response = api.post(
        "/api/predict/batch", content=body, headers={"Content-Type": "application/json"}
    )
    api.refused(response, 413, "limit")


def test_batch_body_between_the_limits_is_read(api: Api) -> None:
    """A batch may be bigger than one prediction's 2 MiB: 3 MiB (mostly whitespace) is fine."""
    text = json.dumps({"instances": [{"pixels": api.good_pixels}]})
    body = text.encode() + b" " * (3 * MIB)
    response = api.post(
        "/api/predict/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 1
    api.still_serving()


def test_batch_over_2000_instances_is_413(api: Api) -> None:
    instances = ",".join(['{"pixels": [0]}'] * 2001)
    response = api.post_json_text(f'{{"instances": [{instances}]}}', "/api/predict/batch")
    api.refused(response, 413, "2001 instances")


def test_pillow_bomb_guard_backs_up_lax_settings(zeros_deflated: bytes) -> None:
    """Even with the side and pixel limits raised, Pillow's own bomb check still answers 413."""
    settings = Settings(weights=SHIPPED_WEIGHTS, max_image_side=1_000_000, max_image_pixels=10**12)
    with TestClient(create_app(settings)) as lax:
        api = Api(lax, [[0] * 28] * 28, good_label=-1)  # only raw bodies are sent
        response = api.send_image(crafted_png(100_000, 100_000, zeros_deflated), "image/png", "raw")
        api.refused(response, 413, "too many pixels")

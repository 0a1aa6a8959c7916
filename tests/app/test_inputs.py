"""Where an image is decoded: quick PNGs in place on the event loop, anything else in a thread.

`decodes_quickly` decides from the bytes alone; through the real app, the decision changes
neither the answer nor the errors, and a slow image still leaves /healthz answering at once.
"""

from __future__ import annotations

import base64
import io
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import app.inputs
from app.inputs import QUICK_PNG_BYTES, decodes_quickly
from app.main import create_app
from app.settings import Settings
from tests.app.conftest import canvas_png, data_url
from tests.conftest import SHIPPED_WEIGHTS

Sample = tuple[np.ndarray, np.ndarray]
Gates = tuple[threading.Event, threading.Event]  # (decoding started, release the decode)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_with(extra_chunks: bytes, width: int = 280, height: int = 280, bit_depth: int = 8) -> bytes:
    """A blank greyscale PNG with `extra_chunks` between its header and its pixels."""
    channels = bit_depth // 8 or 1
    rows = b"".join(b"\x00" + bytes(width * channels) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra_chunks
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


# ------------------------------------------------------------------ the decision, from the bytes
def test_a_canvas_drawing_decodes_quickly(test_sample: Sample) -> None:
    assert decodes_quickly(canvas_png(test_sample[0][0]))
    assert decodes_quickly(canvas_png(test_sample[0][0], size=28))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("JPEG", encode(Image.new("L", (280, 280), 255), "JPEG")),
        ("GIF", encode(Image.new("L", (280, 280), 255), "GIF")),
        ("more pixels than 320x320", png_with(b"", width=321, height=320)),
        ("16 bits per sample", png_with(b"", bit_depth=16)),
        ("compressed text", png_with(png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"v")))),
        ("international text", png_with(png_chunk(b"iTXt", b"k\x00\x00\x00\x00\x00v"))),
        ("ICC profile", png_with(png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(b"icc")))),
        ("EXIF", png_with(png_chunk(b"eXIf", b"II*\x00\x08\x00\x00\x00\x00\x00"))),
        ("too many chunks", png_with(png_chunk(b"tEXt", b"k\x00v") * 20)),
        ("over the byte limit", png_with(png_chunk(b"tEXt", b"k\x00" + b"v" * QUICK_PNG_BYTES))),
        ("header only", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10),
        ("first chunk not IHDR", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IDAT", b"\x00" * 30)),
        ("empty", b""),
    ],
)
def test_other_input_goes_to_a_thread(name: str, data: bytes) -> None:
    assert not decodes_quickly(data), name


def test_a_few_small_ancillary_chunks_are_still_quick() -> None:
    assert decodes_quickly(png_with(png_chunk(b"tEXt", b"k\x00v") * 3 + png_chunk(b"gAMA", b"x")))


# ------------------------------------------------------------------ through the app
@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions app.inputs hands to a worker thread, request by request."""
    hops: list[str] = []
    real = app.inputs.run_in_threadpool

    async def recording(function: Callable[..., Any], *args: Any) -> Any:
        hops.append(function.__name__)
        return await real(function, *args)

    monkeypatch.setattr(app.inputs, "run_in_threadpool", recording)
    return hops


def test_drawings_and_pixels_are_read_in_place(
    client: TestClient, test_sample: Sample, thread_hops: list[str]
) -> None:
    images, labels = test_sample
    png = canvas_png(images[1])
    requests: list[dict[str, Any]] = [
        {"content": png, "headers": {"Content-Type": "image/png"}},
        {"json": {"image": data_url(png)}},
        {"json": {"image": base64.b64encode(png).decode()}},
        {"json": {"pixels": images[1].tolist()}},
    ]
    for request in requests:
        response = client.post("/api/predict", **request)
        assert response.status_code == 200, response.text
        assert response.json()["digit"] == labels[1]
    assert thread_hops == []


def test_big_images_are_decoded_in_a_thread_with_the_same_answer(
    client: TestClient, test_sample: Sample, thread_hops: list[str]
) -> None:
    images, _ = test_sample
    small, big = canvas_png(images[1], size=280), canvas_png(images[1], size=600)
    answers = []
    for png in (small, big):
        for request in (
            {"content": png, "headers": {"Content-Type": "image/png"}},
            {"json": {"image": data_url(png)}},
        ):
            response = client.post("/api/predict", **request)  # type: ignore[arg-type]
            assert response.status_code == 200, response.text
            answers.append(response.json()["input"])
    assert thread_hops == ["raw_image_to_pixels"] * 2  # the 600x600 ones only
    np.testing.assert_allclose(answers[0], answers[2], atol=16)  # the same digit, drawn larger
    assert answers[0] == answers[1]
    assert answers[2] == answers[3]


def test_long_base64_is_decoded_in_the_thread_too(
    client: TestClient, thread_hops: list[str]
) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (300, 300), dtype=np.uint8)
    png = encode(Image.fromarray(noise), "PNG")  # incompressible: about 90 KB
    assert len(png) > QUICK_PNG_BYTES
    response = client.post("/api/predict", json={"image": data_url(png)})
    assert response.status_code in (200, 422), response.text  # noise may or may not read as ink
    assert thread_hops == ["item_to_pixels"]  # base64 and image decoded off the event loop


@pytest.mark.parametrize(
    ("data", "status", "fragment"),
    [
        (png_with(b"")[:60], 400, "not a readable image"),  # truncated, but looks quick
        (png_with(b""), 422, "no ink"),
        (png_with(b"", width=321, height=320), 422, "no ink"),  # the same, in a thread
        (png_with(b"", width=5000, height=1), 413, "at most 4096"),
    ],
)
def test_errors_are_the_same_in_place_or_in_a_thread(
    client: TestClient, data: bytes, status: int, fragment: str
) -> None:
    for request in (
        {"content": data, "headers": {"Content-Type": "image/png"}},
        {"json": {"image": data_url(data)}},
    ):
        response = client.post("/api/predict", **request)  # type: ignore[arg-type]
        assert response.status_code == status, response.text
        assert fragment in response.json()["detail"]


@pytest.fixture
def slow_decoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gates]:
    """Every image decode waits for `release` (after setting `started`), up to 10 s."""
    started, release = threading.Event(), threading.Event()
    real = app.inputs.image_to_mnist

    def slow(data: bytes, limits: Any) -> np.ndarray:
        started.set()
        release.wait(10)
        return real(data, limits)

    monkeypatch.setattr(app.inputs, "image_to_mnist", slow)
    yield started, release
    release.set()


def test_a_slow_image_leaves_healthz_answering(test_sample: Sample, slow_decoding: Gates) -> None:
    started, release = slow_decoding
    big = canvas_png(test_sample[0][1], size=600)  # not quick: decoded in a worker thread
    answers: list[httpx.Response] = []
    with TestClient(create_app(Settings(weights=SHIPPED_WEIGHTS))) as client:
        sender = threading.Thread(
            target=lambda: answers.append(
                client.post("/api/predict", content=big, headers={"Content-Type": "image/png"})
            )
        )
        sender.start()
        assert started.wait(10)
        begin = time.perf_counter()
        health = client.get("/healthz")
        waited = time.perf_counter() - begin
        release.set()
        sender.join(10)
    assert health.status_code == 200
    assert waited < 2.0  # not the 10 s the decode is held for
    assert answers[0].status_code == 200

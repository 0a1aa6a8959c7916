"""API test fixtures: the real app, through its lifespan, around the shipped weights."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings
from model.data.mnist import load_mnist
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(weights=SHIPPED_WEIGHTS))) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def test_sample() -> tuple[np.ndarray, np.ndarray]:
    """The committed sample of the MNIST test set: (1000, 28, 28) uint8, (1000,) labels."""
    return load_mnist(SAMPLE_DIR, "test")


def canvas_png(digit: np.ndarray, size: int = 280) -> bytes:
    """An MNIST digit as a browser canvas would export it: dark ink on a transparent background."""
    ink = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = np.asarray(ink)  # alpha carries the ink; colour stays black
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

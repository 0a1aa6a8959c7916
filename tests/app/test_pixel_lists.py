"""JSON `pixels` through the real app: two honest mistakes get a 422 that says what to do.

A list on a 0..1 scale would otherwise be read as a digit drawn in grey levels 0 and 1, and an
inverted one (dark ink on white) as a blot covering the frame: both give a confident answer
to the wrong question.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response

Sample = tuple[np.ndarray, np.ndarray]


def detail_of(response: Response, status: int) -> str:
    """The response's `detail`, after checking its status."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    return detail


@pytest.mark.parametrize("path", ["/api/predict", "/api/explain"])
@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_a_0_to_1_scale_is_422_saying_multiply_by_255(
    client: TestClient, test_sample: Sample, path: str, shape: str
) -> None:
    scaled = test_sample[0][0] / 255.0
    pixels = scaled.tolist() if shape == "nested" else scaled.ravel().tolist()
    detail = detail_of(client.post(path, json={"pixels": pixels}), 422)
    assert "0..1 scale" in detail
    assert "multiply by 255" in detail


def test_a_mask_of_zeros_and_ones_is_a_0_to_1_scale(
    client: TestClient, test_sample: Sample
) -> None:
    mask = (test_sample[0][0] > 127).astype(int).tolist()
    assert "multiply by 255" in detail_of(client.post("/api/predict", json={"pixels": mask}), 422)


def test_an_inverted_digit_is_422_saying_ink_must_be_high(
    client: TestClient, test_sample: Sample
) -> None:
    inverted = (255 - test_sample[0][0]).tolist()  # dark ink on white, as paper and PNGs have it
    detail = detail_of(client.post("/api/predict", json={"pixels": inverted}), 422)
    assert "inverted" in detail
    assert "ink must be high" in detail


def test_a_batch_names_the_instance_with_the_mistake(
    client: TestClient, test_sample: Sample
) -> None:
    good = {"pixels": test_sample[0][0].tolist()}
    bad = {"pixels": (test_sample[0][1] / 255.0).tolist()}
    response = client.post("/api/predict/batch", json={"instances": [good, bad]})
    detail = detail_of(response, 422)
    assert detail.startswith("instances[1]")
    assert "multiply by 255" in detail


def test_the_attack_refuses_them_too(client: TestClient, test_sample: Sample) -> None:
    inverted = (255 - test_sample[0][0]).tolist()
    response = client.post("/api/adversarial", json={"pixels": inverted, "target": 3})
    assert "inverted" in detail_of(response, 422)


def test_all_zeros_is_still_no_ink(client: TestClient) -> None:
    assert "no ink" in detail_of(client.post("/api/predict", json={"pixels": [0] * 784}), 422)
    assert "no ink" in detail_of(client.post("/api/predict", json={"pixels": [0.0] * 784}), 422)


def test_half_the_frame_inked_is_still_a_digit_but_more_is_not(client: TestClient) -> None:
    """The boldest of MNIST's 70,000 digits inks 40% of its frame above 127."""
    half = [200] * 392 + [0] * 392
    assert client.post("/api/predict", json={"pixels": half}).status_code == 200
    more = [200] * 393 + [0] * 391
    assert "393 of 784" in detail_of(client.post("/api/predict", json={"pixels": more}), 422)


def test_faint_but_0_to_255_pixels_are_read(client: TestClient, test_sample: Sample) -> None:
    faint = np.rint(test_sample[0][0] / 255.0 * 2.0).tolist()  # grey levels 0..2: faint, not 0..1
    assert client.post("/api/predict", json={"pixels": faint}).status_code == 200


def test_the_schema_says_what_pixels_are_refused(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]
    description = body["schema"]["properties"]["pixels"]["description"]
    assert "0..1 scale" in description
    assert "multiply by 255" in description
    assert "more than half the pixels above 127" in description
    assert "no ink" in description

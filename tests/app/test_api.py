"""The JSON API through the real app: every input form and every error status."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings
from model.evaluation.metrics import evaluate
from model.files import load_weights
from tests.app.conftest import canvas_png, data_url
from tests.conftest import SHIPPED_WEIGHTS

Sample = tuple[np.ndarray, np.ndarray]


def assert_prediction(body: dict, digit: int | None = None) -> None:
    assert set(body) == {"digit", "confidence", "probabilities", "verdict", "input"}
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-9)
    assert body["confidence"] == max(body["probabilities"])
    assert body["digit"] == int(np.argmax(body["probabilities"]))
    pixels = np.array(body["input"])
    assert pixels.shape == (28, 28)
    assert pixels.min() >= 0
    assert pixels.max() <= 255
    if digit is not None:
        assert body["digit"] == digit


# ------------------------------------------------------------------ happy paths
def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_model_info(client: TestClient) -> None:
    info = client.get("/api/model").json()
    assert info["layer_sizes"][0] == 784
    assert info["layer_sizes"][-1] == 10
    assert info["parameter_count"] == sum(
        a * b + b for a, b in zip(info["layer_sizes"], info["layer_sizes"][1:], strict=False)
    )
    assert 0.12 < info["normalization"]["mean"] < 0.14
    assert info["test_accuracy"] >= 0.985
    assert len(info["weights_sha256"]) == 64
    assert info["trained_at"]


def test_pixels_nested_are_used_as_is(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    response = client.post("/api/predict", json={"pixels": images[0].tolist()})
    assert response.status_code == 200
    body = response.json()
    assert_prediction(body, int(labels[0]))
    assert body["input"] == images[0].tolist()


def test_pixels_flat(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    response = client.post("/api/predict", json={"pixels": images[1].reshape(-1).tolist()})
    assert response.status_code == 200
    assert_prediction(response.json(), int(labels[1]))


def test_image_as_data_url(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    response = client.post("/api/predict", json={"image": data_url(canvas_png(images[2]))})
    assert response.status_code == 200
    assert_prediction(response.json(), int(labels[2]))


@pytest.mark.parametrize("prefix", ["DATA:IMAGE/PNG;BASE64,", "Data:Image/Png;Base64,"])
def test_data_urls_are_case_insensitive(
    client: TestClient, test_sample: Sample, prefix: str
) -> None:
    # RFC 2397: scheme, media type and "base64" may be written in any case.
    images, labels = test_sample
    url = prefix + base64.b64encode(canvas_png(images[2])).decode()
    response = client.post("/api/predict", json={"image": url})
    assert response.status_code == 200, response.text
    assert_prediction(response.json(), int(labels[2]))


def test_image_as_bare_base64(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    encoded = base64.b64encode(canvas_png(images[3])).decode()
    response = client.post("/api/predict", json={"image": encoded})
    assert response.status_code == 200
    assert_prediction(response.json(), int(labels[3]))


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("GIF", "image/gif"),
    ],
)
def test_raw_image_body_dark_on_light(
    client: TestClient, test_sample: Sample, fmt: str, kind: str
) -> None:
    images, labels = test_sample
    paper = Image.fromarray(255 - images[4]).resize((200, 200), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, format=fmt)
    response = client.post(
        "/api/predict", content=buffer.getvalue(), headers={"Content-Type": kind}
    )
    assert response.status_code == 200, response.text
    assert_prediction(response.json(), int(labels[4]))


def test_batch_keeps_order(client: TestClient, test_sample: Sample) -> None:
    images, _labels = test_sample
    instances = [{"pixels": images[i].tolist()} for i in range(5)]
    instances.append({"image": data_url(canvas_png(images[5]))})
    response = client.post("/api/predict/batch", json={"instances": instances})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 6
    for _i, prediction in enumerate(predictions):
        assert_prediction(prediction)
    assert [p["input"] for p in predictions[:5]] == [images[i].tolist() for i in range(5)]


def test_batch_accuracy_equals_evaluate(client: TestClient, test_sample: Sample) -> None:
    """The API and `digits evaluate` share one pipeline, so they agree digit for digit."""
    images, labels = test_sample
    instances = [{"pixels": image.tolist()} for image in images]
    response = client.post("/api/predict/batch", json={"instances": instances})
    assert response.status_code == 200
    api_digits = np.array([p["digit"] for p in response.json()["predictions"]])
    network, metadata = load_weights(SHIPPED_WEIGHTS)
    norm = metadata["normalization"]
    report = evaluate(network, images, labels, norm["mean"], norm["std"])
    assert float((api_digits == labels).mean()) == report["accuracy"]
    assert report["accuracy"] >= 0.98


def test_batch_of_1000_is_allowed(client: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    instances = [{"pixels": images[i % len(images)].tolist()} for i in range(1000)]
    response = client.post("/api/predict/batch", json={"instances": instances})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1000


# ------------------------------------------------------------------ errors
def post_json(client: TestClient, payload: object, path: str = "/api/predict"):
    return client.post(path, json=payload)


def assert_error(response, status: int, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail
    if fragment:
        assert fragment in str(detail).lower()


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/api/predict", content=b'{"pixels": [1, 2', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "malformed json")


def test_empty_body_is_400(client: TestClient) -> None:
    response = client.post("/api/predict", content=b"", headers={"Content-Type": "image/png"})
    assert_error(response, 400, "empty")


def test_invalid_base64_is_400(client: TestClient) -> None:
    assert_error(post_json(client, {"image": "not base64 at all!!"}), 400, "base64")


def test_undecodable_image_is_400(client: TestClient) -> None:
    garbage = base64.b64encode(b"this is not an image" * 10).decode()
    assert_error(post_json(client, {"image": garbage}), 400)


def test_data_url_of_other_media_type_is_415(client: TestClient) -> None:
    url = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    assert_error(post_json(client, {"image": url}), 415, "not an image")


@pytest.mark.parametrize(
    "media_type",
    [
        "image/png",
        "image/gif",
        "image/jpg",
        "application/octet-stream",
        "image/svg+xml",
        "text/html",
    ],
)
def test_data_url_and_raw_body_agree_on_media_types(client: TestClient, media_type: str) -> None:
    # The same PNG bytes, declared as the same type, sent both ways: the same status.
    png = canvas_png(np.zeros((28, 28), np.uint8))  # decodes, then 422: no ink
    url = f"data:{media_type};base64," + base64.b64encode(png).decode()
    as_url = post_json(client, {"image": url})
    raw = client.post("/api/predict", content=png, headers={"Content-Type": media_type})
    assert as_url.status_code == raw.status_code
    assert as_url.status_code == (415 if media_type in ("image/svg+xml", "text/html") else 422)


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    response = client.post("/api/predict", content=b"7", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "content type")


def test_body_over_limit_is_413() -> None:
    app = create_app(Settings(weights=SHIPPED_WEIGHTS, max_body_bytes=1000))
    with TestClient(app) as small:
        response = small.post(
            "/api/predict", content=b"\x89PNG" + b"0" * 2000, headers={"Content-Type": "image/png"}
        )
    assert_error(response, 413, "limit")


def test_image_dimensions_over_limit_are_413() -> None:
    app = create_app(Settings(weights=SHIPPED_WEIGHTS, max_image_side=100))
    buffer = io.BytesIO()
    Image.new("L", (101, 50), 255).save(buffer, format="PNG")
    with TestClient(app) as small:
        response = small.post(
            "/api/predict", content=buffer.getvalue(), headers={"Content-Type": "image/png"}
        )
    assert_error(response, 413)


@pytest.mark.parametrize(
    "pixels",
    [[[0] * 28] * 27, [0] * 783, [[[0] * 28] * 28], [[0] * 27] * 28, []],
    ids=["27-rows", "783-flat", "too-deep", "27-columns", "empty"],
)
def test_wrong_pixel_shape_is_422(client: TestClient, pixels: object) -> None:
    assert_error(post_json(client, {"pixels": pixels}), 422)


@pytest.mark.parametrize("bad", [-1, 256, 1e300], ids=["negative", "over-255", "huge"])
def test_out_of_range_pixels_are_422(client: TestClient, bad: float) -> None:
    pixels = [[0] * 28 for _ in range(28)]
    pixels[3][4] = bad  # type: ignore[call-overload]
    assert_error(post_json(client, {"pixels": pixels}), 422)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_pixels_are_422(client: TestClient, literal: bytes) -> None:
    body = b'{"pixels": [' + b", ".join([b"0"] * 783 + [literal]) + b"]}"
    response = client.post(
        "/api/predict", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text


def test_no_ink_is_422(client: TestClient) -> None:
    blank = np.zeros((280, 280, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blank, "RGBA").save(buffer, format="PNG")
    assert_error(post_json(client, {"image": data_url(buffer.getvalue())}), 422, "no ink")


def test_both_or_neither_input_is_422(client: TestClient) -> None:
    assert_error(post_json(client, {"image": "AAAA", "pixels": [0] * 784}), 422, "exactly one")
    assert_error(post_json(client, {}), 422, "exactly one")


def test_blank_pixels_are_no_ink_422(client: TestClient) -> None:
    assert_error(post_json(client, {"pixels": [0] * 784}), 422, "no ink")


def test_batch_error_names_the_instance(client: TestClient, test_sample: Sample) -> None:
    good = {"pixels": test_sample[0][0].tolist()}
    response = post_json(client, {"instances": [good, {"pixels": [0] * 5}]}, "/api/predict/batch")
    assert_error(response, 422, "instances[1]")


def test_batch_over_item_limit_is_413() -> None:
    app = create_app(Settings(weights=SHIPPED_WEIGHTS, max_batch_items=3))
    with TestClient(app) as small:
        response = small.post("/api/predict/batch", json={"instances": [{"pixels": [0] * 784}] * 4})
    assert_error(response, 413, "limit")


def test_empty_batch_is_422(client: TestClient) -> None:
    assert_error(post_json(client, {"instances": []}, "/api/predict/batch"), 422)


def test_openapi_declares_every_error(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/api/predict", "/api/predict/batch"):
        responses = schema["paths"][path]["post"]["responses"]
        assert {"200", "400", "413", "415", "422"} <= set(responses), path
    content = schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "image/png", "image/jpeg"} <= set(content)


def test_server_keeps_answering_after_errors(client: TestClient) -> None:
    client.post("/api/predict", content=b"\x00" * 100, headers={"Content-Type": "image/png"})
    assert client.get("/healthz").status_code == 200


def test_schema_examples_really_work(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]
    examples = body["schema"]["examples"]
    assert len(examples) == 2
    for example in examples:
        response = client.post("/api/predict", json=example)
        assert response.status_code == 200, response.text
        assert response.json()["digit"] == 1


def test_health_answers_head_as_probes_send_it(client: TestClient) -> None:
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""
    assert client.get("/healthz").json() == {"status": "ok"}

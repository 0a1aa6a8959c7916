"""Every JSON error carries a stable `code` beside `detail`; a batch names each bad instance;
image/jpg is JPEG (app/errors.py, app/inputs.py, the handlers in app/main.py)."""

from __future__ import annotations

import base64
import io
import typing
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from PIL import Image

from app.errors import CODES, ApiError, ErrorCode, code_for_status, error_code
from app.main import create_app
from app.settings import Settings
from app.store import ProfileFullError
from model.serving.preprocess import NoInkError
from tests.app.conftest import canvas_png, data_url
from tests.conftest import SHIPPED_WEIGHTS

Sample = tuple[np.ndarray, np.ndarray]
BLANK = {"pixels": [0] * 784}
GIF = {"Content-Type": "image/gif"}
TEXT = {"Content-Type": "text/plain"}


def code_of(response: httpx.Response, status: int) -> str:
    """Assert the status and an error body of exactly `detail` and `code`; return the code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}, body
    assert body["detail"]
    code: str = body["code"]
    return code


def jpeg(digit: np.ndarray) -> bytes:
    """An MNIST digit as a phone would send it: dark ink on white, JPEG, 140x140."""
    buffer = io.BytesIO()
    Image.fromarray(255 - digit).resize((140, 140)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


# ------------------------------------------------------------------ the codes
def test_every_code_is_listed_once_with_its_meaning() -> None:
    assert set(CODES) == set(typing.get_args(ErrorCode))
    assert all(code.isidentifier() and code == code.lower() for code in CODES)
    assert all(meaning for meaning in CODES.values())


def test_a_status_alone_gets_a_generic_code() -> None:
    assert code_for_status(400) == "bad_request"
    assert code_for_status(404) == "not_found"
    assert code_for_status(409) == "conflict"
    assert code_for_status(422) == "invalid_input"
    assert code_for_status(429) == "too_many_requests"
    assert code_for_status(503) == "service_unavailable"
    assert code_for_status(599) == "http_599"


def test_an_error_raised_from_a_model_or_store_error_gets_its_code() -> None:
    """Routes that raise a plain HTTPException from a NoInkError, a store error, ..."""

    def raised(status: int, cause: Exception) -> HTTPException:
        try:
            try:
                raise cause
            except Exception:
                raise HTTPException(status, str(cause)) from None
        except HTTPException as error:
            return error

    assert error_code(raised(422, NoInkError("no ink found: draw a digit"))) == "no_ink"
    assert error_code(raised(429, ProfileFullError("full"))) == "profile_full"
    assert error_code(HTTPException(404, "unknown profile")) == "unknown_profile"
    assert error_code(HTTPException(404, "Not Found")) == "not_found"
    assert error_code(ApiError(400, "bad_image", "x")) == "bad_image"


def test_the_schema_documents_the_code(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ErrorResponse"]
    assert schema["required"] == ["detail", "code"]
    for code in CODES:
        assert f"`{code}`" in schema["properties"]["code"]["description"]


# ------------------------------------------------------------------ codes on the wire
@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        ({"json": BLANK}, 422, "no_ink"),
        ({"json": {"pixels": [0] * 5}}, 422, "invalid_input"),
        ({"json": {}}, 422, "invalid_input"),
        ({"json": {"image": "not base64!!"}}, 400, "bad_image"),
        ({"content": b"GIF89a nonsense", "headers": GIF}, 400, "bad_image"),
        ({"content": b"7", "headers": TEXT}, 415, "unsupported_media_type"),
        ({"json": {"image": "data:text/html;base64,PGI+"}}, 415, "unsupported_media_type"),
        ({"content": b'{"pixels": [', "headers": {"Content-Type": "application/json"}}, 400,
         "malformed_json"),
        ({"content": b"", "headers": {"Content-Type": "image/png"}}, 400, "empty_body"),
        ({"content": b"x" * (2 * 1024 * 1024 + 1), "headers": {"Content-Type": "image/png"}}, 413,
         "too_large"),
    ],
    ids=["no-ink", "pixels", "schema", "base64", "not-an-image", "media-type", "data-url",
         "json", "empty", "too-large"],
)  # fmt: skip
def test_predict_errors_carry_their_code(
    client: TestClient, request_args: dict[str, Any], status: int, code: str
) -> None:
    assert code_of(client.post("/api/predict", **request_args), status) == code


def test_a_drawing_without_ink_is_no_ink_everywhere(client: TestClient) -> None:
    blank = canvas_png(np.zeros((28, 28), dtype=np.uint8))
    url = {"image": data_url(blank)}
    assert code_of(client.post("/api/predict", json=url), 422) == "no_ink"
    assert code_of(client.post("/api/explain", json=url), 422) == "no_ink"
    assert code_of(client.post("/api/number", json=url), 422) == "no_ink"
    assert code_of(client.post("/api/predict/batch", json={"instances": [url]}), 422) == "no_ink"


def test_routing_errors_carry_their_code(client: TestClient) -> None:
    assert code_of(client.get("/api/no-such-thing"), 404) == "not_found"
    assert code_of(client.get("/api/predict"), 405) == "method_not_allowed"
    # A path parameter FastAPI validates itself (RequestValidationError).
    assert code_of(client.get("/api/profiles/" + "x" * 65), 422) == "invalid_input"
    assert code_of(client.post("/api/adversarial", json={**BLANK, "target": 11}), 422) == (
        "invalid_input"
    )


def test_store_errors_carry_their_code(tmp_path: Path, test_sample: Sample) -> None:
    (tmp_path / "file").write_text("in the way")
    broken = Settings(weights=SHIPPED_WEIGHTS, database=str(tmp_path / "file" / "db.sqlite3"))
    with TestClient(create_app(broken)) as client:
        assert code_of(client.post("/api/profiles"), 503) == "store_unavailable"
    working = Settings(weights=SHIPPED_WEIGHTS, database=str(tmp_path / "db.sqlite3"))
    with TestClient(create_app(working)) as client:
        assert code_of(client.get("/api/profiles/AAAAAAAAAAAAAAAAAAAAAA"), 404) == (
            "unknown_profile"
        )
        example = {"pixels": test_sample[0][0].tolist(), "label": 7, "profile": "nope"}
        assert code_of(client.post("/api/examples", json=example), 404) == "unknown_profile"


# ------------------------------------------------------------------ a batch with several bad
def test_a_batch_names_every_bad_instance_and_why(client: TestClient, test_sample: Sample) -> None:
    good = {"pixels": test_sample[0][0].tolist()}
    bad_base64 = {"image": "not base64!!"}
    response = client.post(
        "/api/predict/batch", json={"instances": [good, BLANK, bad_base64, good, BLANK]}
    )
    assert code_of(response, 422) == "invalid_input"  # different reasons
    assert response.json()["detail"] == (
        "3 instances refused: instances[1]: no ink: every pixel is 0; "
        "instances[2]: invalid base64 in 'image'; instances[4]: no ink: every pixel is 0"
    )


def test_a_batch_of_one_kind_of_mistake_keeps_its_code(client: TestClient) -> None:
    response = client.post("/api/predict/batch", json={"instances": [BLANK, BLANK]})
    assert code_of(response, 422) == "no_ink"
    assert response.json()["detail"].startswith("2 instances refused: instances[0]: no ink")


def test_a_batch_lists_twenty_bad_instances_then_counts_the_rest(client: TestClient) -> None:
    response = client.post("/api/predict/batch", json={"instances": [BLANK] * 25})
    detail = response.json()["detail"]
    assert code_of(response, 422) == "no_ink"
    assert detail.startswith("25 instances refused: instances[0]: ")
    assert "instances[19]: " in detail
    assert "instances[20]" not in detail
    assert detail.endswith("; and 5 more")


def test_one_bad_instance_keeps_its_own_status_and_code(client: TestClient) -> None:
    response = client.post(
        "/api/predict/batch", json={"instances": [{"image": "not base64!!"}, {"image": "A"}]}
    )
    assert code_of(response, 422) == "bad_image"  # two: one 422 listing both
    response = client.post("/api/predict/batch", json={"instances": [{"image": "not base64!!"}]})
    assert code_of(response, 400) == "bad_image"
    assert response.json()["detail"] == "instances[0]: invalid base64 in 'image'"


# ------------------------------------------------------------------ image/jpg
@pytest.mark.parametrize("kind", ["image/jpg", "image/JPG", "image/jpg; charset=binary"])
def test_image_jpg_is_read_as_jpeg(client: TestClient, test_sample: Sample, kind: str) -> None:
    images, labels = test_sample
    body = jpeg(images[0])
    assert body.startswith(b"\xff\xd8\xff")  # a real JPEG
    response = client.post("/api/predict", content=body, headers={"Content-Type": kind})
    assert response.status_code == 200, response.text
    assert response.json()["digit"] == labels[0]
    explained = client.post("/api/explain", content=body, headers={"Content-Type": kind})
    assert explained.status_code == 200, explained.text


def test_image_jpg_reaches_every_image_route(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    headers = {"Content-Type": "image/jpg"}
    number = client.post("/api/number", content=jpeg(images[0]), headers=headers)
    assert number.status_code == 200, number.text
    assert number.json()["number"] == str(labels[0])
    # A data URL of that type was already fine; it still is.
    url = "data:image/jpg;base64," + base64.b64encode(jpeg(images[0])).decode()
    assert client.post("/api/predict", json={"image": url}).json()["digit"] == labels[0]


@pytest.mark.parametrize(
    "path", ["/", "/model", "/docs", "/favicon.ico", "/api/model", "/api/model/report", "/healthz"]
)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    # Uptime and link checkers ask with HEAD.
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.content == b""


def test_head_on_a_path_without_get_is_405(client: TestClient) -> None:
    response = client.head("/api/predict")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "query"),
    [("/api/predict", "profile=a&profile=b"), ("/api/adversarial", "target=1&target=2")],
)
def test_a_query_parameter_the_route_reads_given_twice_is_422(
    client: TestClient, path: str, query: str
) -> None:
    body = {"pixels": [0] * 784, "target": 1}
    response = client.post(f"{path}?{query}", json=body)
    assert response.status_code == 422
    assert "given more than once" in response.json()["detail"]


def test_a_repeated_query_parameter_no_route_reads_is_left_alone(client: TestClient) -> None:
    assert client.get("/api/model?utm=1&utm=2").status_code == 200
    assert client.get("/?utm=1&utm=2").status_code == 200

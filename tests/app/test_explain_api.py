"""Looking inside through the API: /api/explain, /api/adversarial and /api/model/report.

Same input forms and error rules as /api/predict; the saliency that comes out of the HTTP path
is checked against central finite differences of the served model, and the attack against the
MNIST test sample.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from model.nn.mlp import MLP
from model.serving.predictor import Predictor
from tests.app.conftest import canvas_png, data_url
from tests.conftest import (
    SHIPPED_WEIGHTS,
    numerical_gradient,
    relative_error,
    shipped_layer_sizes,
)

Sample = tuple[np.ndarray, np.ndarray]
ENDPOINTS = ("/api/explain", "/api/adversarial")
ATTACKED = 30  # MNIST test digits attacked through the API
EPSILON = 64  # the default


def payload(path: str, **item: Any) -> dict[str, Any]:
    """A JSON body for `path`: the image fields, plus a target for the attack."""
    return {**item, "target": 3} if path == "/api/adversarial" else item


def grid(value: Any) -> np.ndarray:
    array = np.array(value)
    assert array.shape == (28, 28)
    return array


# ------------------------------------------------------------------ /api/explain
def test_explain_shapes(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    response = client.post("/api/explain", json={"pixels": images[0].tolist()})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "digit",
        "probabilities",
        "verdict",
        "saliency",
        "grad_x_input",
        "activations",
    }
    assert body["digit"] == labels[0]
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-9)
    assert body["digit"] == int(np.argmax(body["probabilities"]))
    saliency, grad_x_input = grid(body["saliency"]), grid(body["grad_x_input"])
    assert np.abs(saliency).max() > 0
    # grad x input is the saliency times the pixel: zero off the ink.
    np.testing.assert_allclose(grad_x_input, saliency * images[0], rtol=1e-4, atol=1e-9)
    assert (grad_x_input[images[0] == 0] == 0).all()
    assert [len(layer) for layer in body["activations"]] == shipped_layer_sizes()[1:-1]
    assert min(min(layer) for layer in body["activations"]) >= 0  # after ReLU


def test_explain_agrees_with_predict_for_every_input_form(
    client: TestClient, test_sample: Sample
) -> None:
    images, _ = test_sample
    png = canvas_png(images[1])
    requests = [
        {"json": {"pixels": images[1].tolist()}},
        {"json": {"pixels": images[1].reshape(-1).tolist()}},
        {"json": {"image": data_url(png)}},
        {"json": {"image": base64.b64encode(png).decode()}},
        {"content": png, "headers": {"Content-Type": "image/png"}},
    ]
    for request in requests:
        predicted = client.post("/api/predict", **request).json()  # type: ignore[arg-type]
        explained = client.post("/api/explain", **request).json()  # type: ignore[arg-type]
        assert explained["digit"] == predicted["digit"]
        assert explained["probabilities"] == pytest.approx(predicted["probabilities"], abs=1e-12)


@pytest.fixture(scope="module")
def float64_client() -> Iterator[tuple[TestClient, Predictor]]:
    """The app around a small random float64 network, so finite differences are exact enough."""
    network = MLP([784, 32, 16, 10], rng=np.random.default_rng(7), dtype=np.float64)
    metadata = {"normalization": {"mean": 0.13, "std": 0.31}}
    predictor = Predictor(network, metadata, Path("float64.npz"), sha256="0" * 64)
    with TestClient(create_app(Settings(weights=SHIPPED_WEIGHTS), predictor=predictor)) as client:
        yield client, predictor


def test_saliency_through_the_api_matches_finite_differences(
    float64_client: tuple[TestClient, Predictor], test_sample: Sample
) -> None:
    client, predictor = float64_client
    image = test_sample[0][2]
    body = client.post("/api/explain", json={"pixels": image.tolist()}).json()
    digit = body["digit"]
    pixels = image.astype(np.float64)

    def class_score() -> float:
        """The predicted digit's logit, computed from the pixels independently of the app."""
        x = ((pixels / 255 - predictor.mean) / predictor.std).reshape(1, -1)
        return float(predictor.network.forward(x)[0, digit])

    numeric = numerical_gradient(class_score, pixels, eps=1e-3)
    analytic = grid(body["saliency"])
    assert relative_error(analytic, numeric) < 1e-4  # the API sends 5 significant figures
    np.testing.assert_allclose(grid(body["grad_x_input"]), numeric * image, rtol=1e-3, atol=1e-12)


# ------------------------------------------------------------------ /api/adversarial
def test_attack_shapes_and_bounds(client: TestClient, test_sample: Sample) -> None:
    images, labels = test_sample
    response = client.post("/api/adversarial", json={"pixels": images[0].tolist(), "target": 3})
    assert response.status_code == 200
    body = response.json()
    assert {"digit", "probabilities", "original_digit", "perturbed", "linf"} <= set(body)
    assert body["original_digit"] == labels[0]
    perturbed = grid(body["perturbed"])
    assert perturbed.dtype.kind == "i"
    assert perturbed.min() >= 0
    assert perturbed.max() <= 255
    change = np.abs(perturbed - images[0].astype(int)).max()
    assert body["linf"] == change
    assert 0 < body["linf"] <= EPSILON
    assert body["digit"] == int(np.argmax(body["probabilities"]))


def test_attack_reaches_the_target_on_most_test_digits(
    client: TestClient, test_sample: Sample
) -> None:
    """Every attacked digit: within epsilon, and exactly what /api/predict says for it."""
    images, labels = test_sample
    reached = 0
    for image, label in zip(images[:ATTACKED], labels[:ATTACKED], strict=True):
        target = (int(label) + 1 + int(label) % 9) % 10  # some other digit, varied
        assert target != label
        body = client.post(
            "/api/adversarial", json={"pixels": image.tolist(), "target": target}
        ).json()
        assert body["linf"] <= EPSILON
        again = client.post("/api/predict", json={"pixels": body["perturbed"]}).json()
        assert again["digit"] == body["digit"], "perturbed, sent back, must read the same"
        assert again["probabilities"] == pytest.approx(body["probabilities"], abs=1e-12)
        reached += body["digit"] == target
    assert reached >= 0.8 * ATTACKED, f"reached the target on {reached} of {ATTACKED}"


def test_smaller_epsilon_and_fewer_steps_are_respected(
    client: TestClient, test_sample: Sample
) -> None:
    image = test_sample[0][0]
    body = client.post(
        "/api/adversarial",
        json={"pixels": image.tolist(), "target": 3, "epsilon": 8, "steps": 2},
    ).json()
    assert body["linf"] <= 8
    assert body["steps_taken"] <= 2


def test_attack_towards_the_current_digit_changes_nothing(
    client: TestClient, test_sample: Sample
) -> None:
    images, labels = test_sample
    body = client.post(
        "/api/adversarial", json={"pixels": images[0].tolist(), "target": int(labels[0])}
    ).json()
    assert body["digit"] == body["original_digit"] == labels[0]
    assert body["linf"] == 0
    assert body["steps_taken"] == 0
    assert body["perturbed"] == images[0].tolist()


def test_attack_on_a_raw_image_body_takes_its_options_from_the_query(
    client: TestClient, test_sample: Sample
) -> None:
    png = canvas_png(test_sample[0][0])
    headers = {"Content-Type": "image/png"}
    body = client.post("/api/adversarial?target=3&epsilon=40", content=png, headers=headers)
    assert body.status_code == 200
    assert body.json()["linf"] <= 40
    assert body.json()["digit"] == 3

    missing = client.post("/api/adversarial", content=png, headers=headers)
    assert missing.status_code == 422
    assert "target" in missing.json()["detail"]


# ------------------------------------------------------------------ errors, as for /api/predict
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"target": 10}, "target"),
        ({"target": -1}, "target"),
        ({"target": "3"}, "target"),
        ({"target": True}, "target"),
        ({"target": 3.5}, "target"),
        ({"target": 3, "epsilon": -1}, "epsilon"),
        ({"target": 3, "epsilon": 256}, "epsilon"),
        ({"target": 3, "epsilon": 32.5}, "epsilon"),
        ({"target": 3, "steps": 0}, "steps"),
        ({"target": 3, "steps": "20"}, "steps"),
        ({}, "target"),
    ],
)
def test_bad_attack_options_are_422(
    client: TestClient, test_sample: Sample, extra: dict[str, Any], field: str
) -> None:
    response = client.post("/api/adversarial", json={"pixels": test_sample[0][0].tolist(), **extra})
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


@pytest.mark.parametrize(("option", "value", "limit"), [("epsilon", 129, 128), ("steps", 51, 50)])
def test_attack_options_over_the_server_limits_are_422(
    client: TestClient, test_sample: Sample, option: str, value: int, limit: int
) -> None:
    body = {"pixels": test_sample[0][0].tolist(), "target": 3, option: value}
    response = client.post("/api/adversarial", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == f"{option} {value} is over the limit of {limit}"
    # At the limit it runs.
    response = client.post("/api/adversarial", json={**body, option: limit})
    assert response.status_code == 200


def test_attack_limits_come_from_settings(test_sample: Sample) -> None:
    settings = Settings(weights=SHIPPED_WEIGHTS, max_attack_epsilon=16, max_attack_steps=5)
    with TestClient(create_app(settings)) as client:
        pixels = test_sample[0][0].tolist()
        over = client.post("/api/adversarial", json={"pixels": pixels, "target": 3})
        assert over.status_code == 422  # the default epsilon, 64, is over this server's 16
        ok = client.post(
            "/api/adversarial", json={"pixels": pixels, "target": 3, "epsilon": 16, "steps": 5}
        )
        assert ok.status_code == 200
        assert ok.json()["linf"] <= 16


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"content": b"", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": {"image": "%%%not base64%%%"}}, 400),
        ({"json": {"image": base64.b64encode(b"not an image").decode()}}, 400),
        ({"content": b"not an image", "headers": {"Content-Type": "image/png"}}, 400),
        ({"json": {"image": "data:text/plain;base64,aGVsbG8="}}, 415),
        ({"content": b"pixels", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": {"pixels": [[0] * 28] * 28}}, 422),  # no ink
        ({"json": {"pixels": [1, 2, 3]}}, 422),
        ({"json": {"pixels": [[300] * 28] * 28}}, 422),
        ({"json": {"image": "aGVsbG8=", "pixels": [0] * 784}}, 422),
        ({"json": {"nothing": 1}}, 422),
    ],
)
def test_errors_are_those_of_predict(
    client: TestClient, path: str, request_kwargs: dict[str, Any], status: int
) -> None:
    predict = client.post("/api/predict", **request_kwargs)
    if "json" in request_kwargs:
        request_kwargs = {"json": payload(path, **request_kwargs["json"])}
    elif path == "/api/adversarial":
        path += "?target=3"
    response = client.post(path, **request_kwargs)
    assert response.status_code == predict.status_code == status
    assert "detail" in response.json()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_body_over_limit_is_413(path: str) -> None:
    settings = Settings(weights=SHIPPED_WEIGHTS, max_body_bytes=1000)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            path + "?target=3",
            content=b"\x89PNG" + b"\0" * 2000,
            headers={"Content-Type": "image/png"},
        )
    assert response.status_code == 413


def test_openapi_declares_both_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ENDPOINTS:
        operation = paths[path]["post"]
        assert {"200", "400", "413", "415", "422"} <= set(operation["responses"])
        content = operation["requestBody"]["content"]
        assert {"application/json", "image/png", "image/jpeg"} <= set(content)
        assert "$ref" not in str(content)
    attack_json = paths["/api/adversarial"]["post"]["requestBody"]["content"]["application/json"]
    properties = attack_json["schema"]["properties"]
    assert properties["target"]["minimum"] == 0
    assert properties["target"]["maximum"] == 9
    assert properties["epsilon"]["default"] == EPSILON
    assert properties["steps"]["default"] == 20
    assert attack_json["schema"]["required"] == ["target"]
    query = {p["name"] for p in paths["/api/adversarial"]["post"]["parameters"]}
    assert query == {"target", "epsilon", "steps"}
    assert "/api/model/report" in paths


# ------------------------------------------------------------------ /api/model/report
def test_model_report(client: TestClient) -> None:
    report = client.get("/api/model/report").json()
    sizes = shipped_layer_sizes()
    assert report["layer_sizes"] == sizes
    assert [layer["parameters"] for layer in report["layers"]] == [
        a * b + b for a, b in itertools.pairwise(sizes)
    ]
    assert sum(layer["parameters"] for layer in report["layers"]) == report["parameter_count"]

    curves = report["curves"]
    epochs = len(curves["epoch"])
    assert epochs == report["config"]["epochs"]
    for key in ("train_loss", "train_accuracy", "val_accuracy", "learning_rate"):
        assert len(curves[key]) == epochs
    assert [len(series) for series in curves["grad_norms"]] == [epochs] * (len(sizes) - 1)

    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10)
    assert confusion.sum() == 10_000  # the MNIST test set
    assert np.trace(confusion) / 10_000 == pytest.approx(report["test_accuracy"])
    assert len(report["per_class_accuracy"]) == 10

    assert report["mistakes"]
    for mistake in report["mistakes"]:
        assert grid(mistake["pixels"]).max() > 0
        assert mistake["true"] != mistake["predicted"]
    confidences = [m["confidence"] for m in report["mistakes"]]
    assert confidences == sorted(confidences, reverse=True)

    first = report["first_layer"]
    units = shipped_layer_sizes()[1]
    assert first["units"] == units
    assert first["side"] == 28
    pictures = np.frombuffer(base64.b64decode(first["pixels_b64"]), dtype=np.uint8)
    assert pictures.size == units * 28 * 28
    assert len(first["scale"]) == units
    assert set(report["data_sha256"]) >= {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"}


def test_first_layer_pictures_decode_to_the_weights(
    float64_client: tuple[TestClient, Predictor],
) -> None:
    client, predictor = float64_client
    first = client.get("/api/model/report").json()["first_layer"]
    pictures = np.frombuffer(base64.b64decode(first["pixels_b64"]), dtype=np.uint8)
    pictures = pictures.reshape(first["units"], 784).astype(np.float64)
    scale = np.array(first["scale"])[:, None]
    decoded = (pictures - 128) / 127 * scale  # (units, 784)
    weights = predictor.network.dense[0].parameters["W"].T
    inside = np.abs(weights) <= scale * (1 - 1e-3)  # the rest is clipped, by design
    assert inside.mean() > 0.95
    np.testing.assert_allclose(decoded[inside], weights[inside], atol=float(scale.max()) / 120)


def test_report_of_a_file_without_history_is_empty_not_an_error(
    float64_client: tuple[TestClient, Predictor],
) -> None:
    client, _ = float64_client
    report = client.get("/api/model/report")
    assert report.status_code == 200
    body = report.json()
    assert body["curves"] is None
    assert body["confusion"] is None
    assert body["mistakes"] == []
    page = client.get("/model")
    assert page.status_code == 200
    assert "Not recorded in this weight file" in page.text
    assert "This weight file records no training history." in page.text
    assert re.search(r'data-testid="curves"\s+data-state="empty"', page.text)
    assert "<svg" not in page.text


def test_model_page_renders_the_architecture_and_config(client: TestClient) -> None:
    response = client.get("/model")
    assert response.status_code == 200
    html = response.text
    sizes = shipped_layer_sizes()
    parameters = [a * b + b for a, b in itertools.pairwise(sizes)]
    accuracy = client.get("/api/model").json()["test_accuracy"]
    for text in [f"{p:,}" for p in (*parameters, sum(parameters))] + [f"{accuracy:.2%}", "cosine"]:
        assert text in html
    for testid in ("curves", "confusion", "mistakes", "weights-grid"):
        assert f'data-testid="{testid}"' in html
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_model_page_brings_the_training_curves_drawn_on_the_server(client: TestClient) -> None:
    html = client.get("/model").text
    box = re.search(r'<div class="charts" id="curves".*?\n    </div>', html, re.DOTALL)
    assert box is not None
    curves = box.group(0)
    assert 'data-state="ready"' in curves
    titles = re.findall(r"<figcaption><strong>(.*?)</strong></figcaption>", curves)
    assert titles == ["Loss", "Accuracy", "Gradient norms", "Learning rate"]
    assert curves.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart training-chart"') == 4
    assert "<style" not in curves
    assert " style=" not in curves
    epochs = len(client.get("/api/model/report").json()["curves"]["epoch"])
    assert curves.count("<circle ") == epochs * (1 + 2 + len(shipped_layer_sizes()) - 1 + 1)
    assert "training loss (cross-entropy), epoch 1: " in curves
    assert "dense0 (784→" in curves  # the legend names each layer with its shape
    best = client.get("/api/model/report").json()["best_epoch"]
    assert curves.count(f'<g class="kept" data-epoch="{best}">') == 4


def test_model_page_draws_its_curves_once_per_model(client: TestClient) -> None:
    from app.routes import pages

    first = client.get("/model").text  # draws the curves, unless an earlier test did
    before = pages._training_charts.cache_info()
    second = client.get("/model").text
    after = pages._training_charts.cache_info()
    assert first == second
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_an_attack_whose_query_disagrees_with_its_json_body_is_422(
    client: TestClient, test_sample: Sample
) -> None:
    images, _ = test_sample
    body = {"pixels": images[0].tolist(), "target": 3}
    clash = client.post("/api/adversarial?target=4", json=body)
    assert clash.status_code == 422
    assert "'target' differs" in clash.json()["detail"]
    assert client.post("/api/adversarial?target=3", json=body).status_code == 200
    steps = client.post("/api/adversarial?steps=2", json=body)  # the body leaves steps out
    assert steps.status_code == 200
    assert steps.json()["steps_taken"] <= 2

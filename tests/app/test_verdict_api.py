"""The verdict through the real app: on /api/predict, each batch item and /api/explain, the five
drawings the issue names, what /api/model says, the OpenAPI schema and `digits predict`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.main import create_app
from app.settings import Settings
from model.data.canvas import png_bytes, png_data_url, render_drawing
from model.files import save_weights
from model.nn.mlp import MLP
from tests.app.conftest import canvas_png, data_url

Sample = tuple[np.ndarray, np.ndarray]
VERDICTS = {"digit", "not_a_digit", "several_digits"}


def pad_png(strokes: list[list[tuple[float, float]]], pen: float = 20.0) -> bytes:
    """Strokes in pad px drawn where they are, as the page's 280x280 PNG."""
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    every = np.concatenate(arrays)
    low, high = every.min(axis=0), every.max(axis=0)
    height = max(float(high[1] - low[1]), 1e-3 * float((high - low).max()))
    centre = (low + high) / 2
    return png_bytes(
        render_drawing(
            arrays, height_px=height, pen_width=pen, centre_xy=(float(centre[0]), float(centre[1]))
        )
    )


ZIGZAG = [(60.0 + 160.0 * (k % 2), 70.0 + 18.0 * k) for k in range(9)]
# The issue's examples, drawn on the pad: what the network read them as before the verdict.
DRAWINGS = {
    "11": (pad_png([[(105, 50), (103, 230)], [(175, 50), (173, 230)]]), "several_digits"),  # a 4
    "a tap": (pad_png([[(140, 140)]]), "not_a_digit"),  # a 0
    "a dash": (pad_png([[(90, 150), (190, 146)]]), "not_a_digit"),  # a 5
    "a scribble": (pad_png([ZIGZAG], pen=24), "not_a_digit"),  # a 5 or an 8
    # Dots only (model.serving.dots): the classifier called a colon a digit, read as 4.
    "a colon": (pad_png([[(140, 90)], [(140, 190)]]), "not_a_digit"),
    "an ellipsis": (pad_png([[(70, 140)], [(140, 140)], [(210, 140)]]), "not_a_digit"),
    # The classifier called this one "several digits" (three pieces in a row).
    "a bold ellipsis": (pad_png([[(60, 140)], [(140, 140)], [(220, 140)]], pen=36), "not_a_digit"),
    "an i": (pad_png([[(140, 60)], [(140, 110), (140, 230)]]), "digit"),  # a stroke and a dot
}


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_the_issues_drawings_get_the_right_verdict(client: TestClient, name: str) -> None:
    png, expected = DRAWINGS[name]
    response = client.post("/api/predict", json={"image": png_data_url(png)})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == expected
    assert len(body["probabilities"]) == 10  # the reading is still there, unchanged in form
    assert body["confidence"] == max(body["probabilities"])


def test_all_784_pixels_lit_is_not_a_digit(client: TestClient) -> None:
    """Sent as `pixels`. The recipe may refuse a mostly-inked frame as inverted (422); when it
    reads it, the verdict must say it is no digit. A frame lit at grey 100 is read either way."""
    response = client.post("/api/predict", json={"pixels": [[255] * 28] * 28})
    if response.status_code == 200:
        assert response.json()["verdict"] == "not_a_digit"
    else:
        assert response.status_code == 422
    grey = client.post("/api/predict", json={"pixels": [[100] * 28] * 28})
    assert grey.status_code == 200
    assert grey.json()["verdict"] == "not_a_digit"


def test_real_digits_are_digits(client: TestClient, test_sample: Sample) -> None:
    """MNIST test digits as canvas PNGs: at most 1 in 100 refused (the classifier's budget for
    real digits is 1%: the shipped one refuses one of these, an odd 5 with a detached flag),
    and a refused digit is still read."""
    images, labels = test_sample
    verdicts, read = [], []
    for image, label in zip(images[:100], labels[:100], strict=True):
        body = client.post("/api/predict", json={"image": data_url(canvas_png(image))}).json()
        verdicts.append(body["verdict"])
        read.append(body["digit"] == label)
    assert sum(verdict != "digit" for verdict in verdicts) <= 1
    assert sum(read) >= 99


def test_every_batch_item_carries_its_own_verdict(client: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    instances = [
        {"pixels": images[0].tolist()},
        {"image": png_data_url(DRAWINGS["a tap"][0])},
        {"image": png_data_url(DRAWINGS["11"][0])},
        {"pixels": images[1].tolist()},
    ]
    response = client.post("/api/predict/batch", json={"instances": instances})
    assert response.status_code == 200
    verdicts = [p["verdict"] for p in response.json()["predictions"]]
    assert verdicts == ["digit", "not_a_digit", "several_digits", "digit"]
    # A batch and single requests agree.
    for instance, verdict in zip(instances, verdicts, strict=True):
        assert client.post("/api/predict", json=instance).json()["verdict"] == verdict


def test_explain_carries_the_verdict(client: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    digit = client.post("/api/explain", json={"pixels": images[0].tolist()}).json()
    assert digit["verdict"] == "digit"
    tap = client.post("/api/explain", json={"image": png_data_url(DRAWINGS["a tap"][0])})
    assert tap.status_code == 200
    assert tap.json()["verdict"] == "not_a_digit"


def test_model_info_describes_the_verdict_classifier(client: TestClient) -> None:
    verdict = client.get("/api/model").json()["verdict"]
    assert verdict["available"] is True
    assert set(verdict["thresholds"]) == {"not_a_digit", "several_digits"}
    view = verdict["digit_view"]
    assert verdict["layer_sizes"][0] == 784 + len(verdict["features"]) + view["hidden"] + 10
    assert verdict["fits_network"] is True
    assert verdict["layer_sizes"][-1] == 3
    assert verdict["rates"]["refused"]["digit/writers"] <= 0.0125


def test_a_weight_file_without_a_verdict_says_so(tmp_path: Path, test_sample: Sample) -> None:
    path = tmp_path / "old.npz"
    save_weights(path, MLP([784, 16, 10]), {"normalization": {"mean": 0.13, "std": 0.31}})
    with TestClient(create_app(Settings(weights=path))) as client:
        verdict = client.get("/api/model").json()["verdict"]
        assert verdict["available"] is False
        assert "no verdict classifier" in verdict["detail"]
        body = client.post("/api/predict", json={"image": png_data_url(DRAWINGS["a tap"][0])})
        assert body.json()["verdict"] == "digit"


def test_the_openapi_schema_documents_the_verdict(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("PredictResponse", "ExplainResponse"):
        field = schemas[name]["properties"]["verdict"]
        assert field["enum"] == ["digit", "not_a_digit", "several_digits"]
        assert "several_digits" in field["description"]
        assert field["examples"] == ["digit", "not_a_digit", "several_digits"]
        assert "verdict" in schemas[name]["required"]
    assert "available" in schemas["VerdictInfo"]["properties"]


def test_cli_predict_prints_the_verdict_only_when_it_is_news(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], test_sample: Sample
) -> None:
    tap, digit = tmp_path / "tap.png", tmp_path / "digit.png"
    tap.write_bytes(DRAWINGS["a tap"][0])
    digit.write_bytes(canvas_png(test_sample[0][0]))
    assert main(["predict", str(tap), str(digit)]) == 0
    tap_line, digit_line = capsys.readouterr().out.splitlines()
    assert tap_line.endswith("not_a_digit")
    assert "digit" not in digit_line.split(")")[-1]  # nothing after the confidence
    assert main(["predict", "--json", str(tap), str(digit)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["verdict"] for line in lines] == ["not_a_digit", "digit"]
    assert all(line["verdict"] in VERDICTS for line in lines)

"""One settings object: the issue's limits as defaults, DIGITS_* overrides, refused bad values."""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app, create_app_from_env
from app.settings import Settings, unknown_variables
from model.serving.preprocess import ImageLimits
from tests.conftest import SHIPPED_WEIGHTS

MIB = 1024 * 1024
LIMITS = [f.name for f in dataclasses.fields(Settings) if f.type in (int, "int")]


def env(**values: str) -> dict[str, str]:
    """A DIGITS_* environment serving the shipped weights, plus `values` (lower-case names)."""
    environ = {"DIGITS_WEIGHTS": str(SHIPPED_WEIGHTS)}
    environ.update({f"DIGITS_{name.upper()}": value for name, value in values.items()})
    return environ


def test_defaults_are_the_documented_limits() -> None:
    settings = Settings()
    assert settings.max_body_bytes == 2 * MIB
    assert settings.max_batch_body_bytes == 32 * MIB
    assert settings.max_image_side == 4096
    assert settings.max_image_pixels == 4096 * 4096
    assert settings.max_batch_items == 2000
    assert settings.max_batch_pixels == 256 * MIB
    assert settings.blas_threads == 1
    assert settings.weights.name == "mnist_mlp.npz"


def test_every_limit_is_a_settings_field() -> None:
    assert {
        "max_body_bytes",
        "max_batch_body_bytes",
        "max_batch_items",
        "max_image_side",
        "max_image_pixels",
        "max_batch_pixels",
    } <= set(LIMITS)


def test_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize("name", LIMITS)
def test_each_limit_has_a_digits_override(name: str) -> None:
    value = 123 if name == "max_attack_epsilon" else 1234  # a pixel change: at most 255
    settings = Settings.from_env({f"DIGITS_{name.upper()}": str(value)})
    assert getattr(settings, name) == value
    untouched = {other: getattr(Settings(), other) for other in LIMITS if other != name}
    assert {other: getattr(settings, other) for other in untouched} == untouched


def test_weights_override_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    settings = Settings.from_env({"DIGITS_WEIGHTS": "~/models/mine.npz"})
    assert settings.weights == Path("/home/someone/models/mine.npz")


def test_empty_values_and_other_variables_are_ignored() -> None:
    settings = Settings.from_env(
        {
            "DIGITS_MAX_BODY_BYTES": "",  # set but empty: as if unset
            "digits_max_batch_items": "5",  # names are upper case
            "MAX_IMAGE_SIDE": "5",  # no prefix
            "DIGITS_NO_SUCH_LIMIT": "5",
        }
    )
    assert settings == Settings()


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITS_MAX_BATCH_ITEMS", "17")
    assert Settings.from_env().max_batch_items == 17


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("bad", ["abc", "1.5", "1e6", "2MiB", "0", "-1", "0x10"])
def test_bad_value_is_a_value_error_naming_the_variable(name: str, bad: str) -> None:
    variable = f"DIGITS_{name.upper()}"
    with pytest.raises(ValueError, match=variable) as raised:
        Settings.from_env({variable: bad})
    assert bad in str(raised.value)


def test_an_attack_epsilon_beyond_a_pixels_range_is_refused() -> None:
    assert Settings.from_env({"DIGITS_MAX_ATTACK_EPSILON": "255"}).max_attack_epsilon == 255
    with pytest.raises(ValueError, match="DIGITS_MAX_ATTACK_EPSILON: at most 255"):
        Settings.from_env({"DIGITS_MAX_ATTACK_EPSILON": "300"})


def test_image_limits_follow_the_settings() -> None:
    settings = Settings.from_env(
        env(max_batch_body_bytes="5000", max_image_side="64", max_image_pixels="1000")
    )
    assert settings.image_limits == ImageLimits(max_bytes=5000, max_side=64, max_pixels=1000)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().max_body_bytes = 1  # type: ignore[misc]


# ------------------------------------------------------------------ the limits in a running app
def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_small_max_body_bytes_refuses_a_bigger_body_with_413() -> None:
    app = create_app(Settings.from_env(env(max_body_bytes="1000")))
    with TestClient(app) as small:
        at_limit = small.post(
            "/api/predict", content=b"\x00" * 1000, headers={"Content-Type": "image/png"}
        )
        over_limit = small.post(
            "/api/predict", content=b"\x00" * 1001, headers={"Content-Type": "image/png"}
        )
        assert small.get("/healthz").status_code == 200
    assert at_limit.status_code == 400  # read, then found not to be an image
    assert over_limit.status_code == 413
    assert over_limit.json()["detail"] == "request body over the limit of 1,000 bytes"


def test_small_max_batch_body_bytes_refuses_a_bigger_batch_with_413() -> None:
    app = create_app(Settings.from_env(env(max_batch_body_bytes="100")))
    body = b'{"instances": [' + b" " * 100 + b"]}"
    with TestClient(app) as small:
        response = small.post(
            "/api/predict/batch", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert "100 bytes" in response.json()["detail"]


def test_small_max_batch_items_refuses_a_longer_batch_with_413() -> None:
    app = create_app(Settings.from_env(env(max_batch_items="2")))
    with TestClient(app) as small:
        response = small.post("/api/predict/batch", json={"instances": [{"pixels": [0]}] * 3})
    assert response.status_code == 413
    assert response.json()["detail"] == "3 instances; the limit is 2"


def test_a_batch_of_images_over_the_pixel_budget_gets_413_before_decoding() -> None:
    """The budget counts every image's header; pixel arrays are not images and do not count."""
    digit = Image.new("L", (20, 20), 255)
    digit.paste(0, (9, 3, 11, 17))  # a dark stroke on white paper: a 1
    buffer = io.BytesIO()
    digit.save(buffer, format="PNG")
    item = {"image": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}
    pixels = {"pixels": [[0] * 28] * 27 + [[255] * 28]}
    app = create_app(Settings.from_env(env(max_batch_pixels="1000")))
    with TestClient(app) as small:
        within = small.post("/api/predict/batch", json={"instances": [item, item, pixels]})
        over = small.post("/api/predict/batch", json={"instances": [pixels, item, item, item]})
    assert within.status_code == 200  # 800 pixels
    assert len(within.json()["predictions"]) == 3
    assert over.status_code == 413  # 1,200 pixels at the third image, instances[3]
    assert over.json()["detail"] == (
        "instances[3]: the batch's images hold over 1,000 pixels in all; "
        "send fewer or smaller images"
    )


@pytest.mark.parametrize(
    ("values", "size", "fragment"),
    [
        ({"max_image_side": "32"}, (33, 8), "at most 32"),
        ({"max_image_pixels": "100"}, (11, 10), "at most 100 pixels"),
    ],
)
def test_small_image_limits_refuse_a_bigger_image_with_413(
    values: dict[str, str], size: tuple[int, int], fragment: str
) -> None:
    app = create_app(Settings.from_env(env(**values)))
    with TestClient(app) as small:
        response = small.post(
            "/api/predict", content=png(*size), headers={"Content-Type": "image/png"}
        )
        within = small.post(
            "/api/predict", content=png(8, 8), headers={"Content-Type": "image/png"}
        )
    assert response.status_code == 413
    assert fragment in response.json()["detail"]
    assert within.status_code == 422  # decoded: a blank image has no ink


def test_create_app_from_env_uses_digits_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # The factory also sets the process's BLAS threads (tests/app/test_server.py); not here.
    monkeypatch.setattr("app.main.set_blas_threads", lambda threads: True)
    monkeypatch.setenv("DIGITS_WEIGHTS", str(SHIPPED_WEIGHTS))
    monkeypatch.setenv("DIGITS_MAX_BATCH_ITEMS", "3")
    app = create_app_from_env()
    assert app.state.settings.max_batch_items == 3
    assert app.state.settings.weights == SHIPPED_WEIGHTS


def test_bad_environment_stops_the_app_before_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITS_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="DIGITS_MAX_BODY_BYTES"):
        create_app_from_env()


def test_a_digits_variable_that_sets_nothing_is_named_with_a_guess() -> None:
    lines = unknown_variables(
        {"DIGITS_MAX_BODY_BYTE": "5", "DIGITS_DATA": "/d", "DIGITS_WEIGHTS": "w", "PATH": "/bin"}
    )
    assert lines == [
        "DIGITS_MAX_BODY_BYTE is not a setting (did you mean DIGITS_MAX_BODY_BYTES?); it is ignored"
    ]
    assert unknown_variables({"DIGITS_ZZZZZZZZZZ": "1"}) == [
        "DIGITS_ZZZZZZZZZZ is not a setting; it is ignored"
    ]
    # The shared prefix is not a likeness: DIGITS_FOO looks like nothing.
    assert unknown_variables({"DIGITS_FOO": "1"}) == ["DIGITS_FOO is not a setting; it is ignored"]
    assert "did you mean DIGITS_WEIGHTS?" in unknown_variables({"DIGITS_WEIGHT": "w"})[0]

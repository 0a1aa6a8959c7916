"""A trailing slash on a JSON endpoint's path gives the same answer as the path without it
(it used to be an empty 307 redirect, which API clients do not all follow with their body)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.trailing_slash import has_extra_slash
from tests.conftest import SHIPPED_WEIGHTS

ONE_DIGIT = {"pixels": [[0] * 28] * 27 + [[255] * 28]}


@pytest.mark.parametrize(
    ("path", "dropped"),
    [
        ("/api/predict/", True),
        ("/api/model/", True),
        ("/api/profiles/anna/", True),
        ("/healthz/", True),
        ("/api/predict", False),  # nothing to drop
        ("/model/", False),  # pages keep Starlette's redirect
        ("/static/", False),  # /static/ names folders
        ("/", False),
    ],
)
def test_the_slash_is_dropped_on_json_paths_only(path: str, dropped: bool) -> None:
    assert has_extra_slash(path) is dropped


def test_every_trailing_slash_is_dropped(client: TestClient) -> None:
    response = client.get("/api/model//", follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.json() == client.get("/api/model").json()
    unknown = client.get("/api/", follow_redirects=False)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "Not Found"


def test_the_slash_is_dropped_behind_a_proxy_prefix() -> None:
    """With root_path /digits (uvicorn --root-path), /digits/api/model/ is /digits/api/model."""
    app = create_app(Settings(weights=SHIPPED_WEIGHTS))
    with TestClient(app, root_path="/digits") as behind_proxy:
        response = behind_proxy.get("/api/model/", follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.json()["layer_sizes"][0] == 784


def test_post_predict_with_a_trailing_slash_predicts(client: TestClient) -> None:
    plain = client.post("/api/predict", json=ONE_DIGIT)
    slashed = client.post("/api/predict/", json=ONE_DIGIT, follow_redirects=False)
    assert slashed.status_code == 200, slashed.text
    assert slashed.json() == plain.json()


def test_get_model_with_a_trailing_slash_describes_the_model(client: TestClient) -> None:
    slashed = client.get("/api/model/", follow_redirects=False)
    assert slashed.status_code == 200, slashed.text
    assert slashed.json() == client.get("/api/model").json()
    assert client.get("/healthz/", follow_redirects=False).json() == {"status": "ok"}


def test_errors_are_the_same_with_a_trailing_slash(client: TestClient) -> None:
    """The same 422 for a bad body, the same 405 for a wrong method, a JSON 404 for an unknown
    path: never a redirect."""
    bad = {"pixels": [1]}
    for method, path, kwargs, status in [
        ("POST", "/api/predict", {"json": bad}, 422),
        ("GET", "/api/predict", {}, 405),
        ("GET", "/api/no-such-thing", {}, 404),
    ]:
        plain = client.request(method, path, **kwargs)
        slashed = client.request(method, path + "/", follow_redirects=False, **kwargs)
        assert plain.status_code == status
        assert slashed.status_code == status, path
        assert slashed.json() == plain.json(), path
        assert "detail" in slashed.json()


def test_pages_still_redirect_to_the_path_without_the_slash(client: TestClient) -> None:
    response = client.get("/model/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith("/model")

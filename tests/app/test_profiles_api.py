"""Profiles and examples through the real app (its lifespan, a SQLite store in a temporary
folder): every endpoint, every input form, every error, and what `digits serve` says at start-up.
The store itself, on SQLite and PostgreSQL, is tested in tests/app/store/."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.main import create_app
from app.settings import Settings
from app.store import Store
from app.store.sqlite import SQLiteStore
from model.serving.predictor import Predictor
from tests.app.conftest import canvas_png, data_url
from tests.conftest import SHIPPED_WEIGHTS

Sample = tuple[np.ndarray, np.ndarray]
STORE_OPERATIONS = {
    ("post", "/api/profiles"): {"201", "403", "503"},
    ("get", "/api/profiles/{profile}"): {"200", "404", "422", "503"},
    ("delete", "/api/profiles/{profile}"): {"204", "404", "422", "503"},
    ("post", "/api/examples"): {"201", "400", "403", "404", "413", "415", "422", "429", "503"},
}


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_file(SHIPPED_WEIGHTS)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "digits.sqlite3"


@contextmanager
def serving(predictor: Predictor, database: Path, **settings: Any) -> Iterator[TestClient]:
    app = create_app(
        Settings(weights=SHIPPED_WEIGHTS, database=str(database), **settings), predictor
    )
    with TestClient(app) as client:
        yield client


@pytest.fixture
def api(predictor: Predictor, database: Path) -> Iterator[TestClient]:
    with serving(predictor, database) as client:
        yield client


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    return store


def new_profile(api: TestClient) -> str:
    response = api.post("/api/profiles")
    assert response.status_code == 201
    profile: str = response.json()["profile"]
    return profile


def example(pixels: np.ndarray, label: int, **extra: Any) -> dict[str, Any]:
    return {"pixels": pixels.tolist(), "label": label, **extra}


# ------------------------------------------------------------------------------ profiles
def test_a_new_profile_is_empty(api: TestClient) -> None:
    response = api.post("/api/profiles")
    assert response.status_code == 201
    assert set(response.json()) == {"profile"}
    profile = response.json()["profile"]
    assert len(profile) == 22
    info = api.get(f"/api/profiles/{profile}")
    assert info.status_code == 200
    assert info.json() == {"profile": profile, "examples": 0, "per_digit": [0] * 10}


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("profile", ["AAAAAAAAAAAAAAAAAAAAAA", "not-a-profile", "%00"])
def test_an_unknown_profile_is_404(api: TestClient, method: str, profile: str) -> None:
    response = api.request(method.upper(), f"/api/profiles/{profile}")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown profile", "code": "unknown_profile"}


def test_an_overlong_profile_id_is_422(api: TestClient) -> None:
    assert api.get("/api/profiles/" + "x" * 65).status_code == 422


def test_deleting_a_profile_removes_it_and_its_examples(
    api: TestClient, database: Path, test_sample: Sample
) -> None:
    images, _ = test_sample
    profile, other = new_profile(api), new_profile(api)
    for i in range(3):
        assert api.post("/api/examples", json=example(images[i], 1, profile=profile)).is_success
    assert api.post("/api/examples", json=example(images[3], 2, profile=other)).is_success
    response = api.delete(f"/api/profiles/{profile}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/profiles/{profile}").status_code == 404
    assert api.delete(f"/api/profiles/{profile}").status_code == 404
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT profile FROM examples").fetchall()
    assert rows == [(other,)]


# ------------------------------------------------------------------------------ examples
def test_an_example_in_a_profile_is_counted(api: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    profile = new_profile(api)
    first = api.post("/api/examples", json=example(images[0], 7, profile=profile))
    assert first.status_code == 201
    assert first.json() == {"id": 1, "profile": profile, "examples": 1}
    second = api.post("/api/examples", json=example(images[1], 7, profile=profile))
    assert second.json() == {"id": 2, "profile": profile, "examples": 2}
    info = api.get(f"/api/profiles/{profile}").json()
    assert info["examples"] == 2
    assert info["per_digit"] == [0, 0, 0, 0, 0, 0, 0, 2, 0, 0]


def test_a_json_example_takes_the_profile_from_the_query_when_the_body_has_none(
    api: TestClient, test_sample: Sample
) -> None:
    # Never silently outside the profile, where "Forget me" could not reach it.
    images, _ = test_sample
    profile = new_profile(api)
    stored = api.post(f"/api/examples?profile={profile}", json=example(images[0], 7))
    assert stored.status_code == 201
    assert stored.json()["profile"] == profile
    assert api.get(f"/api/profiles/{profile}").json()["per_digit"][7] == 1
    same = api.post(f"/api/examples?profile={profile}&label=7", json=example(images[1], 7))
    assert same.status_code == 201


@pytest.mark.parametrize("field", ["profile", "label"])
def test_a_json_example_whose_query_disagrees_with_its_body_is_422(
    api: TestClient, test_sample: Sample, field: str
) -> None:
    images, _ = test_sample
    profile, other = new_profile(api), new_profile(api)
    body = example(images[0], 7, profile=profile)
    query = f"profile={other}" if field == "profile" else "label=3"
    refused = api.post(f"/api/examples?{query}", json=body)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_input"
    assert f"'{field}' differs between the JSON body" in refused.json()["detail"]
    assert api.get(f"/api/profiles/{profile}").json()["examples"] == 0
    assert api.get(f"/api/profiles/{other}").json()["examples"] == 0


def test_a_json_example_takes_its_label_from_the_query_when_the_body_has_none(
    api: TestClient, test_sample: Sample
) -> None:
    images, _ = test_sample
    body = {"pixels": images[0].tolist()}
    stored = api.post("/api/examples?label=3", json=body)
    assert stored.status_code == 201, stored.text
    assert [e.label for e in store_of(api).all_examples()] == [3]
    missing = api.post("/api/examples", json=body)
    assert missing.status_code == 422
    assert (
        missing.json()["detail"] == 'no label: give "label": 0..9 in the JSON body, or ?label=0..9'
    )


def test_a_batch_takes_its_profile_from_the_query_too(api: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    body = {"instances": [{"image": data_url(canvas_png(images[0]))}]}
    profile = new_profile(api)
    read = api.post(f"/api/predict/batch?profile={profile}", json=body)
    assert read.status_code == 200
    assert read.json()["profile"] == profile
    assert (
        api.post("/api/predict/batch?profile=AAAAAAAAAAAAAAAAAAAAAA", json=body).status_code == 404
    )
    clash = api.post(
        f"/api/predict/batch?profile={profile}", json={**body, "profile": new_profile(api)}
    )
    assert clash.status_code == 422


@pytest.mark.parametrize("path", ["/api/predict", "/api/number", "/api/explain"])
def test_reading_routes_honour_a_query_profile_with_a_json_body(
    api: TestClient, test_sample: Sample, path: str
) -> None:
    images, _ = test_sample
    body = {"image": data_url(canvas_png(images[0]))}
    unknown = api.post(f"{path}?profile=AAAAAAAAAAAAAAAAAAAAAA", json=body)
    assert unknown.status_code == 404, "a bogus ?profile= is not ignored"
    profile = new_profile(api)
    read = api.post(f"{path}?profile={profile}", json=body)
    assert read.status_code == 200
    assert read.json()["profile"] == profile
    clash = api.post(f"{path}?profile={profile}", json={**body, "profile": new_profile(api)})
    assert clash.status_code == 422


def test_an_example_without_profile_reports_the_stores_total(
    api: TestClient, test_sample: Sample
) -> None:
    images, _ = test_sample
    profile = new_profile(api)
    api.post("/api/examples", json=example(images[0], 1, profile=profile))
    response = api.post("/api/examples", json=example(images[1], 2))
    assert response.status_code == 201
    assert response.json() == {"id": 2, "profile": None, "examples": 2}


def test_every_input_form_of_predict_is_accepted(api: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    profile = new_profile(api)
    png = canvas_png(images[0])
    forms = [
        api.post("/api/examples", json={"image": data_url(png), "label": 3, "profile": profile}),
        api.post(
            "/api/examples",
            json={"image": base64.b64encode(png).decode(), "label": 3, "profile": profile},
        ),
        api.post("/api/examples", json=example(images[0].reshape(-1), 3, profile=profile)),
        api.post(
            f"/api/examples?label=3&profile={profile}",
            content=png,
            headers={"Content-Type": "image/png"},
        ),
    ]
    assert [r.status_code for r in forms] == [201] * 4
    assert [r.json()["examples"] for r in forms] == [1, 2, 3, 4]
    raw = api.post("/api/examples?label=4", content=png, headers={"Content-Type": "image/png"})
    assert raw.status_code == 201
    assert raw.json()["profile"] is None


def test_stored_is_what_the_network_saw_and_what_it_said(
    api: TestClient, test_sample: Sample
) -> None:
    images, _ = test_sample
    png = canvas_png(images[5])
    predicted = api.post("/api/predict", content=png, headers={"Content-Type": "image/png"}).json()
    strokes = [[[140.5, 40], [141, 240]], [[100, 100], [180, 100]]]
    label = (predicted["digit"] + 1) % 10  # a correction
    response = api.post(
        "/api/examples", json={"image": data_url(png), "label": label, "strokes": strokes}
    )
    assert response.status_code == 201
    (stored,) = store_of(api).all_examples()
    assert stored.pixels.tolist() == predicted["input"]
    assert stored.label == label
    assert stored.prediction == predicted["digit"]
    assert stored.weights_sha256 == api.get("/api/model").json()["weights_sha256"]
    assert stored.strokes == strokes
    assert stored.profile is None


# ------------------------------------------------------------------------------ input errors
@pytest.mark.parametrize(
    "fields",
    [{"label": 10}, {"label": -1}, {"label": "7"}, {"label": 7.5}, {"label": True}, {}],
    ids=["10", "-1", "string", "float", "bool", "missing"],
)
def test_a_bad_label_is_422(api: TestClient, test_sample: Sample, fields: dict[str, Any]) -> None:
    images, _ = test_sample
    response = api.post("/api/examples", json={"pixels": images[0].tolist(), **fields})
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize(("query", "status"), [("", 422), ("?label=10", 422), ("?label=x", 422)])
def test_a_raw_image_needs_a_good_label_in_the_query(
    api: TestClient, test_sample: Sample, query: str, status: int
) -> None:
    images, _ = test_sample
    response = api.post(
        f"/api/examples{query}",
        content=canvas_png(images[0]),
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == status
    if not query:
        assert response.json() == {
            "detail": "with a raw image body, give the label as ?label=0..9",
            "code": "invalid_input",
        }


def test_an_example_for_an_unknown_profile_is_404_and_not_stored(
    api: TestClient, test_sample: Sample
) -> None:
    images, _ = test_sample
    for profile in ("AAAAAAAAAAAAAAAAAAAAAA", "no such profile"):
        response = api.post("/api/examples", json=example(images[0], 1, profile=profile))
        assert response.status_code == 404
        assert response.json() == {"detail": "unknown profile", "code": "unknown_profile"}
    raw = api.post(
        "/api/examples?label=1&profile=nope",
        content=canvas_png(images[0]),
        headers={"Content-Type": "image/png"},
    )
    assert raw.status_code == 404
    assert list(store_of(api).all_examples()) == []


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"image": "not base64!", "label": 1}, None, 400),
        ({"image": "data:text/plain;base64,aGk=", "label": 1}, None, 415),
        ({"pixels": [0] * 784, "label": 1}, None, 422),  # no ink
        ({"pixels": [1] * 783, "label": 1}, None, 422),  # wrong shape
        ({"pixels": [1] * 784, "image": "x", "label": 1}, None, 422),  # both
        (b"\x89PNG not really", {"Content-Type": "image/png"}, 400),
        (b"label=1", {"Content-Type": "text/plain"}, 415),
        (b"{not json", {"Content-Type": "application/json"}, 400),
    ],
)
def test_bad_images_get_the_same_errors_as_predict(
    api: TestClient, body: Any, headers: dict[str, str] | None, status: int
) -> None:
    if isinstance(body, bytes):
        response = api.post("/api/examples?label=1", content=body, headers=headers)
        predicted = api.post("/api/predict", content=body, headers=headers)
    else:
        response = api.post("/api/examples", json=body)
        predicted = api.post("/api/predict", json={k: v for k, v in body.items() if k != "label"})
    assert response.status_code == status
    assert predicted.status_code == status
    assert response.json()["detail"]


def test_a_body_over_the_limit_is_413(
    predictor: Predictor, database: Path, test_sample: Sample
) -> None:
    images, _ = test_sample
    with serving(predictor, database, max_body_bytes=1000) as small:
        response = small.post("/api/examples", json=example(images[0], 1))
    assert response.status_code == 413
    assert response.json() == {
        "detail": "request body over the limit of 1,000 bytes",
        "code": "too_large",
    }


@pytest.mark.parametrize(
    "strokes",
    [
        [[[1, 2, 3]]],  # not [x, y]
        [[[1]]],
        [[]],  # an empty stroke
        [],  # no strokes: leave the field out instead
        [[["1", 2]]],
        [[[1, 2]]] * 101,  # too many strokes
        [[[1, 2]] * 5001] * 2,  # too many points in all
        [[[1e9, 2]]],  # miles off the image
        [[[5, -12289]]],
    ],
    ids=[
        "triple",
        "single",
        "empty-stroke",
        "no-strokes",
        "string",
        "strokes",
        "points",
        "far",
        "far-negative",
    ],
)
def test_malformed_or_oversized_strokes_are_422(
    api: TestClient, test_sample: Sample, strokes: Any
) -> None:
    images, _ = test_sample
    response = api.post("/api/examples", json=example(images[0], 1, strokes=strokes))
    assert response.status_code == 422


def test_infinite_coordinates_are_422(api: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    pixels = images[0].tolist()
    body = f'{{"pixels": {pixels}, "label": 1, "strokes": [[[1, Infinity]]]}}'
    response = api.post("/api/examples", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


# ------------------------------------------------------------------------------ limits
def test_a_full_profile_is_429(predictor: Predictor, database: Path, test_sample: Sample) -> None:
    images, _ = test_sample
    with serving(predictor, database, max_profile_examples=2) as small:
        profile = new_profile(small)
        statuses = [
            small.post("/api/examples", json=example(images[i], 1, profile=profile)).status_code
            for i in range(3)
        ]
        refused = small.post("/api/examples", json=example(images[0], 1, profile=profile))
        other = small.post("/api/examples", json=example(images[0], 1))
    assert statuses == [201, 201, 429]
    assert refused.json() == {
        "detail": "the profile holds 2 examples, the most a profile may hold; "
        "delete it to start again",
        "code": "profile_full",
    }
    assert other.status_code == 201


def test_a_database_at_its_size_limit_is_403(
    predictor: Predictor, database: Path, test_sample: Sample
) -> None:
    images, _ = test_sample
    with serving(predictor, database) as roomy:
        profile = new_profile(roomy)
    with sqlite3.connect(database) as connection:  # 2 MiB of something else in the file
        connection.execute("CREATE TABLE ballast (b BLOB)")
        connection.execute("INSERT INTO ballast VALUES (zeroblob(2 * 1024 * 1024))")
    with serving(predictor, database, max_database_mb=1) as tight:
        refused = tight.post("/api/examples", json=example(images[0], 1, profile=profile))
        no_profile = tight.post("/api/profiles")
        still = tight.get(f"/api/profiles/{profile}")
        predicted = tight.post("/api/predict", json={"pixels": images[0].tolist()})
    assert refused.status_code == 403
    assert refused.json()["code"] == no_profile.json()["code"] == "database_full"
    assert refused.json()["detail"].startswith("the database is at its size limit (2.")
    assert "of 1 MB)" in refused.json()["detail"]
    assert no_profile.status_code == 403
    assert still.status_code == 200
    assert predicted.status_code == 200


def test_deleting_examples_makes_room_again_in_a_full_database(
    predictor: Predictor, database: Path, test_sample: Sample
) -> None:
    # Fill a 1 MB store with examples carrying long strokes, then "Forget me": room again, though
    # the SQLite file keeps its size (its free pages are reused).
    images, _ = test_sample
    strokes = [[[float(i % 280), float(j)] for i in range(99)] for j in range(100)]
    with serving(predictor, database, max_database_mb=1) as tight:
        profile = new_profile(tight)
        statuses = []
        for i in range(40):
            body = example(images[i % len(images)], 1, profile=profile, strokes=strokes)
            statuses.append(tight.post("/api/examples", json=body).status_code)
            if statuses[-1] != 201:
                break
        assert statuses[-1] == 403, "the premise: the store filled up"
        size_when_full = database.stat().st_size
        assert tight.delete(f"/api/profiles/{profile}").status_code == 204
        again = tight.post("/api/profiles")
        assert again.status_code == 201, again.text
        stored = tight.post(
            "/api/examples", json=example(images[0], 1, profile=again.json()["profile"])
        )
        assert stored.status_code == 201
    assert database.stat().st_size >= size_when_full // 2  # the file did not have to shrink


# ------------------------------------------------------------------------------ a broken store
def assert_store_unavailable(client: TestClient, detail: str, sample: Sample) -> None:
    """Every store endpoint answers 503 with `detail`; prediction still works."""
    images, _ = sample
    responses = [
        client.post("/api/profiles"),
        client.get("/api/profiles/AAAAAAAAAAAAAAAAAAAAAA"),
        client.delete("/api/profiles/AAAAAAAAAAAAAAAAAAAAAA"),
        client.post("/api/examples", json=example(images[0], 1)),
        # reading with a profile needs the store too
        client.post("/api/predict", json={"pixels": images[0].tolist(), "profile": "A" * 22}),
    ]
    assert [r.status_code for r in responses] == [503] * 5
    assert all(r.json() == {"detail": detail, "code": "store_unavailable"} for r in responses)
    assert client.post("/api/predict", json={"pixels": images[0].tolist()}).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_a_corrupt_database_is_503_and_prediction_still_works(
    predictor: Predictor, database: Path, test_sample: Sample
) -> None:
    database.parent.mkdir()
    database.write_bytes(b"garbage, not a database\n" * 200)
    with serving(predictor, database) as client:
        assert_store_unavailable(
            client, "the database file is not a SQLite database (corrupt?)", test_sample
        )
        database.unlink()  # repaired: the next request opens it afresh
        assert client.post("/api/profiles").status_code == 201


def test_a_database_with_damaged_pages_takes_no_write(
    predictor: Predictor, database: Path, test_sample: Sample
) -> None:
    """Pages of the examples table overwritten: a new profile or an example without one would
    have been written to the damaged file. The server checks it at start-up and refuses it."""
    images, _ = test_sample
    with serving(predictor, database) as client:
        for _ in range(3):
            profile = new_profile(client)
            for image in images[:20]:
                assert client.post("/api/examples", json=example(image, 1, profile=profile))
    data = bytearray(database.read_bytes())
    data[5 * 4096 : 7 * 4096] = b"\xff" * (2 * 4096)
    database.write_bytes(bytes(data))
    with serving(predictor, database) as client:
        responses = [
            client.post("/api/profiles"),
            client.post("/api/examples", json=example(images[0], 1)),
        ]
        assert [r.status_code for r in responses] == [503, 503]
        assert all("repair or replace it" in r.json()["detail"] for r in responses)
        assert client.post("/api/predict", json={"pixels": images[0].tolist()}).status_code == 200
    assert database.read_bytes() == bytes(data)


def test_a_database_that_cannot_be_created_is_503(
    predictor: Predictor, tmp_path: Path, test_sample: Sample
) -> None:
    (tmp_path / "file").write_text("in the way")
    with serving(predictor, tmp_path / "file" / "digits.sqlite3") as client:
        assert_store_unavailable(
            client, "cannot create the database's folder (a file is in the way)", test_sample
        )


def test_a_full_disk_is_503(api: TestClient, test_sample: Sample) -> None:
    images, _ = test_sample
    profile = new_profile(api)
    store = store_of(api)
    assert isinstance(store, SQLiteStore)
    assert store._connection is not None
    pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
    store._connection.execute(f"PRAGMA max_page_count = {pages}")  # no room for another page
    statuses = set()
    for i in range(50):
        response = api.post("/api/examples", json=example(images[i], 1, profile=profile))
        statuses.add(response.status_code)
        if response.status_code == 503:
            assert response.json() == {
                "detail": "the database's disk is full",
                "code": "store_unavailable",
            }
            break
    assert 503 in statuses
    assert api.post("/api/predict", json={"pixels": images[0].tolist()}).status_code == 200


# ------------------------------------------------------------------------------ the schema
def test_every_store_operation_declares_its_statuses(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for (method, path), statuses in STORE_OPERATIONS.items():
        assert set(paths[path][method]["responses"]) == statuses, (method, path)
    body = paths["/api/examples"]["post"]["requestBody"]["content"]
    assert {"application/json", "image/png"} <= set(body)
    assert {"label", "profile", "strokes"} <= set(body["application/json"]["schema"]["properties"])


def test_the_schemas_examples_are_accepted(api: TestClient) -> None:
    body = api.get("/openapi.json").json()["paths"]["/api/examples"]["post"]["requestBody"]
    for item in body["content"]["application/json"]["schema"]["examples"]:
        assert api.post("/api/examples", json=item).status_code == 201


# ------------------------------------------------------------------------------ digits serve
@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    import uvicorn

    runs: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    return runs


def test_serve_says_where_examples_go(
    uvicorn_runs: list[dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    database: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DIGITS_DATABASE", str(database))
    assert main(["serve", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert f"digits: examples are stored in {database}\n" in out
    assert err == ""
    assert not database.exists()  # created on first use, not by the look at start-up
    assert len(uvicorn_runs) == 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        ("corrupt", "the database file is not a SQLite database (corrupt?)"),
        ("uncreatable", "cannot create the database's folder (a file is in the way)"),
        # Root passes every permission check, and /proc refuses new folders all the same.
        ("in /proc", "cannot create the database's folder (No such file or directory)"),
    ],
)
def test_serve_says_in_one_line_what_is_wrong_and_serves_all_the_same(
    uvicorn_runs: list[dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: str,
    reason: str,
) -> None:
    database = tmp_path / "digits.sqlite3"
    if make == "corrupt":
        database.write_bytes(b"garbage, not a database\n" * 200)
    elif make == "in /proc":
        database = Path("/proc/digits-nowhere/digits.sqlite3")
    else:
        (tmp_path / "file").write_text("in the way")
        database = tmp_path / "file" / "digits.sqlite3"
    monkeypatch.setenv("DIGITS_DATABASE", str(database))
    assert main(["serve", "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert err == (
        f"digits serve: the example store at {database} is unavailable: {reason}; "
        "prediction works, /api/profiles and /api/examples answer 503\n"
    )
    assert len(uvicorn_runs) == 1


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/profiles/AAAAAAAAAAAAAAAAAAAAAA", "DELETE, GET"),
        ("OPTIONS", "/api/profiles/x", "DELETE, GET"),
        ("GET", "/api/profiles", "POST"),
        ("GET", "/api/examples", "POST"),
        ("POST", "/healthz", "GET"),  # one route per path: as Starlette says
    ],
)
def test_method_not_allowed_names_every_method_of_the_path(
    api: TestClient, method: str, path: str, allow: str
) -> None:
    """GET and DELETE /api/profiles/{profile} are two routes; Starlette named only the first."""
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"detail": "Method Not Allowed", "code": "method_not_allowed"}

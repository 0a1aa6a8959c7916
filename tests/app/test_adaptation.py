"""Reading with a profile through the real app: every endpoint that takes one, the cache of
prototypes (app/adaptation.py) seeing a new example at once, and profiles kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.adaptation import PrototypeCache
from app.store import StoreLimits, UnknownProfileError
from app.store.sqlite import SQLiteStore
from model.serving.predictor import Predictor
from tests.app.conftest import canvas_png, data_url
from tests.app.test_profiles_api import example, new_profile, serving

Sample = tuple[np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    from tests.conftest import SHIPPED_WEIGHTS

    return Predictor.from_file(SHIPPED_WEIGHTS)


@pytest.fixture
def api(predictor: Predictor, tmp_path: Path) -> Iterator[TestClient]:
    with serving(predictor, tmp_path / "digits.sqlite3") as client:
        yield client


@pytest.fixture(scope="module")
def doubtful(predictor: Predictor, test_sample: Sample) -> tuple[np.ndarray, int, int]:
    """The sample digit the network is least sure of: (pixels, its reading, the runner-up)."""
    images = test_sample[0][:300]
    probabilities = predictor.probabilities(list(images))
    chosen = int(np.argmin(probabilities.max(axis=1)))
    ranked = np.argsort(probabilities[chosen])
    return images[chosen], int(ranked[-1]), int(ranked[-2])


def read(api: TestClient, pixels: np.ndarray, profile: str | None = None) -> dict:
    body: dict = {"pixels": pixels.tolist()}
    if profile is not None:
        body["profile"] = profile
    response = api.post("/api/predict", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_correction_counts_on_the_next_request_in_its_profile_only(
    api: TestClient, doubtful: tuple[np.ndarray, int, int]
) -> None:
    pixels, reading, runner_up = doubtful
    mine, theirs = new_profile(api), new_profile(api)
    before = read(api, pixels, mine)  # an empty profile: the network's own reading
    assert before["digit"] == reading
    assert before["profile"] == mine
    stored = api.post("/api/examples", json=example(pixels, runner_up, profile=mine))
    assert stored.status_code == 201
    after = read(api, pixels, mine)
    assert after["digit"] == runner_up
    assert after["profile"] == mine
    assert read(api, pixels, theirs)["digit"] == reading
    plain = read(api, pixels)
    assert plain["digit"] == reading
    assert "profile" not in plain  # no profile, no key: the answer's shape is as before


def test_every_reading_endpoint_takes_the_profile(
    api: TestClient, doubtful: tuple[np.ndarray, int, int]
) -> None:
    pixels, _, runner_up = doubtful
    profile = new_profile(api)
    api.post("/api/examples", json=example(pixels, runner_up, profile=profile))
    png = canvas_png(pixels)

    batch = api.post(
        "/api/predict/batch", json={"instances": [{"pixels": pixels.tolist()}], "profile": profile}
    ).json()
    assert batch["profile"] == profile
    assert [p["digit"] for p in batch["predictions"]] == [runner_up]

    raw = api.post(f"/api/predict?profile={profile}", content=png, headers=PNG)
    assert raw.json()["profile"] == profile
    raw_plain = api.post("/api/predict", content=png, headers=PNG)
    assert "profile" not in raw_plain.json()

    explained = api.post("/api/explain", json={"pixels": pixels.tolist(), "profile": profile})
    assert explained.status_code == 200
    assert explained.json()["digit"] == runner_up
    assert explained.json()["profile"] == profile

    number = api.post("/api/number", json={"image": data_url(png), "profile": profile})
    assert number.status_code == 200
    assert number.json()["profile"] == profile
    raw_number = api.post(f"/api/number?profile={profile}", content=png, headers=PNG)
    assert raw_number.json()["profile"] == profile


PNG = {"Content-Type": "image/png"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("json", "/api/predict", {"pixels": None}),
        ("json", "/api/explain", {"pixels": None}),
        ("json", "/api/predict/batch", {"instances": [{"pixels": None}]}),
        ("json", "/api/number", {"image": None}),
        ("raw", "/api/predict", None),
        ("raw", "/api/number", None),
        ("raw", "/api/explain", None),
    ],
)
def test_an_unknown_or_deleted_profile_is_404_everywhere(
    api: TestClient, test_sample: Sample, method: str, path: str, body: dict | None
) -> None:
    pixels = test_sample[0][0]
    deleted = new_profile(api)
    read(api, pixels, deleted)  # cached, then deleted: the cache must not answer for it
    assert api.delete(f"/api/profiles/{deleted}").status_code == 204
    for profile in ("AAAAAAAAAAAAAAAAAAAAAA", deleted):
        if method == "raw":
            response = api.post(
                f"{path}?profile={profile}", content=canvas_png(pixels), headers=PNG
            )
        else:
            filled = {
                "pixels": pixels.tolist(),
                "image": data_url(canvas_png(pixels)),
                "instances": [{"pixels": pixels.tolist()}],
            }
            response = api.post(
                path, json={**{k: filled[k] for k in body or {}}, "profile": profile}
            )
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "unknown profile", "code": "unknown_profile"}


def test_the_schema_declares_the_profile_on_every_reading_endpoint(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    for path in ("/api/predict", "/api/explain", "/api/number", "/api/predict/batch"):
        operation = spec["paths"][path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "profile" in str(schema), path
        assert "404" in operation["responses"], path
        assert "503" in operation["responses"], path


# ------------------------------------------------------------------------------ the cache
class CountingStore(SQLiteStore):
    """A real SQLite store that counts how often a profile's examples are read."""

    reads = 0

    def examples_for(self, profile: str) -> tuple[np.ndarray, np.ndarray]:
        self.reads += 1
        return super().examples_for(profile)


def test_the_cache_reads_a_profile_again_only_when_it_gains_an_example(
    predictor: Predictor, tmp_path: Path, test_sample: Sample
) -> None:
    images, labels = test_sample
    store = CountingStore(str(tmp_path / "d.sqlite3"), StoreLimits())
    cache = PrototypeCache(store, predictor)
    profile = store.create_profile()
    assert len(cache.get(profile)) == 0
    assert len(cache.get(profile)) == 0
    assert store.reads == 1
    store.add_example(images[0], int(labels[0]), int(labels[0]), "0" * 64, profile)
    assert len(cache.get(profile)) == 1
    assert len(cache.get(profile)) == 1
    assert store.reads == 2
    with pytest.raises(UnknownProfileError):
        cache.get("AAAAAAAAAAAAAAAAAAAAAA")


def test_the_cache_keeps_at_most_its_examples_dropping_the_least_recently_used(
    predictor: Predictor, tmp_path: Path, test_sample: Sample
) -> None:
    images, labels = test_sample
    store = CountingStore(str(tmp_path / "d.sqlite3"), StoreLimits())
    cache = PrototypeCache(store, predictor, examples=4)
    profiles = [store.create_profile() for _ in range(3)]
    for profile in profiles:
        for i in range(2):
            store.add_example(images[i], int(labels[i]), 0, "0" * 64, profile)
    for profile in profiles:
        cache.get(profile)
    assert store.reads == 3
    cache.get(profiles[2])  # still kept (the newest)
    assert store.reads == 3
    cache.get(profiles[0])  # dropped to keep 4 examples: read again
    assert store.reads == 4


def test_a_deleted_profile_leaves_nothing_in_the_cache(
    predictor: Predictor, tmp_path: Path, test_sample: Sample
) -> None:
    """Deleted through this cache's process (forget) or through another (its next reading
    finds it gone): either way, the descriptions of its drawings leave memory."""
    images, labels = test_sample
    store = CountingStore(str(tmp_path / "d.sqlite3"), StoreLimits())
    cache = PrototypeCache(store, predictor)
    here, elsewhere = store.create_profile(), store.create_profile()
    for profile in (here, elsewhere):
        store.add_example(images[0], int(labels[0]), 0, "0" * 64, profile)
        assert len(cache.get(profile)) == 1
    assert set(cache._kept) == {here, elsewhere}
    cache.forget(here)
    assert store.delete_profile(elsewhere)  # as another server process would
    with pytest.raises(UnknownProfileError):
        cache.get(elsewhere)
    assert not cache._kept


def test_delete_through_the_api_empties_the_cache(api: TestClient, test_sample: Sample) -> None:
    profile = new_profile(api)
    stored = api.post("/api/examples", json=example(test_sample[0][0], 3, profile=profile))
    assert stored.status_code == 201
    read(api, test_sample[0][0], profile)
    cache = api.app.state.prototypes  # type: ignore[attr-defined]
    assert profile in cache._kept
    assert api.delete(f"/api/profiles/{profile}").status_code == 204
    assert profile not in cache._kept

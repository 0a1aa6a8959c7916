"""Fuzz the API from its own OpenAPI schema with schemathesis: no 5xx, no undocumented status.

schemathesis reads `/openapi.json` from the real app (shipped weights, lifespan run through its
ASGI transport) and sends, per operation, the schema's examples, a coverage pass (boundary and
schema-breaking values, unsupported methods, missing or wrong content types) and a seeded,
deterministic fuzzing pass: the same few hundred cases on every run, in a few seconds.

Every built-in response check runs (no server error, documented status codes, documented
content types and response schemas, schema-invalid input refused, 405 with `Allow`, ...) except
`positive_data_acceptance`: the schema says `image` is any string and a raw body any bytes, but
only a real picture of a digit can be accepted, so "schema-valid" input is rightly refused here.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import Case

from app.main import create_app
from app.settings import Settings
from tests.conftest import SHIPPED_WEIGHTS

SEED = 20_240_601
MAX_EXAMPLES = 150  # per operation in the fuzzing pass (examples and coverage come on top)
MIN_CASES = {  # the fuzzed operations
    "POST /api/predict": 150,
    "POST /api/predict/batch": 150,
    "POST /api/explain": 150,
    "POST /api/adversarial": 150,
    "POST /api/number": 150,
}
RESPONSE_SECONDS = 2.0  # "quickly": every answer, whatever was sent

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "max_response_time": RESPONSE_SECONDS,
        },
    }
)

# schemathesis ships sample files for PNG, JPEG, GIF and WebP bodies; BMP and TIFF bodies are sent
# as arbitrary bytes, like application/octet-stream.
schemathesis.serializer.alias("image/bmp", "application/octet-stream")
schemathesis.serializer.alias("image/tiff", "application/octet-stream")

# Loaded at import: the pytest integration needs the schema at collection time. (Its lazy
# `from_fixture` loader does not work with pytest 9.) Fetching the schema starts the lifespan.
# The example store gets a database of its own, removed at exit, never the user's.
STORE_DIR = tempfile.TemporaryDirectory(prefix="digits-fuzz-")
APP = create_app(
    Settings(weights=SHIPPED_WEIGHTS, database=str(Path(STORE_DIR.name) / "digits.sqlite3"))
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module")
def case_counts() -> Iterator[Counter[str]]:
    """Cases sent per operation; at the end, a check that fuzzing did not quietly dry up.

    (A dangling `$ref` in the batch schema once cut that operation to 2 cases, all passing.)
    """
    counts: Counter[str] = Counter()
    yield counts
    thin = {
        label: counts[label]
        for label in MIN_CASES
        if label in counts and counts[label] < MIN_CASES[label]
    }
    assert not thin, f"too few cases generated: {thin}"


@schema.parametrize()
def test_api_conforms_to_its_schema(case: Case[Any], case_counts: Counter[str]) -> None:
    case_counts[case.operation.label] += 1
    response = case.call_and_validate()
    assert response.status_code < 500


def test_fuzzed_schema_has_every_operation() -> None:
    """The schema under test is the app's own, with every operation and its error codes."""
    labels = [
        "POST /api/predict",
        "POST /api/predict/batch",
        "POST /api/explain",
        "POST /api/adversarial",
        "POST /api/number",
        "GET /api/model",
        "GET /api/model/report",
        "GET /healthz",
        "POST /api/profiles",
        "GET /api/profiles/{profile}",
        "DELETE /api/profiles/{profile}",
        "POST /api/examples",
    ]
    assert len(schema) == len(labels)
    for label in labels:
        method, path = label.split()
        assert schema[path][method].label == label
    raw = schema.raw_schema
    for path in (
        "/api/predict",
        "/api/predict/batch",
        "/api/explain",
        "/api/adversarial",
        "/api/number",
    ):
        assert {"200", "400", "413", "415", "422"} <= set(raw["paths"][path]["post"]["responses"])


@pytest.mark.parametrize(
    "path", ["/api/predict/batch", "/api/explain", "/api/adversarial", "/api/number"]
)
def test_hand_written_body_schemas_are_self_contained(path: str) -> None:
    """Every `$ref` in a hand-written request body must resolve inside the document."""
    text = str(schema.raw_schema["paths"][path]["post"]["requestBody"])
    assert "$ref" not in text
    assert "$defs" not in text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/predict", "pixels"),
        ("/api/predict/batch", "instances"),
        ("/api/explain", "pixels"),
        ("/api/adversarial", "pixels"),
    ],
)
def test_successful_responses_match_their_schema(
    test_sample: tuple[Any, Any], path: str, body: str
) -> None:
    """Fuzzing rarely draws a real digit, so the 200 bodies are checked here, by the same checks."""
    images, labels = test_sample
    pixels = images[0].tolist()
    payload: Any = (
        {"pixels": pixels} if body == "pixels" else {"instances": [{"pixels": pixels}] * 3}
    )
    if path == "/api/adversarial":
        payload["target"] = int(labels[0])  # already that digit: answered unchanged
    case = schema[path]["POST"].Case(body=payload, media_type="application/json")
    response = case.call_and_validate()
    assert response.status_code == 200
    result = response.json()
    digits = [result["digit"]] if body == "pixels" else [p["digit"] for p in result["predictions"]]
    assert digits == [int(labels[0])] * len(digits)


def test_model_report_matches_its_schema() -> None:
    response = schema["/api/model/report"]["GET"].Case().call_and_validate()
    assert response.status_code == 200

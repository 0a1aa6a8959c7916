"""README.md's API examples show what the shipped model really answers.

Every output shown as a `# ...` line under "## The API" is recomputed here through the real app
and the shipped weights, from the inputs the README names: `digit.png` (the first MNIST test
digit, a 7, scaled to 280x280 as a canvas exports it), "a 2 as pixels" (the second MNIST test
digit) and `number.png` (an 840x280 "2024", its 0 touching the 2, the drawing of
docs/make_segmentation_figure.py). Each shown value must be the app's: numbers written with a
point or exponent to 1e-9 relative, everything else exactly; `...` stands for what is left out.
New weights that change a shown output fail here until the README's outputs are regenerated.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings
from model.data.mnist import load_mnist
from tests.conftest import ROOT, SAMPLE_DIR, SHIPPED_WEIGHTS
from tests.model.serving.number_drawings import draw_number, number_of

README = ROOT / "README.md"
REL_TOL = 1e-9
PNG = {"content-type": "image/png"}

# ---- the README's examples -------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One output shown in the README and the curl commands above it."""

    requests: tuple[tuple[str, str], ...]  # each curl's method and path (with its query)
    output: str  # the `#` lines, joined


def api_section(text: str) -> str:
    found = re.search(r"^## The API\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert found, "README.md has no '## The API' section"
    return found.group(1)


def curl_request(command: str) -> tuple[str, str]:
    url = re.search(r"http://127\.0\.0\.1:8000([^\s'\"\\]+)", command)
    assert url, f"no URL in {command!r}"
    method = re.search(r"-X\s+([A-Z]+)", command)
    sends = re.search(r"\s(-d|--data-binary)\s", command)
    return (method.group(1) if method else "POST" if sends else "GET"), url.group(1)


def api_examples(text: str) -> list[Example]:
    """Every output in the API section's bash blocks, with the requests of its curl commands."""
    examples = []
    for block in re.findall(r"^```bash\n(.*?)^```", api_section(text), re.MULTILINE | re.DOTALL):
        commands: list[str] = []
        output: list[str] = []
        for line in [*block.splitlines(), ""]:  # the empty line ends the last output
            if line.startswith("#"):
                output.append(line[1:].strip())
                continue
            if output:
                curls = re.split(r"(?=\bcurl\b)", "\n".join(commands))
                requests = tuple(curl_request(c) for c in curls if c.startswith("curl"))
                examples.append(Example(requests, " ".join(output)))
                commands, output = [], []
            commands.append(line)
    return examples


# ---- abbreviated JSON: what is shown, with `...` for what is not ------------------------------

TOKEN = re.compile(
    r"""\s*(?:
        (?P<ellipsis>\.\.\.(?:[^.\[\]{},"]*\.\.\.)?)  # ... or ...1024 numbers...
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<word>true|false|null)
      | (?P<punct>[\[\]{},:])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Shown:
    """An object as shown: its keys in order, and whether `...` stands for more of them."""

    entries: tuple[tuple[str, Any], ...]
    more: bool


def tokens(text: str) -> list[tuple[str, Any]]:
    found, at = [], 0
    while text[at:].strip():
        match = TOKEN.match(text, at)
        assert match, f"cannot read the README output at {text[at : at + 40]!r}"
        kind = match.lastgroup
        assert kind is not None
        raw = match.group(kind)
        if kind == "number":
            value: Any = float(raw) if re.search(r"[.eE]", raw) else int(raw)
        elif kind in ("string", "word"):
            value = json.loads(raw)
        else:
            value = raw
        found.append((kind, value))
        at = match.end()
    return found


def parse_shown(text: str) -> Any:
    """The README's abbreviated JSON: lists may hold `...` (Ellipsis), objects may say `more`."""
    items = tokens(text)

    def value(i: int) -> tuple[Any, int]:
        kind, token = items[i]
        if kind == "ellipsis":
            return Ellipsis, i + 1
        if kind != "punct":
            return token, i + 1
        if token == "[":
            elements: list[Any] = []
            i += 1
            while items[i] != ("punct", "]"):
                element, i = value(i)
                elements.append(element)
                if items[i] == ("punct", ","):
                    i += 1
            return elements, i + 1
        assert token == "{", f"unexpected {token!r} in a README output"
        entries, more = [], False
        i += 1
        while items[i] != ("punct", "}"):
            if items[i][0] == "ellipsis":
                more, i = True, i + 1
            else:
                key = items[i][1]
                assert items[i + 1] == ("punct", ":"), f"no ':' after {key!r}"
                entry, i = value(i + 2)
                entries.append((key, entry))
            if items[i] == ("punct", ","):
                i += 1
        return Shown(tuple(entries), more), i + 1

    shown, end = value(0)
    assert end == len(items), f"trailing text in README output {text!r}"
    return shown


def short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def differences(shown: Any, actual: Any, where: str = "$") -> list[str]:
    """Where the app's answer is not what the README shows (empty: it is)."""
    if shown is Ellipsis or shown == "...":
        return []
    if isinstance(shown, Shown):
        if not isinstance(actual, dict):
            return [f"{where}: README shows an object, the app answers {short(actual)}"]
        keys = [key for key, _ in shown.entries]
        found = [key for key in actual if key in keys]
        if found != keys or (not shown.more and list(actual) != keys):
            return [f"{where}: README shows keys {keys}, the app answers {list(actual)}"]
        problems = []
        for key, value in shown.entries:
            problems += differences(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{where}: README shows a list, the app answers {short(actual)}"]
        gaps = [i for i, element in enumerate(shown) if element is Ellipsis]
        head = shown[: gaps[0]] if gaps else shown
        tail = shown[gaps[-1] + 1 :] if gaps else []
        assert not gaps or all(e is Ellipsis for e in shown[gaps[0] : gaps[-1] + 1]), where
        if len(actual) < len(head) + len(tail) or (not gaps and len(actual) != len(shown)):
            return [f"{where}: README shows {len(shown)} elements, the app answers {len(actual)}"]
        start = len(actual) - len(tail)  # where the shown tail begins in the answer
        pairs = [(i, shown[i]) for i in range(len(head))]
        pairs += [(start + j, element) for j, element in enumerate(tail)]
        problems = []
        for index, element in pairs:
            problems += differences(element, actual[index], f"{where}[{index}]")
        return problems
    if isinstance(shown, float):
        same = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        same = same and math.isclose(actual, shown, rel_tol=REL_TOL, abs_tol=0.0)
    elif isinstance(shown, bool) or shown is None:
        same = actual is shown
    elif isinstance(shown, int):
        same = type(actual) is int and actual == shown
    else:
        same = actual == shown
    return (
        [] if same else [f"{where}: README shows {short(shown)}, the app answers {short(actual)}"]
    )


# ---- the inputs the README names, and the requests behind each output ------------------------


@dataclass(frozen=True)
class Inputs:
    digit_png: bytes  # digit.png
    two_pixels: list[list[int]]  # "a 2 as pixels"
    number_png: bytes  # number.png


def canvas_png(digit: np.ndarray, size: int = 280) -> bytes:
    """An MNIST digit scaled as a canvas exports it: dark ink on a transparent background."""
    ink = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = np.asarray(ink)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def readme_inputs() -> Inputs:
    images, labels = load_mnist(SAMPLE_DIR, "test")
    assert labels[:2].tolist() == [7, 2]
    number = draw_number(number_of("2024"), gaps=[0.3, -0.06, 0.3])  # 0 overlaps the next 2
    return Inputs(canvas_png(images[0]), images[1].tolist(), number.png)


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class Response(Protocol):  # Starlette's TestClient answers with httpx's or httpx2's
    status_code: int

    def json(self) -> Any: ...


Send = Callable[[TestClient, Inputs, dict[str, str]], list[Response]]
P = "/api/profiles"


def create_profile(client: TestClient, x: Inputs, state: dict[str, str]) -> list[Response]:
    response = client.post(P)
    state["profile"] = response.json()["profile"]
    return [response]


# In README order: the requests of each output's curl commands, and what this test sends for
# them (every answer must be the one shown; /api/number's output is the image-only request's).
EXAMPLES: list[tuple[tuple[tuple[str, str], ...], Send]] = [
    (
        (("POST", "/api/predict"), ("POST", "/api/predict")),
        lambda c, x, s: [
            c.post("/api/predict", content=x.digit_png, headers=PNG),
            c.post("/api/predict", json={"image": data_url(x.digit_png)}),
        ],
    ),
    (
        (("POST", "/api/predict/batch"),),
        lambda c, x, s: [
            c.post(
                "/api/predict/batch",
                json={
                    "instances": [
                        {"pixels": x.two_pixels},
                        {"image": base64.b64encode(x.digit_png).decode("ascii")},
                    ]
                },
            )
        ],
    ),
    ((("GET", "/api/model"),), lambda c, x, s: [c.get("/api/model")]),
    ((("GET", "/healthz"),), lambda c, x, s: [c.get("/healthz")]),
    (
        (("POST", "/api/explain"),),
        lambda c, x, s: [c.post("/api/explain", content=x.digit_png, headers=PNG)],
    ),
    (
        (("POST", "/api/adversarial?target=3"),),
        lambda c, x, s: [c.post("/api/adversarial?target=3", content=x.digit_png, headers=PNG)],
    ),
    (
        (("POST", "/api/number"), ("POST", "/api/number")),
        lambda c, x, s: [c.post("/api/number", content=x.number_png, headers=PNG)],
    ),
    ((("POST", P),), create_profile),
    (
        (("POST", "/api/examples"),),
        lambda c, x, s: [
            c.post(
                "/api/examples",
                json={"image": data_url(x.digit_png), "label": 7, "profile": s["profile"]},
            )
        ],
    ),
    (
        (("POST", "/api/examples?label=7&profile=$PROFILE"),),
        lambda c, x, s: [
            c.post(
                f"/api/examples?label=7&profile={s['profile']}", content=x.digit_png, headers=PNG
            )
        ],
    ),
    ((("GET", f"{P}/$PROFILE"),), lambda c, x, s: [c.get(f"{P}/{s['profile']}")]),
    (
        (("POST", "/api/predict?profile=$PROFILE"),),
        lambda c, x, s: [
            c.post(f"/api/predict?profile={s['profile']}", content=x.digit_png, headers=PNG)
        ],
    ),
    ((("DELETE", f"{P}/$PROFILE"),), lambda c, x, s: [c.delete(f"{P}/{s['profile']}")]),
    ((("GET", f"{P}/$PROFILE"),), lambda c, x, s: [c.get(f"{P}/{s['profile']}")]),
]


def readme_mismatches(readme: str, weights: Path, database: Path) -> list[str]:
    """Every difference between the README's API outputs and the app's answers with `weights`."""
    examples = api_examples(readme)
    listed = [example.requests for example in examples]
    assert listed == [requests for requests, _ in EXAMPLES], (
        "the README's API examples are not the ones this test recomputes: update EXAMPLES"
    )
    inputs = readme_inputs()
    state: dict[str, str] = {}
    renames: dict[str, str] = {}  # the README's profile id -> the one the store handed out
    problems = []
    settings = Settings(weights=weights, database=str(database))
    with TestClient(create_app(settings)) as client:
        for example, (requests, send) in zip(examples, EXAMPLES, strict=True):
            responses = send(client, inputs, state)
            if send is create_profile:  # the README's id stands for whatever id the store gives
                shown_id = re.fullmatch(r'\{"profile":"([A-Za-z0-9_-]{22})"\}', example.output)
                assert shown_id, f"README's new profile looks unlike an id: {example.output}"
                renames[shown_id.group(1)] = state["profile"]
            output = example.output
            for readme_id, real_id in renames.items():
                output = output.replace(readme_id, real_id)
            name = " ".join(requests[0])
            for response in responses:
                if output[0].isdigit():  # curl -w '%{http_code}': the status, then a remark
                    status = int(output.split()[0])
                    if response.status_code != status:
                        problems.append(
                            f"{name}: README shows {status}, the app answers {response.status_code}"
                        )
                    continue
                answer = response.json()
                problems += [f"{name}: {d}" for d in differences(parse_shown(output), answer)]
    return problems


def test_the_api_examples_show_what_the_shipped_model_answers(tmp_path: Path) -> None:
    problems = readme_mismatches(
        README.read_text(encoding="utf-8"), SHIPPED_WEIGHTS, tmp_path / "db.sqlite3"
    )
    assert not problems, (
        "README.md's API outputs are not the shipped model's (regenerate them as "
        "tests/test_readme.py makes them):\n" + "\n".join(problems)
    )


def test_the_shown_numbers_are_read_not_skipped() -> None:
    """The outputs the README shows in full are read as values, not as `...`."""
    shown = {
        example.requests[0]: parse_shown(example.output)
        for example in api_examples(README.read_text(encoding="utf-8"))
        if example.output.startswith("{")
    }

    def fields(key: tuple[str, str]) -> dict[str, Any]:
        return dict(shown[key].entries)

    predict = fields(("POST", "/api/predict"))
    assert predict["digit"] == 7
    assert isinstance(predict["confidence"], float)
    assert [type(p) for p in predict["probabilities"]] == [float, type(...)] + [float] * 3
    batch = [dict(p.entries) for p in fields(("POST", "/api/predict/batch"))["predictions"]]
    assert [p["digit"] for p in batch] == [2, 7]
    assert all(isinstance(p["confidence"], float) for p in batch)
    model = fields(("GET", "/api/model"))
    assert isinstance(model["parameter_count"], int)
    assert all(isinstance(size, int) for size in model["layer_sizes"])
    assert shown["GET", "/healthz"] == Shown((("status", "ok"),), more=False)
    assert fields(("POST", "/api/explain"))["digit"] == 7
    attack = fields(("POST", "/api/adversarial?target=3"))
    assert (attack["original_digit"], attack["digit"]) == (7, 3)
    assert all(isinstance(attack[key], int) for key in ("linf", "steps_taken"))
    number = fields(("POST", "/api/number"))
    assert number["number"] == "2024"
    assert isinstance(number["confidence"], float)
    boxes = [dict(piece.entries)["box"] for piece in number["digits"]]
    assert [len(box) for box in boxes] == [4, 4, 4, 4]
    assert all(isinstance(v, int) for box in boxes for v in box)


@pytest.mark.parametrize(
    ("shown", "actual", "problems"),
    [
        ('{"a":1,"b":[0.5,...,2.5]}', {"a": 1, "b": [0.5, 9, 2.5]}, 0),
        ('{"a":1,"b":[0.5,...,2.5]}', {"a": 1, "b": [0.5, 9, 2.6]}, 1),
        ('{"a":1,...}', {"a": 1, "b": 2}, 0),
        ('{"a":1}', {"a": 1, "b": 2}, 1),  # a key the README does not show
        ('{"a":[[...1024 numbers...],[...]]}', {"a": [[1, 2], [3]]}, 0),
        ('{"a":[[...],[...]]}', {"a": [[1, 2]]}, 1),
        ('{"a":0.1}', {"a": 0.1 * (1 + 1e-12)}, 0),
        ('{"a":0.1}', {"a": 0.1 * (1 + 1e-6)}, 1),
        ('{"a":7}', {"a": 7.0}, 1),
        ('{"a":"...","b":...}', {"a": "x", "b": [1]}, 0),
    ],
)
def test_the_comparison(shown: str, actual: Any, problems: int) -> None:
    assert len(differences(parse_shown(shown), actual)) == problems

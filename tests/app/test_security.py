"""HTTP hardening: security headers everywhere, no way out of /static, no internals in errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from model.serving.predictor import Predictor
from tests.conftest import ROOT, SHIPPED_WEIGHTS

STATIC_DIR = ROOT / "static"


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: [sources]}."""
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in parsed, f"{words[0]} given twice"
            parsed[words[0]] = words[1:]
    return parsed


def assert_hardened(response: httpx.Response) -> None:
    """Each security header present exactly once, and the strict CSP (the same everywhere)."""
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
        assert len(response.headers.get_list(name)) == 1, name
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    everything = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in everything
    assert "'unsafe-eval'" not in everything
    assert "*" not in everything


# ------------------------------------------------------------------ headers
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/api/model", {}, 200),
        ("POST", "/api/predict", {"json": {"pixels": [[0] * 28] * 27 + [[255] * 28]}}, 200),
        ("POST", "/api/predict", {"json": {"pixels": [1]}}, 422),
        ("POST", "/api/predict", {"content": b"x", "headers": {"Content-Type": "text/plain"}}, 415),
        ("POST", "/api/predict", {"content": b"", "headers": {"Content-Type": "image/png"}}, 400),
        ("GET", "/api/predict", {}, 405),
        ("GET", "/static/js/index.js", {}, 200),
        ("GET", "/static/css/site.css", {}, 200),
        ("GET", "/static/favicon.svg", {}, 200),
        ("GET", "/static/missing.js", {}, 404),
        ("GET", "/no/such/page", {}, 404),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/docs", {}, 200),
        ("GET", "/redoc", {}, 404),
        ("GET", "/favicon.ico", {}, 200),
        ("GET", "/static/vendor/swagger-ui/swagger-ui-bundle.js", {}, 200),
        ("POST", "/api/predict/", {"json": {"pixels": [[0] * 28] * 27 + [[255] * 28]}}, 200),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert_hardened(response)


def test_static_files_are_served_with_their_real_type(client: TestClient) -> None:
    """nosniff only works if the type is right: a script must be sent as JavaScript."""
    script = client.get("/static/js/index.js")
    assert script.headers["content-type"].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )
    assert client.get("/static/css/site.css").headers["content-type"].startswith("text/css")


# ------------------------------------------------------------------ the page
class InlineCodeFinder(HTMLParser):
    """Collects every place a page would need 'unsafe-inline': scripts without src, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts_with_src: list[str] = []
        self.stylesheets: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value for name, value in attrs}
        if tag == "script":
            if names.get("src"):
                self.scripts_with_src.append(names["src"] or "")
            else:
                self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")
        if "style" in names:
            self.problems.append(f'style="" on <{tag}>')
        handlers = sorted(name for name in names if name.startswith("on"))
        if handlers:
            self.problems.append(f"inline handler {handlers} on <{tag}>")
        href = names.get("href") or ""
        if tag == "a":
            if href.lower().startswith("javascript:"):
                self.problems.append("javascript: link")
            self.links.append(href)
        if tag == "link" and "stylesheet" in (names.get("rel") or "").split():
            self.stylesheets.append(href)


def test_inline_code_finder_sees_inline_code() -> None:
    finder = InlineCodeFinder()
    finder.feed(
        '<div style="color: red"><script>alert(1)</script><style>p {}</style>'
        '<button onclick="go()">x</button><a href="javascript:go()">y</a>'
        '<script type="module" src="/static/js/index.js"></script></div>'
    )
    assert len(finder.problems) == 5
    assert finder.scripts_with_src == ["/static/js/index.js"]


def our_pages(client: TestClient) -> list[str]:
    """The drawing page and every same-origin HTML page it links to (/docs included)."""
    finder = InlineCodeFinder()
    finder.feed(client.get("/").text)
    linked = [href for href in finder.links if href.startswith("/") and not href.startswith("//")]
    pages = ["/"]
    for href in linked:
        if href in pages:
            continue
        response = client.get(href)
        if response.status_code == 200 and response.headers["content-type"].startswith("text/html"):
            pages.append(href)
    return pages


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    pages = our_pages(client)
    assert {"/", "/model", "/docs"} <= set(pages)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200
        assert_hardened(response)
        finder = InlineCodeFinder()
        finder.feed(response.text)
        assert finder.problems == [], path
        assert finder.scripts_with_src or path != "/", "the drawing page loads no script"
        for src in finder.scripts_with_src:  # same origin, from /static, and really there
            assert src.startswith("/static/"), src
            assert client.get(src).status_code == 200, src
        for href in finder.stylesheets:
            assert href.startswith("/static/"), href
            assert client.get(href).status_code == 200, href


def test_page_script_needs_no_unsafe_eval() -> None:
    """A strict script-src also forbids eval and friends; the page scripts use none of them."""
    scripts = sorted((STATIC_DIR / "js").glob("*.js"))
    assert scripts, "the page scripts live in static/js/"
    forbidden = r"\beval\(|new Function\b|setTimeout\(\s*['\"`]|setInterval\(\s*['\"`]"
    for script in scripts:
        source = script.read_text(encoding="utf-8")
        assert re.findall(forbidden, source) == [], script.name
        assert re.findall(r"setAttribute\(\s*['\"]style['\"]", source) == [], script.name


# ------------------------------------------------------------------ static files
def raw_get(app: FastAPI, raw_path: bytes) -> tuple[int, bytes]:
    """GET a path exactly as written, as a server such as uvicorn hands it to the app.

    An HTTP client would remove `..` segments before sending; an attacker's client does not.
    Like uvicorn, `path` is the percent-decoded raw path, with no other normalisation.
    """
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(path.decode("latin-1")),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = []

    async def run() -> None:
        finished = anyio.Event()
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished.wait()  # a real client stays connected until the answer is sent
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        with anyio.fail_after(10):
            await app(scope, receive, send)  # type: ignore[arg-type]

    anyio.run(run)
    status = messages[0]["status"]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, body


@pytest.fixture(scope="module")
def static_app() -> Iterator[FastAPI]:
    app = create_app(Settings(weights=SHIPPED_WEIGHTS))
    with TestClient(app):  # run the lifespan, as a server would
        yield app


def test_raw_get_serves_a_real_static_file(static_app: FastAPI) -> None:
    """The helper below is honest: it does fetch a file that exists."""
    status, body = raw_get(static_app, b"/static/js/index.js")
    assert status == 200
    assert body == (STATIC_DIR / "js" / "index.js").read_bytes()


SECRET_FILES = {
    "app/main.py": b"def create_app",
    "templates/index.html": b"{% extends",
    "pyproject.toml": b"[project]",
    "/etc/passwd": b"root:",
}


@pytest.mark.parametrize(
    "raw_path",
    [
        b"/static/../app/main.py",
        b"/static/%2e%2e/app/main.py",
        b"/static/..%2fapp%2fmain.py",
        b"/static/%2e%2e%2fapp%2fmain.py",
        b"/static/%252e%252e/app/main.py",
        b"/static/..%5capp%5cmain.py",
        b"/static/....//app/main.py",
        b"/static/style.css/../../app/main.py",
        b"/static/../templates/index.html",
        b"/static/../pyproject.toml",
        b"/static/../../../../../../etc/passwd",
        b"/static//etc/passwd",
        b"/static/%2fetc%2fpasswd",
        b"/static/%2f%2fetc%2fpasswd",
        b"/static/app.js%00.png",
        b"/static/" + b"a" * 5000,
        b"/static/",
        b"/static/..",
    ],
)
def test_static_path_traversal_is_404(static_app: FastAPI, raw_path: bytes) -> None:
    status, body = raw_get(static_app, raw_path)
    assert status == 404, body[:200]
    assert json.loads(body) == {"detail": "Not Found", "code": "not_found"}
    for marker in SECRET_FILES.values():
        assert marker not in body


@pytest.mark.parametrize(
    "path",
    ["/static/%2e%2e/app/main.py", "/static/..%2fapp%2fmain.py", "/static/%2e%2e%2fpyproject.toml"],
)
def test_static_path_traversal_through_a_client_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "def create_app" not in response.text
    assert_hardened(response)


def test_static_folder_is_not_listed(client: TestClient) -> None:
    response = client.get("/static/")
    assert response.status_code == 404
    assert "favicon.svg" not in response.text


# ------------------------------------------------------------------ unexpected errors
SECRET = "secret detail at /work/main/model/predictor.py line 60"


class ExplodingPredictor:
    """Stands in for the model: describes itself, then fails on every prediction."""

    def __init__(self, real: Predictor) -> None:
        self.real = real

    def info(self) -> dict[str, Any]:
        return self.real.info()

    def predict(self, images: object, prototypes: object = None) -> object:
        raise RuntimeError(SECRET)


@pytest.fixture(scope="module")
def exploding_client() -> Iterator[TestClient]:
    predictor = ExplodingPredictor(Predictor.from_file(SHIPPED_WEIGHTS))
    app = create_app(Settings(weights=SHIPPED_WEIGHTS), predictor=predictor)  # type: ignore[arg-type]
    # The server answers instead of the test re-raising the error.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/predict", {"pixels": [[0] * 28] * 27 + [[255] * 28]}),
        ("/api/predict/batch", {"instances": [{"pixels": [[0] * 28] * 27 + [[255] * 28]}]}),
    ],
)
def test_unexpected_error_is_500_without_internals(
    exploding_client: TestClient, caplog: pytest.LogCaptureFixture, path: str, payload: object
) -> None:
    with caplog.at_level("ERROR", logger="digits"):
        response = exploding_client.post(path, json=payload)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "code": "internal_error"}
    for leak in ("Traceback", "RuntimeError", "secret", "/work/", ".py", "line "):
        assert leak not in response.text
    assert_hardened(response)
    # ... while the log keeps the traceback for whoever runs the server.
    assert any(record.exc_info and SECRET in str(record.exc_info[1]) for record in caplog.records)
    assert exploding_client.get("/healthz").status_code == 200


def test_validation_errors_do_not_echo_the_input(client: TestClient) -> None:
    """A 422 names what is wrong, not what was sent (a huge body is not reflected back)."""
    marker = "reflected-" + "x" * 1000
    response = client.post("/api/predict", json={"image": 7, "pixels": marker})
    assert response.status_code == 422
    assert marker not in response.text
    assert len(response.content) < 2000


def test_shipped_weights_path_is_not_exposed_beyond_its_name(client: TestClient) -> None:
    """/api/model names the weight file but does not reveal the server's directory layout."""
    info = client.get("/api/model").json()
    assert info["weights_file"] == Path(info["weights_file"]).name

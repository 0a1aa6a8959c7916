"""The pages' routes besides / and /model: the API docs at /docs and the icon at /favicon.ico."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.security import PAGE_CSP
from tests.conftest import ROOT

SWAGGER_DIR = ROOT / "static" / "vendor" / "swagger-ui"


class LinkCollector(HTMLParser):
    """Every src and href of a page, and the text of its inline scripts, if any."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.in_script = False
        self.inline_script = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value or "" for name, value in attrs if name in ("src", "href")]
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.inline_script += data.strip()


# ------------------------------------------------------------------ /docs
def test_docs_run_under_the_page_csp_from_our_own_files(client: TestClient) -> None:
    """FastAPI's /docs loaded Swagger UI from a CDN with an inline script, so it needed a looser
    policy; ours is a page like any other."""
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy == PAGE_CSP
    assert policy == client.get("/").headers["content-security-policy"]

    links = LinkCollector()
    links.feed(response.text)
    assert links.inline_script == ""
    assert "http://" not in response.text
    assert "https://" not in response.text
    for url in links.urls:  # root-relative or on the page, never another host (nor //host)
        assert url.startswith(("/", "#")), url
        assert not url.startswith("//"), url
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        url = f"/static/vendor/swagger-ui/{asset}"
        assert url in links.urls
        served = client.get(url)
        assert served.status_code == 200
        assert served.content == (SWAGGER_DIR / asset).read_bytes()
    for url in ("/static/js/docs.js", "/static/css/docs.css"):
        assert url in links.urls
        assert client.get(url).status_code == 200
    assert 'data-openapi-url="/openapi.json"' in response.text


def test_docs_start_script_asks_no_other_host() -> None:
    """Swagger UI's default would fetch a validator badge from validator.swagger.io."""
    script = (ROOT / "static" / "js" / "docs.js").read_text(encoding="utf-8")
    assert "validatorUrl: null" in script
    assert "http" not in script


def test_the_vendored_swagger_ui_names_its_version_source_and_licence() -> None:
    readme = (SWAGGER_DIR / "README.md").read_text(encoding="utf-8")
    assert "swagger-ui-dist" in readme
    assert "https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-5.35.0.tgz" in readme
    assert "Apache License" in (SWAGGER_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "SmartBear" in (SWAGGER_DIR / "NOTICE").read_text(encoding="utf-8")
    bundle = (SWAGGER_DIR / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert "SwaggerUIBundle" in bundle
    assert "swagger-ui-bundle.js.LICENSE.txt" in bundle[:200]  # the bundled code's licences
    assert (SWAGGER_DIR / "swagger-ui-bundle.js.LICENSE.txt").is_file()


def test_redoc_and_fastapis_own_docs_are_gone(client: TestClient) -> None:
    for path in ("/redoc", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "Not Found"


def test_the_schema_is_still_served_and_lists_no_page(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/predict" in paths
    assert not {"/docs", "/favicon.ico", "/", "/model"} & set(paths)


# ------------------------------------------------------------------ /favicon.ico
def test_favicon_ico_is_an_icon_image(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])
    # The mark of favicon.svg: an indigo tile (#4338ca) with a white 7 on it.
    icon.size = (32, 32)
    pixels = icon.convert("RGBA")
    red, green, blue, alpha = pixels.getpixel((4, 28))
    assert alpha == 255
    assert blue > 150
    assert max(red, green) < 100
    assert pixels.getpixel((16, 9))[:3] >= (230, 230, 230)


def test_pages_link_both_icons(client: TestClient) -> None:
    for path in ("/", "/model", "/docs"):
        links = LinkCollector()
        links.feed(client.get(path).text)
        assert "/favicon.ico" in links.urls, path
        assert "/static/favicon.svg" in links.urls, path


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_asking_for_a_missing_page_gets_an_html_404(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert 'href="/"' in response.text
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/no-such-page", "*/*"),  # curl, scripts
        ("/no-such-page", "application/json"),
        ("/api/no-such-endpoint", BROWSER_ACCEPT),  # the API answers JSON to anyone
        ("/static/no-such-file.js", BROWSER_ACCEPT),
    ],
)
def test_other_404s_stay_json(client: TestClient, path: str, accept: str) -> None:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"

"""The API docs page (/docs) in a real Chromium with every other host cut off: Swagger UI loads
from our own static files, lists the operations and runs one against the server, under the
same strict Content-Security-Policy as every page. No console errors (the `new_page` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.test_csp import RECORD_VIOLATIONS

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

DOCS_TIMEOUT_MS = 15_000  # Swagger UI is a 1.7 MB script; the machine may be busy training


def offline_docs_page(new_page: Callable[..., Page], live_server: str) -> tuple[Page, list[str]]:
    """/docs with every request to another host aborted; returns the page and those requests."""
    page: Page = new_page()
    elsewhere: list[str] = []

    def only_the_test_server(route: Route) -> None:
        url = route.request.url
        if url == live_server or url.startswith(live_server + "/") or url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_the_test_server)
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=DOCS_TIMEOUT_MS)
    return page, elsewhere


def test_docs_list_the_operations_and_run_one_offline(
    new_page: Callable[..., Page], live_server: str
) -> None:
    page, elsewhere = offline_docs_page(new_page, live_server)

    paths = page.locator(".opblock-summary-path").evaluate_all(
        "nodes => nodes.map(node => node.dataset.path)"
    )
    for path in ("/api/predict", "/api/predict/batch", "/api/model", "/healthz"):
        assert path in paths, paths

    # GET /healthz: open it, "Try it out", "Execute", and read the server's answer.
    healthz = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/healthz"]')
    )
    healthz.locator(".opblock-summary").click()
    healthz.get_by_role("button", name="Try it out").click()
    healthz.get_by_role("button", name="Execute").click()
    response = healthz.locator(".live-responses-table .response")
    response.wait_for(timeout=DOCS_TIMEOUT_MS)
    assert response.locator(".response-col_status").inner_text().strip() == "200"
    body = response.locator(".response-col_description .microlight, .response-col_description pre")
    assert '"status": "ok"' in body.first.inner_text()

    assert elsewhere == [], "the docs page asked another host"
    assert page.evaluate("window.cspViolations") == [], "Swagger UI broke the page's CSP"
    # Swagger UI's own stylesheet really applies (style-src 'self' lets it in).
    get_block = page.locator(".swagger-ui .opblock-get").first
    assert get_block.evaluate("node => getComputedStyle(node).borderColor") == "rgb(97, 175, 254)"

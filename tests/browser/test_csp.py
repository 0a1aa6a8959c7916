"""Both pages in a real Chromium under their real Content-Security-Policy: no console error and
no CSP violation, on load and after using the page (a stroke drawn, a weight tile pointed at).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_page import ANSWER_TIMEOUT_MS, DIGIT_STROKES, draw_with_mouse

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# Runs before any of the page's own scripts: collects every violation the page reports.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""


def use_drawing_page(page: Page) -> None:
    draw_with_mouse(page, DIGIT_STROKES[1])
    page.wait_for_selector("[data-testid=prediction][data-state=ready]", timeout=ANSWER_TIMEOUT_MS)


def use_model_page(page: Page) -> None:
    for testid in ("curves", "confusion", "per-class", "mistakes", "weights-grid"):
        page.wait_for_selector(
            f"[data-testid={testid}][data-state=ready]", timeout=ANSWER_TIMEOUT_MS
        )
    box = page.get_by_test_id("weights-grid").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 5, box["y"] + 5)


@pytest.mark.parametrize(
    ("path", "use"), [("/", use_drawing_page), ("/model", use_model_page)], ids=["draw", "model"]
)
def test_page_logs_no_error_and_breaks_no_csp(
    new_page: Callable[..., Page], console: Any, path: str, use: Callable[[Page], None]
) -> None:
    page: Page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(path)
    page.wait_for_load_state("load")
    assert page.evaluate("window.cspViolations") == [], "on load"
    assert console.errors == [], "on load"

    use(page)
    assert page.evaluate("window.cspViolations") == [], "after using the page"
    assert console.errors == [], "after using the page"

    # The watch is not blind: an inline style attribute is refused and seen.
    console.expect("Applying inline style violates")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("window.cspViolations.length > 0")
    assert page.evaluate("window.cspViolations") == ["style-src-attr blocked inline"]

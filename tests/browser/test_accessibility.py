"""axe-core on both pages in a real Chromium: no "serious" or "critical" violation on the
drawing page (empty; with a digit read, looked inside and turned into another; in number mode)
or on the model page, in light and dark, on a desktop and on a 360x640 phone.

axe-core is vendored under tests/vendor/axe-core/ (see its VERSION.md), so this runs offline.
It goes in as an init script: the page's Content-Security-Policy refuses inline scripts, and
an init script is the browser's own, not the page's, so the CSP holds while axe runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_model_page import open_model_page
from tests.browser.test_number_mode import switch_mode
from tests.browser.test_page import (
    ANSWER_TIMEOUT_MS,
    DIGIT_STROKES,
    draw_with_mouse,
    wait_for_answer,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")  # axe's two worst impacts; "minor"/"moderate" are reported
SCREENS = [
    pytest.param({"width": 1280, "height": 800}, id="desktop"),
    pytest.param({"width": 360, "height": 640}, id="360x640"),
]
SCHEMES = ["light", "dark"]

# axe's default rule set (WCAG 2.x A and AA, and its best practices) on the whole document;
# only violations come back, each with the elements it found and what to fix.
RUN_AXE = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map(
      (node) => `${node.target.join(" ")}: ${node.failureSummary.replace(/\\s+/g, " ")}`,
    ),
  }));
}"""


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    assert page.evaluate("typeof axe") == "object", "axe-core was not injected"
    # Colours are measured as painted: let fades (stale activations, pending answers) finish.
    page.wait_for_function(
        "() => document.getAnimations().every((animation) => animation.playState !== 'running')"
    )
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}):\n  " + "\n  ".join(v["nodes"][:8])
        for v in violations
    )


def new_axe_page(
    new_page: Callable[..., Page], viewport: dict[str, int], scheme: str
) -> Callable[..., Page]:
    """Like `new_page`, in this viewport and colour scheme, with axe-core in every document
    the page opens."""

    def make(**extra: Any) -> Page:
        page = new_page(viewport=viewport, color_scheme=scheme, **extra)
        page.add_init_script(path=str(AXE))
        return page

    return make


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", SCREENS)
def test_drawing_page_has_no_serious_violations(
    new_page: Callable[..., Page], viewport: dict[str, int], scheme: str
) -> None:
    page = new_axe_page(new_page, viewport, scheme)()
    page.goto("/")
    page.wait_for_load_state("load")
    empty = blocking_violations(page)
    assert not empty, "empty page:\n" + describe(empty)

    # With an answer, the bars, the look inside and a finished "make it a ..." on show.
    draw_with_mouse(page, DIGIT_STROKES[7])
    assert wait_for_answer(page) == "7"
    page.get_by_test_id("attack").click()
    page.wait_for_selector(
        "#attack-result[data-state=reached], #attack-result[data-state=missed]",
        timeout=ANSWER_TIMEOUT_MS,
    )
    page.get_by_test_id("saliency-toggle").check()
    page.wait_for_selector("[data-testid=activations][data-state=ready]", timeout=ANSWER_TIMEOUT_MS)
    answered = blocking_violations(page)
    assert not answered, "with an answer:\n" + describe(answered)

    # Number mode: the wide pad, the number by it and the pieces list.
    switch_mode(page, "number")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=number]').dataset.state !== 'pending'",
        timeout=ANSWER_TIMEOUT_MS,
    )
    number_mode = blocking_violations(page)
    assert not number_mode, "number mode:\n" + describe(number_mode)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", SCREENS)
def test_model_page_has_no_serious_violations(
    new_page: Callable[..., Page], viewport: dict[str, int], scheme: str
) -> None:
    page = open_model_page(new_axe_page(new_page, viewport, scheme))
    violations = blocking_violations(page)
    assert not violations, describe(violations)

"""Digit mode's words for what the server says the drawing is, in a real Chromium: one digit
(with the right article), not a digit, several digits (read as a number, one click from number
mode), and an older server that says nothing about it.

The page's side runs against answers whose `verdict` is set on the way back, so it is checked
whatever the served weights hold. The same drawings against the server's own verdict run only
when its weight file carries the verdict classifier (GET /api/model: verdict.available).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from model.data.numbers import NUMBER_PAD
from tests.browser.test_number_mode import switch_mode, wait_for_number
from tests.browser.test_page import (
    DIGIT_STROKES,
    PREDICT_PATH,
    Stroke,
    draw_with_mouse,
    pad_ink_box,
    posts_to,
    probabilities,
    wait_for_answer,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

# The "11" and tap on the square pad, where tests/app/test_verdict_api.py draws them
# (px of the 280 px pad / 280): two strokes side by side, each a 1; a dot the brush's width.
ELEVEN: list[Stroke] = [
    [(105 / 280, 50 / 280), (103 / 280, 230 / 280)],
    [(175 / 280, 50 / 280), (173 / 280, 230 / 280)],
]
DOT: list[Stroke] = [[(0.5, 0.5)]]


def status(page: Page) -> str:
    return page.locator("#status").inner_text()


def with_verdict(verdict: str | None) -> Callable[[Route], None]:
    """A route handler: the real /api/predict answer with its verdict replaced (None: removed,
    as an older server answers)."""

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        if verdict is None:
            body.pop("verdict", None)
        else:
            body["verdict"] = verdict
        route.fulfill(response=response, json=body)

    return handle


@pytest.fixture(scope="module")
def verdict_classifier(live_server: str) -> None:
    """Skip unless the served weight file has the verdict classifier."""
    with urllib.request.urlopen(f"{live_server}/api/model") as response:
        info: dict[str, Any] = json.load(response)
    verdict = info.get("verdict") or {}
    if not verdict.get("available"):
        pytest.skip(
            f"the server gives no verdicts yet: {verdict.get('detail', 'no verdict field')}"
        )


# ---------------------------------------------------------------------------------------------
# The page's side


def test_an_eight_takes_an(page: Page) -> None:
    draw_with_mouse(page, DIGIT_STROKES[8])
    assert wait_for_answer(page) == "8"
    assert status(page) in ("That's an 8.", "Probably an 8.", "Not sure. Maybe an 8?")


def test_not_a_digit_claims_no_digit(page: Page) -> None:
    page.route(f"**{PREDICT_PATH}", with_verdict("not_a_digit"))
    draw_with_mouse(page, DIGIT_STROKES[1])

    assert wait_for_answer(page) == "", "no digit claimed"
    assert status(page) == "That doesn't look like a digit."
    assert page.locator("#confidence").inner_text() == ""
    assert (
        page.get_by_test_id("compact-answer")
        .inner_text()
        .strip()
        .endswith("That doesn't look like a digit.")
    )
    # The bars stay, muted.
    assert max(float(value) for value in probabilities(page)) > 0.5
    bars = page.locator("#bars")
    assert bars.is_visible()
    assert "is-muted" in (bars.get_attribute("class") or "")
    assert float(bars.evaluate("(bars) => getComputedStyle(bars).opacity")) < 1
    assert not page.get_by_test_id("read-as-number").is_visible()


def test_several_digits_are_read_as_a_number(page: Page) -> None:
    numbers = posts_to(page, "/api/number")
    page.route(f"**{PREDICT_PATH}", with_verdict("several_digits"))
    draw_with_mouse(page, ELEVEN)

    assert wait_for_answer(page) == ""
    assert status(page) == "That looks like 2 digits: 11."
    sent = json.loads(numbers[-1].post_data or "{}")
    assert len(sent["strokes"]) == 2, "the same strokes go to /api/number"
    square = pad_ink_box(page)

    page.get_by_test_id("read-as-number").click()

    assert page.get_by_test_id("mode-number").get_attribute("aria-pressed") == "true"
    assert wait_for_number(page) == "11"
    assert page.locator("[data-testid=piece]").count() == 2
    wide = pad_ink_box(page)
    assert square is not None
    assert wide is not None
    assert wide["left"] == pytest.approx(square["left"] / 3, abs=0.01), "kept, at the left"
    assert wide["right"] == pytest.approx(square["right"] / 3, abs=0.01), "at the same scale"


def test_an_older_server_without_verdicts_reads_as_before(page: Page) -> None:
    page.route(f"**{PREDICT_PATH}", with_verdict(None))
    draw_with_mouse(page, DIGIT_STROKES[7])
    assert wait_for_answer(page) == "7"
    assert status(page) == "That's a 7."
    assert "is-muted" not in (page.locator("#bars").get_attribute("class") or "")


# ---------------------------------------------------------------------------------------------
# Against the server's own verdict (waits for a weight file with the verdict classifier)


@pytest.mark.usefixtures("verdict_classifier")
def test_eleven_looks_like_two_digits(page: Page) -> None:
    draw_with_mouse(page, ELEVEN)
    assert wait_for_answer(page) == ""
    assert status(page) == "That looks like 2 digits: 11."
    assert page.get_by_test_id("read-as-number").is_visible()


@pytest.mark.usefixtures("verdict_classifier")
def test_a_dot_does_not_look_like_a_digit(page: Page) -> None:
    draw_with_mouse(page, DOT)
    assert wait_for_answer(page) == ""
    assert status(page) == "That doesn't look like a digit."


# The letter X on the square pad: two strokes crossing, one piece of ink.
LETTER_X: list[Stroke] = [
    [(90 / 280, 60 / 280), (190 / 280, 220 / 280)],
    [(190 / 280, 60 / 280), (90 / 280, 220 / 280)],
]


@pytest.mark.usefixtures("verdict_classifier")
def test_a_letter_x_does_not_look_like_a_digit(page: Page) -> None:
    draw_with_mouse(page, LETTER_X)
    assert wait_for_answer(page) == ""
    assert status(page) == "That doesn't look like a digit."


@pytest.mark.usefixtures("verdict_classifier")
def test_a_letter_x_in_number_mode_is_no_number(page: Page) -> None:
    # Cut into pieces, its strokes read "11"; as one piece of ink it is not a digit.
    switch_mode(page, "number")
    width, height = NUMBER_PAD
    crossing = [[(380 / width, 80 / height), (460 / width, 200 / height)],
                [(460 / width, 80 / height), (380 / width, 200 / height)]]  # fmt: skip
    draw_with_mouse(page, crossing)
    assert wait_for_number(page) == ""
    pieces = page.locator("[data-testid=piece]")
    assert pieces.count() == 1
    assert pieces.nth(0).get_attribute("data-verdict") == "not_a_digit"

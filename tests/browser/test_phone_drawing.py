"""The drawing page's first minute on a phone, upright (360x640) and sideways (844x390): the
whole pad on the first screen with the answer beside or above it, drawn on by finger or mouse
with no scrolling at all; "yours + change = now" on one line that fits the screen; and the
friendly "can't see any ink" message keyed on the server's error code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_number_mode import switch_mode
from tests.browser.test_page import (
    ANSWER_TIMEOUT_MS,
    DIGIT_STROKES,
    PREDICT_PATH,
    draw_with_mouse,
    draw_with_touch,
    wait_for_answer,
)
from tests.browser.test_small_screens import inside_viewport

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

SCREENS = [pytest.param((360, 640), id="360x640"), pytest.param((844, 390), id="844x390")]
FRIENDLY_NO_INK = "I can't see any ink yet. Try drawing a bit bigger."


def phone(new_page: Callable[..., Page], screen: tuple[int, int], touch: bool = True) -> Page:
    width, height = screen
    options: dict[str, Any] = {"viewport": {"width": width, "height": height}}
    if touch:
        options |= {"has_touch": True, "is_mobile": True, "device_scale_factor": 2}
    page: Page = new_page(**options)
    page.goto("/")
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("pointer", ["touch", "mouse"])
@pytest.mark.parametrize("screen", SCREENS)
def test_pad_and_answer_are_on_the_first_screen_while_drawing(
    new_page: Callable[..., Page], screen: tuple[int, int], pointer: str
) -> None:
    """No scrolling at all, before or after: a finger on the pad draws (it cannot scroll the
    page), so the whole pad must be on the first screen, and the answer beside it."""
    width, height = screen
    page = phone(new_page, screen, touch=pointer == "touch")
    pad = page.get_by_test_id("pad")
    assert page.evaluate("window.scrollY") == 0
    assert inside_viewport(pad, width, height), "the whole pad is on the first screen"

    draw = draw_with_touch if pointer == "touch" else draw_with_mouse
    draw(page, DIGIT_STROKES[7])
    assert wait_for_answer(page) == "7"

    assert page.evaluate("window.scrollY") == 0, "drawing scrolled the page"
    answer = page.get_by_test_id("compact-answer")
    assert answer.is_visible()
    assert answer.inner_text().split()[0] == "7"
    assert inside_viewport(answer, width, height), "the answer is in sight with the pad"
    assert inside_viewport(pad, width, height)
    # Beside or above the pad, never over the drawing.
    answer_box, pad_box = answer.bounding_box(), pad.bounding_box()
    assert answer_box is not None
    assert pad_box is not None
    beside = answer_box["x"] + answer_box["width"] <= pad_box["x"] + 0.5
    above = answer_box["y"] + answer_box["height"] <= pad_box["y"] + 0.5
    assert beside or above, (answer_box, pad_box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("screen", SCREENS)
def test_the_attack_result_is_one_line_that_fits_the_screen(
    new_page: Callable[..., Page], screen: tuple[int, int]
) -> None:
    width = screen[0]
    page = phone(new_page, screen, touch=False)
    draw_with_mouse(page, DIGIT_STROKES[7])
    assert wait_for_answer(page) == "7"
    page.get_by_test_id("attack").click()
    page.wait_for_selector(
        "#attack-result[data-state=reached], #attack-result[data-state=missed]",
        timeout=ANSWER_TIMEOUT_MS,
    )
    result = page.locator("#attack-result")
    result.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "sideways overflow"

    # yours, +, change, =, now: left to right on one line, all on the screen.
    parts = result.locator(":scope > *")
    assert parts.count() == 5
    boxes = [parts.nth(i).bounding_box() for i in range(5)]
    assert all(box is not None for box in boxes)
    for box in boxes:
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width + 0.5, box
    lefts = [box["x"] for box in boxes if box is not None]
    assert lefts == sorted(lefts), "in reading order"
    figures = result.locator("figure")
    tops = {round(box["y"]) for box in (figures.nth(i).bounding_box() for i in range(3)) if box}
    assert len(tops) == 1, f"the three pictures on one line: tops {tops}"

    # The signs sit level with the pictures' middle; every caption fits its column.
    picture = page.locator("#attack-original").bounding_box()
    assert picture is not None
    assert picture["width"] >= 64, "pictures big enough to see the change"
    middle = picture["y"] + picture["height"] / 2
    for sign in result.locator(".attack-op").all():
        box = sign.bounding_box()
        assert box is not None
        assert abs(box["y"] + box["height"] / 2 - middle) <= 4
    overflowing = result.locator("figcaption").evaluate_all(
        "captions => captions"
        ".filter((caption) => caption.scrollWidth > caption.clientWidth + 1)"
        ".map((caption) => caption.textContent)"
    )
    assert overflowing == []


# ---- "can't see any ink" --------------------------------------------------------------------


def answer_with(page: Page, path: str, body: dict[str, str]) -> None:
    """Have the server answer every POST to `path` with 422 and `body`."""

    def fail(route: Route) -> None:
        route.fulfill(status=422, json=body)

    page.route(f"**{path}", fail)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # The code decides, whatever the words: they are for people and may change.
        pytest.param(
            {"detail": "there is nothing to read", "code": "no_ink"}, FRIENDLY_NO_INK, id="code"
        ),
        # A server from before the codes: its detail, as it is worded.
        pytest.param({"detail": "no ink found: draw a digit"}, FRIENDLY_NO_INK, id="detail-only"),
        # Another code is another error, even if the words mention ink.
        pytest.param(
            {"detail": "no ink found in a pixel list too large", "code": "too_large"},
            "Couldn't read that drawing (no ink found in a pixel list too large).",
            id="other-code",
        ),
    ],
)
def test_no_ink_message_follows_the_error_code(
    page: Page, console: Any, body: dict[str, str], message: str
) -> None:
    console.expect("status of 422")  # Chromium logs every failed fetch; this one is on purpose
    answer_with(page, PREDICT_PATH, body)
    draw_with_mouse(page, DIGIT_STROKES[1])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').dataset.state === 'error'",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert page.locator("#status").inner_text() == message
    assert page.locator("#compact-answer .compact-text").inner_text() == message


def test_number_mode_says_no_ink_too(page: Page, console: Any) -> None:
    console.expect("status of 422")
    answer_with(page, "/api/number", {"detail": "nothing here", "code": "no_ink"})
    switch_mode(page, "number")
    draw_with_mouse(page, DIGIT_STROKES[1])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=number]').dataset.state === 'error'",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert page.get_by_test_id("number-verdict").inner_text() == FRIENDLY_NO_INK


def test_the_real_servers_no_ink_answer_gets_the_friendly_message(page: Page, console: Any) -> None:
    """The contract between the page and the server as it is now: a blank drawing sent to
    /api/predict comes back as an error the page's own errorMessage calls no ink."""
    console.expect("status of 422")
    said: dict[str, Any] = page.evaluate(
        """async () => {
             const { errorMessage } = await import("/static/js/answers.js");
             const canvas = document.createElement("canvas");
             canvas.width = canvas.height = 280;
             const context = canvas.getContext("2d");
             context.fillStyle = "#ffffff";
             context.fillRect(0, 0, 280, 280);
             const response = await fetch("/api/predict", {
               method: "POST",
               headers: { "Content-Type": "application/json" },
               body: JSON.stringify({ image: canvas.toDataURL("image/png") }),
             });
             const body = await response.json();
             return { status: response.status, body, message: errorMessage(response.status, body) };
           }"""
    )
    assert said["status"] == 422, said
    assert said["message"] == FRIENDLY_NO_INK, said


@pytest.mark.parametrize("screen", SCREENS)
def test_the_no_ink_message_reads_whole_by_the_pad(
    new_page: Callable[..., Page], console: Any, screen: tuple[int, int]
) -> None:
    """The sentence by the pad is not cut to "I can't see any ink yet. Try dr…", and showing it
    does not move the pad under the finger."""
    console.expect("status of 422")
    width, height = screen
    page = phone(new_page, screen, touch=False)
    pad_before = page.get_by_test_id("pad").bounding_box()
    answer_with(page, PREDICT_PATH, {"detail": "no ink found: draw a digit", "code": "no_ink"})
    draw_with_mouse(page, DIGIT_STROKES[1])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').dataset.state === 'error'",
        timeout=ANSWER_TIMEOUT_MS,
    )
    text = page.locator("#compact-answer .compact-text")
    assert text.inner_text() == FRIENDLY_NO_INK
    assert inside_viewport(text, width, height)
    cut = text.evaluate(
        "t => t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1"
    )
    assert not cut, "the message is cut short"
    assert page.get_by_test_id("pad").bounding_box() == pad_before, "the pad moved"

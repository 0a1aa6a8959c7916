"""The drawing page in a real Chromium: draw with mouse and touch, read what the network says.

Digits are drawn as stroke paths in pad coordinates (0..1 across the canvas), turned into real
pointer input by Playwright's mouse or by CDP touch events, so the page's own event handling,
coordinate mapping, PNG export and the real /api/predict are all exercised.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import urllib.request
from collections.abc import Callable
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Protocol

import pytest

# The ten digits as strokes, in pad fractions: one copy, shared with the serving tests.
from tests.model.serving.drawings import DIGIT_STROKES, Point, Stroke

if TYPE_CHECKING:  # only for annotations: without Playwright, conftest.py skips these tests
    from playwright.sync_api import Locator, Page, Request, Route

pytestmark = pytest.mark.browser


class ConsoleWatch(Protocol):
    """The part of conftest's `console` fixture a test uses to announce an error it causes."""

    def expect(self, text: str) -> None: ...


PREDICT_PATH = "/api/predict"
ANSWER_TIMEOUT_MS = 10_000


# Digits the shipped model must read from these paths; a miss on any other digit is reported
# (as xfail and in the summary) without failing the run. With the first shipped weights all ten
# were right at >99.9%, also scaled by 0.7 and 1.15, shifted, and drawn with brushes 12 and 30.
RELIABLE_DIGITS = set(range(10))


# ---------------------------------------------------------------------------------------------
# Helpers


def pad_to_screen(page: Page, point: Point) -> Point:
    box = page.get_by_test_id("pad").bounding_box()
    assert box is not None, "the pad is not visible"
    return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]


def densify(stroke: Stroke, max_gap: float = 0.03) -> Stroke:
    """The stroke with extra points so no two neighbours are more than max_gap apart, like
    the closely spaced samples of a real hand."""
    points = [stroke[0]]
    for start, end in itertools.pairwise(stroke):
        n = max(1, math.ceil(math.dist(start, end) / max_gap))
        points += [
            (start[0] + (end[0] - start[0]) * i / n, start[1] + (end[1] - start[1]) * i / n)
            for i in range(1, n + 1)
        ]
    return points


def draw_with_mouse(page: Page, strokes: list[Stroke]) -> None:
    """Draw each stroke as one press-move-release of the real mouse."""
    for stroke in strokes:
        points = [pad_to_screen(page, point) for point in densify(stroke)]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def draw_with_touch(page: Page, strokes: list[Stroke]) -> None:
    """Draw each stroke with one finger, through Chrome DevTools Protocol touch events."""
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = [pad_to_screen(page, point) for point in densify(stroke)]
        for i, (x, y) in enumerate(points):
            kind = "touchStart" if i == 0 else "touchMove"
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def wait_for_answer(page: Page) -> str:
    """Wait until the answer describes what is on the pad; return the predicted digit text."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').dataset.state !== 'pending'",
        timeout=ANSWER_TIMEOUT_MS,
    )
    prediction = page.get_by_test_id("prediction")
    state = prediction.get_attribute("data-state")
    assert state == "ready", (
        f"expected a prediction, got state {state!r}: " + page.locator("#status").inner_text()
    )
    return prediction.inner_text()


def probabilities(page: Page) -> list[str]:
    return [
        page.get_by_test_id(f"prob-{digit}").get_attribute("data-value") or ""
        for digit in range(10)
    ]


def preview_ink(page: Page) -> list[list[int]]:
    """The preview canvas as 28 rows of 28 ink values (0 where nothing is painted)."""
    flat: list[int] = page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid=preview]');
            const { width, height } = canvas;
            const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
            const ink = [];
            for (let i = 0; i < data.length; i += 4) {
                ink.push(Math.round((data[i] * data[i + 3]) / 255));
            }
            return ink;
        }"""
    )
    assert len(flat) == 28 * 28, "the preview canvas should be 28x28"
    return [flat[row * 28 : (row + 1) * 28] for row in range(28)]


def pad_ink_box(page: Page) -> dict[str, float] | None:
    """Bounding box of the ink on the pad canvas, as fractions of the pad; None if blank."""
    box: dict[str, float] | None = page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid=pad]');
            const { width, height } = canvas;
            const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
            let left = width, top = height, right = -1, bottom = -1;
            for (let y = 0; y < height; y += 1) {
                for (let x = 0; x < width; x += 1) {
                    if (data[(y * width + x) * 4 + 3] > 128) {
                        if (x < left) left = x;
                        if (x > right) right = x;
                        if (y < top) top = y;
                        if (y > bottom) bottom = y;
                    }
                }
            }
            if (right < 0) return null;
            return { left: left / width, right: (right + 1) / width,
                     top: top / height, bottom: (bottom + 1) / height };
        }"""
    )
    return box


def posts_to(page: Page, path: str) -> list[Request]:
    """Start recording the POSTs the page makes to `path` from now on."""
    requests: list[Request] = []
    page.on(
        "request",
        lambda request: (
            requests.append(request)
            if request.method == "POST" and request.url.endswith(path)
            else None
        ),
    )
    return requests


def predict_requests(page: Page) -> list[Request]:
    """Start recording the POSTs to /api/predict the page makes from now on."""
    return posts_to(page, PREDICT_PATH)


def lit_pixels(canvas: Locator) -> int:
    """How many pixels of a canvas are painted (alpha > 0)."""
    count: int = canvas.evaluate(
        """(canvas) => {
            const { width, height } = canvas;
            const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
            let lit = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) lit += 1;
            return lit;
        }"""
    )
    return count


def assert_empty_answer(page: Page) -> None:
    assert page.get_by_test_id("prediction").inner_text() == ""
    assert page.get_by_test_id("prediction").get_attribute("data-state") == "empty"
    assert all(value in ("0", "") for value in probabilities(page)), probabilities(page)
    assert sum(map(sum, preview_ink(page))) == 0, "the preview should be blank"


# ---------------------------------------------------------------------------------------------
# The page itself


class _InlineCodeFinder(HTMLParser):
    """Collects everything a strict CSP (self only, no 'unsafe-inline') would block."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")
        if "style" in attributes:
            self.problems.append(f"style= attribute on <{tag}>")
        self.problems += [f"{name}= on <{tag}>" for name in attributes if name.startswith("on")]
        url = attributes.get("src") if tag in ("script", "img") else None
        if tag == "link":
            url = attributes.get("href")
        if url and "//" in url and not url.startswith(self.origin):
            self.problems.append(f"<{tag}> loads from another origin: {url}")


def test_page_has_no_inline_script_or_style(live_server: str) -> None:
    with urllib.request.urlopen(f"{live_server}/") as response:
        html = response.read().decode()
        csp = response.headers.get("Content-Security-Policy", "")
    finder = _InlineCodeFinder(origin=live_server)
    finder.feed(html)
    assert finder.problems == []
    assert "script-src 'self'" in csp, f"CSP header: {csp!r}"
    assert "style-src 'self'" in csp, f"CSP header: {csp!r}"
    assert "unsafe-inline" not in csp, f"CSP header: {csp!r}"


def test_page_starts_empty_with_links_to_model_and_docs(page: Page) -> None:
    assert_empty_answer(page)
    assert page.get_by_test_id("undo").is_disabled()
    assert page.get_by_test_id("clear").is_disabled()
    assert page.get_by_role("link", name="Model").get_attribute("href") == "/model"
    assert page.get_by_role("link", name="API docs").get_attribute("href") == "/docs"
    assert page.get_by_role("link", name="Model").is_visible()
    assert page.get_by_role("link", name="API docs").is_visible()


# ---------------------------------------------------------------------------------------------
# Drawing and recognising


@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_drawn_digit_is_recognised(
    page: Page, digit: int, recognition_results: dict[int, tuple[int, float]]
) -> None:
    draw_with_mouse(page, DIGIT_STROKES[digit])
    answer = wait_for_answer(page)

    assert answer in set("0123456789"), f"prediction should be one digit: {answer!r}"
    values = [float(value) for value in probabilities(page)]
    assert sum(values) == pytest.approx(1.0, abs=1e-3)
    assert max(range(10), key=values.__getitem__) == int(answer), "the top bar is the answer"
    recognition_results[digit] = (int(answer), max(values))
    ink = preview_ink(page)
    assert sum(1 for row in ink for value in row if value > 64) >= 10, "preview shows ink"

    if digit in RELIABLE_DIGITS:
        assert int(answer) == digit
    elif int(answer) != digit:
        pytest.xfail(f"drew a {digit}, the network said {answer} (reported, not required)")


def test_predicts_live_while_drawing(page: Page) -> None:
    requests = predict_requests(page)
    points = [pad_to_screen(page, point) for point in densify(DIGIT_STROKES[0][0])]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[: len(points) // 2]:
        page.mouse.move(*point)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').textContent !== ''",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert requests, "a prediction should be requested before the stroke ends"
    for point in points[len(points) // 2 :]:
        page.mouse.move(*point)
    page.mouse.up()
    assert wait_for_answer(page) == "0"


def test_undo_removes_the_last_stroke(page: Page) -> None:
    draw_with_mouse(page, DIGIT_STROKES[1])
    one_answer = wait_for_answer(page)
    one_preview = preview_ink(page)

    draw_with_mouse(page, [[(0.25, 0.3), (0.75, 0.3)]])  # a bar across: no longer a clean 1
    wait_for_answer(page)
    assert preview_ink(page) != one_preview

    page.get_by_test_id("undo").click()
    assert wait_for_answer(page) == one_answer
    assert preview_ink(page) == one_preview, "after undo the network sees exactly the 1 again"

    requests = predict_requests(page)
    page.get_by_test_id("undo").click()
    assert_empty_answer(page)
    assert page.get_by_test_id("undo").is_disabled()
    assert pad_ink_box(page) is None
    page.wait_for_timeout(300)
    assert requests == [], "an empty pad is never sent to the server"


def test_ctrl_z_undoes(page: Page) -> None:
    draw_with_mouse(page, DIGIT_STROKES[7])
    wait_for_answer(page)
    page.keyboard.press("Control+z")
    assert_empty_answer(page)
    assert pad_ink_box(page) is None


def test_clear_button_empties_prediction_and_bars(page: Page) -> None:
    draw_with_mouse(page, DIGIT_STROKES[4])
    wait_for_answer(page)
    requests = predict_requests(page)

    page.get_by_test_id("clear").click()

    assert_empty_answer(page)
    assert pad_ink_box(page) is None
    page.wait_for_timeout(300)
    assert requests == [], "clearing does not ask the server anything"


@pytest.mark.parametrize("key", ["Escape", "Delete", "Backspace"])
def test_keyboard_clears(page: Page, key: str) -> None:
    draw_with_mouse(page, DIGIT_STROKES[7])
    wait_for_answer(page)
    page.keyboard.press(key)
    assert_empty_answer(page)
    assert pad_ink_box(page) is None


def test_answer_arriving_after_clear_is_ignored(page: Page) -> None:
    held: list[Any] = []
    page.route(f"**{PREDICT_PATH}", lambda route: held.append(route))
    draw_with_mouse(page, DIGIT_STROKES[1])
    for _ in range(100):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "drawing should have sent a request"

    page.keyboard.press("Escape")
    for route in held:
        # The page aborted this request when it cleared; answering it may raise.
        with contextlib.suppress(Exception):
            route.continue_()
    page.wait_for_timeout(500)
    assert_empty_answer(page)


@pytest.mark.parametrize(
    ("failure", "message", "console_note"),
    [
        pytest.param("no ink", "can't see any ink", "status of 422", id="no-ink"),
        pytest.param("unreachable", "can't reach the server", "net::ERR_FAILED", id="offline"),
    ],
)
def test_failed_prediction_shows_a_friendly_message(
    page: Page, console: ConsoleWatch, failure: str, message: str, console_note: str
) -> None:
    console.expect(console_note)  # Chromium logs every failed fetch; that one is on purpose

    def fail(route: Route) -> None:
        if failure == "unreachable":
            route.abort()
        else:
            route.fulfill(status=422, json={"detail": failure})

    page.route(f"**{PREDICT_PATH}", fail)
    draw_with_mouse(page, DIGIT_STROKES[1])

    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').dataset.state === 'error'",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert message in page.locator("#status").inner_text().lower()
    assert page.get_by_test_id("prediction").inner_text() == ""
    assert all(value in ("0", "") for value in probabilities(page))
    assert pad_ink_box(page) is not None, "the drawing stays so the person can go on"


def test_brush_width_changes_line_thickness(page: Page) -> None:
    line = [[(0.2, 0.5), (0.8, 0.5)]]
    page.get_by_label("Brush").fill("8")
    draw_with_mouse(page, line)
    thin = pad_ink_box(page)
    page.keyboard.press("Escape")

    page.get_by_label("Brush").fill("36")
    draw_with_mouse(page, line)
    thick = pad_ink_box(page)
    wait_for_answer(page)

    assert thin is not None
    assert thick is not None
    assert (thick["bottom"] - thick["top"]) > 3 * (thin["bottom"] - thin["top"])


# ---------------------------------------------------------------------------------------------
# Coordinates, touch and small screens


@pytest.mark.parametrize(
    ("context_options", "scroll_y"),
    [
        pytest.param({"viewport": {"width": 900, "height": 420}}, 180, id="scrolled"),
        pytest.param({"device_scale_factor": 2}, 0, id="hidpi"),
    ],
)
def test_pointer_positions_map_onto_the_pad(
    new_page: Callable[..., Page], context_options: dict[str, Any], scroll_y: int
) -> None:
    page: Page = new_page(**context_options)
    page.goto("/")
    if scroll_y:
        page.evaluate(f"window.scrollTo(0, {scroll_y})")
        assert page.evaluate("window.scrollY") > 0, "the page should be taller than the viewport"
    stroke = [(0.3, 0.25), (0.3, 0.75)]  # a 1 left of centre, so a mapping error would show

    draw_with_mouse(page, [stroke])

    ink = pad_ink_box(page)
    assert ink is not None
    assert (ink["left"] + ink["right"]) / 2 == pytest.approx(0.3, abs=0.02)
    assert ink["top"] == pytest.approx(0.25, abs=0.06)
    assert ink["bottom"] == pytest.approx(0.75, abs=0.06)
    assert wait_for_answer(page) == "1"


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def test_phone_viewport_shows_the_whole_pad(new_page: Callable[..., Page]) -> None:
    page: Page = new_page(**PHONE)
    page.goto("/")
    box = page.get_by_test_id("pad").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert box["width"] >= 250, "the pad should use most of a phone's width"
    assert box["y"] + box["height"] <= 844, "the whole pad fits on the first screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"


def test_touch_drawing_predicts(new_page: Callable[..., Page]) -> None:
    page: Page = new_page(**PHONE)
    page.goto("/")
    scroll_before = page.evaluate("window.scrollY")

    draw_with_touch(page, DIGIT_STROKES[7])

    assert wait_for_answer(page) == "7"
    assert page.evaluate("window.scrollY") == scroll_before, "drawing must not scroll the page"
    ink = pad_ink_box(page)
    assert ink is not None
    assert ink["left"] == pytest.approx(0.3, abs=0.05)

"""Looking inside on the drawing page, in a real Chromium: the saliency heatmap over the
preview, the activation strips, and "make it a ..." with the real /api/explain and
/api/adversarial.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_page import (
    ANSWER_TIMEOUT_MS,
    DIGIT_STROKES,
    draw_with_mouse,
    lit_pixels,
    posts_to,
    preview_ink,
    wait_for_answer,
)
from tests.conftest import shipped_layer_sizes

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

EXPLAIN_PATH = "/api/explain"
ATTACK_PATH = "/api/adversarial"


def wait_for_state(page: Page, testid: str, state: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-testid={testid}]').dataset.state === '{state}'",
        timeout=ANSWER_TIMEOUT_MS,
    )


def canvas_channels(page: Page, testid: str) -> list[list[list[int]]]:
    """A square canvas's pixels (found by data-testid, else by id) as rows of [r, g, b, a]."""
    flat: list[int] = page.evaluate(
        """(name) => {
            const canvas = document.querySelector(`[data-testid=${name}]`)
                || document.getElementById(name);
            const { width, height } = canvas;
            return Array.from(canvas.getContext('2d').getImageData(0, 0, width, height).data);
        }""",
        testid,
    )
    pixels = [flat[i : i + 4] for i in range(0, len(flat), 4)]
    side = int(len(pixels) ** 0.5)
    return [pixels[row * side : (row + 1) * side] for row in range(side)]


def switch_saliency_on(page: Page) -> None:
    page.get_by_test_id("saliency-toggle").check()


def draw(page: Page, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw with the mouse, scrolling the pad back into view first (clicking the controls
    below it may have scrolled it away)."""
    page.get_by_test_id("pad").scroll_into_view_if_needed()
    draw_with_mouse(page, strokes)


# ---------------------------------------------------------------------------------------------
# Saliency and activations


def test_heatmap_appears_over_the_preview_after_drawing(page: Page) -> None:
    switch_saliency_on(page)
    draw(page, DIGIT_STROKES[7])
    assert wait_for_answer(page) == "7"
    wait_for_state(page, "saliency", "ready")

    heatmap = page.get_by_test_id("saliency")
    assert heatmap.is_visible()
    assert heatmap.get_attribute("data-digit") == "7"
    assert heatmap.bounding_box() == page.get_by_test_id("preview").bounding_box()
    alphas = [pixel[3] for row in canvas_channels(page, "saliency") for pixel in row]
    assert len(alphas) == 28 * 28
    assert max(alphas) > 200, "the strongest pixel is clearly coloured"
    assert sum(1 for a in alphas if a > 30) > 50, "a map, not a few dots"


def test_activation_strips_show_each_hidden_layer(page: Page) -> None:
    switch_saliency_on(page)
    draw(page, DIGIT_STROKES[4])
    wait_for_answer(page)
    wait_for_state(page, "activations", "ready")

    strips = page.get_by_test_id("activations")
    assert strips.is_visible()
    captions = strips.locator("figcaption").all_inner_texts()
    hidden = shipped_layer_sizes()[1:-1]
    assert len(captions) == len(hidden)
    for caption, units in zip(captions, hidden, strict=True):
        assert f"of {units} units active" in caption
    canvases = strips.locator("canvas")
    assert canvases.count() == len(hidden)
    for index in range(len(hidden)):
        lit = lit_pixels(canvases.nth(index))
        assert lit > 0, f"hidden layer {index + 1} shows some active units"


def test_heatmap_explains_what_the_preview_shows(page: Page) -> None:
    """The explained image is the settled prediction's input, sent once it matched the pad."""
    explains = posts_to(page, EXPLAIN_PATH)
    switch_saliency_on(page)
    draw(page, DIGIT_STROKES[2])
    wait_for_answer(page)
    wait_for_state(page, "saliency", "ready")

    assert explains, "switched on, a settled prediction is explained"
    sent = json.loads(explains[-1].post_data or "{}")
    assert sent["pixels"] == preview_ink(page)


def test_saliency_off_asks_nothing_and_on_asks_once(page: Page) -> None:
    explains = posts_to(page, EXPLAIN_PATH)
    draw(page, DIGIT_STROKES[3])
    wait_for_answer(page)
    page.wait_for_timeout(300)
    assert explains == [], "the live prediction is all that runs while saliency is off"
    assert page.get_by_test_id("saliency").is_hidden()
    assert page.get_by_test_id("activations").is_hidden()

    switch_saliency_on(page)
    wait_for_state(page, "saliency", "ready")
    assert len(explains) == 1

    page.get_by_test_id("saliency-toggle").uncheck()
    assert page.get_by_test_id("saliency").is_hidden()
    assert page.get_by_test_id("activations").is_hidden()
    page.get_by_test_id("saliency-toggle").check()  # the answer is kept: no new request
    wait_for_state(page, "saliency", "ready")
    page.wait_for_timeout(200)
    assert len(explains) == 1


def test_gradient_times_input_colours_only_the_ink(page: Page) -> None:
    switch_saliency_on(page)
    draw(page, DIGIT_STROKES[0])
    wait_for_answer(page)
    wait_for_state(page, "saliency", "ready")
    gradient = canvas_channels(page, "saliency")

    page.get_by_role("radio", name="gradient \u00d7 input").check()  # "gradient x input"
    times_input = canvas_channels(page, "saliency")
    ink = preview_ink(page)

    assert times_input != gradient
    off_ink = [times_input[y][x][3] for y in range(28) for x in range(28) if ink[y][x] == 0]
    assert max(off_ink) == 0, "no ink, no contribution"
    on_ink = [times_input[y][x][3] for y in range(28) for x in range(28) if ink[y][x] > 0]
    assert max(on_ink) > 200


def test_clearing_hides_the_heatmap(page: Page) -> None:
    switch_saliency_on(page)
    draw(page, DIGIT_STROKES[1])
    wait_for_answer(page)
    wait_for_state(page, "saliency", "ready")

    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("saliency").is_hidden()
    assert page.get_by_test_id("prediction").get_attribute("data-state") == "empty"


def test_a_late_explanation_for_an_old_drawing_is_dropped(page: Page) -> None:
    held: list[Any] = []
    page.route(f"**{EXPLAIN_PATH}", lambda route: held.append(route))
    switch_saliency_on(page)
    draw(page, DIGIT_STROKES[1])
    wait_for_answer(page)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "a settled prediction should be explained"

    page.keyboard.press("Escape")
    for route in held:
        with contextlib.suppress(Exception):  # the page aborted it when it cleared
            route.continue_()
    page.wait_for_timeout(400)
    assert page.get_by_test_id("saliency").is_hidden()


# ---------------------------------------------------------------------------------------------
# Make it a ...


def grey_pixels(page: Page, testid: str) -> list[list[int]]:
    return [[pixel[0] for pixel in row] for row in canvas_channels(page, testid)]


def test_attack_shows_the_perturbed_image_and_its_new_prediction(
    page: Page, live_server: str
) -> None:
    assert page.get_by_test_id("attack").is_disabled(), "nothing drawn, nothing to attack"
    assert page.get_by_test_id("perturbed").is_hidden()
    draw(page, DIGIT_STROKES[7])
    assert wait_for_answer(page) == "7"
    original = preview_ink(page)

    page.get_by_test_id("target-select").select_option("3")
    page.get_by_test_id("attack").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=perturbed-prediction]').textContent !== ''",
        timeout=ANSWER_TIMEOUT_MS,
    )

    assert page.get_by_test_id("perturbed").is_visible()
    assert page.get_by_test_id("perturbed-prediction").inner_text() == "3"
    assert page.locator("#original-prediction").inner_text() == "7"
    assert page.locator("#attack-original").is_visible(), "shown next to the original"
    perturbed = grey_pixels(page, "perturbed")
    assert perturbed != original
    assert grey_pixels(page, "attack-original") == original
    largest = max(abs(p - o) for prow, orow in zip(perturbed, original, strict=True)
                  for p, o in zip(prow, orow, strict=True))  # fmt: skip
    assert 0 < largest <= 64
    assert page.locator("#attack-linf").inner_text() == str(largest)

    # What the page shows is what the network says for that image.
    request = urllib.request.Request(
        f"{live_server}/api/predict",
        data=json.dumps({"pixels": perturbed}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["digit"] == 3


def test_attack_sends_the_chosen_target_and_epsilon(page: Page) -> None:
    attacks = posts_to(page, ATTACK_PATH)
    draw(page, DIGIT_STROKES[0])
    wait_for_answer(page)
    page.get_by_test_id("target-select").select_option("6")
    page.get_by_label("ε").fill("32")
    page.get_by_test_id("attack").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=perturbed-prediction]').textContent !== ''",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert len(attacks) == 1
    sent = json.loads(attacks[0].post_data or "{}")
    assert sent["target"] == 6
    assert sent["epsilon"] == 32
    assert sent["pixels"] == preview_ink(page)
    assert int(page.locator("#attack-linf").inner_text()) <= 32


def test_changing_the_drawing_drops_the_attack(page: Page) -> None:
    held: list[Any] = []
    page.route(f"**{ATTACK_PATH}", lambda route: held.append(route))
    draw(page, DIGIT_STROKES[7])
    wait_for_answer(page)
    page.get_by_test_id("attack").click()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    assert held

    draw(page, [[(0.25, 0.5), (0.5, 0.5)]])  # a bar across the 7
    for route in held:
        with contextlib.suppress(Exception):
            route.continue_()
    wait_for_answer(page)
    page.wait_for_timeout(300)
    assert page.get_by_test_id("perturbed").is_hidden()
    assert page.get_by_test_id("perturbed-prediction").inner_text() == ""
    assert page.get_by_test_id("attack").is_enabled(), "ready for the new drawing"


def test_drawing_page_links_to_the_model_page(page: Page) -> None:
    page.get_by_role("link", name="See inside it").click()
    page.wait_for_url("**/model")
    assert page.get_by_role("heading", level=1).inner_text() == "Inside the model"


def test_phone_layout_has_no_sideways_scroll_with_everything_open(
    new_page: Callable[..., Page],
) -> None:
    page: Page = new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto("/")
    draw(page, DIGIT_STROKES[5])
    wait_for_answer(page)
    switch_saliency_on(page)
    wait_for_state(page, "saliency", "ready")
    page.get_by_test_id("attack").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=perturbed-prediction]').textContent !== ''",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

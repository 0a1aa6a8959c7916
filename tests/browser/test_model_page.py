"""The model page in a real Chromium: the training curves drawn on the server, every other
chart drawn from GET /api/model/report, no console errors (checked by the `new_page` fixture),
no inline code, and it fits small screens.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_page import ANSWER_TIMEOUT_MS, _InlineCodeFinder, lit_pixels
from tests.conftest import shipped_layer_sizes

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

CHARTS = ("curves", "confusion", "mistakes", "weights-grid")  # the four, by data-testid
REPORT_CHARTS = ("confusion", "per-class", "mistakes", "weights-grid")  # drawn from the report


@pytest.fixture(scope="module")
def report(live_server: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{live_server}/api/model/report") as response:
        body: dict[str, Any] = json.load(response)
    return body


def open_model_page(new_page: Callable[..., Page], **context_options: Any) -> Page:
    page: Page = new_page(**context_options)
    page.goto("/model")
    for testid in (*CHARTS, "per-class"):
        page.wait_for_selector(
            f"[data-testid={testid}][data-state=ready]", timeout=ANSWER_TIMEOUT_MS
        )
    return page


def test_model_page_has_no_inline_script_or_style(live_server: str) -> None:
    with urllib.request.urlopen(f"{live_server}/model") as response:
        html = response.read().decode()
        csp = response.headers.get("Content-Security-Policy", "")
    finder = _InlineCodeFinder(origin=live_server)
    finder.feed(html)
    assert finder.problems == []
    assert "unsafe-inline" not in csp


def test_every_chart_is_drawn(new_page: Callable[..., Page], report: dict[str, Any]) -> None:
    page = open_model_page(new_page)
    for testid in CHARTS:
        assert page.get_by_test_id(testid).is_visible(), testid

    # Training curves: loss, accuracy, gradient norms and learning rate, one point per epoch,
    # each point with a tooltip, each series in its own visible colour, named in a legend.
    curves = page.get_by_test_id("curves")
    epochs = len(report["curves"]["epoch"])
    titles = curves.locator("figcaption").all_inner_texts()
    assert titles == ["Loss", "Accuracy", "Gradient norms", "Learning rate"]
    charts = curves.locator("svg[role=img]")
    assert charts.count() == 4
    for index in range(4):
        assert charts.nth(index).get_attribute("aria-label")
        assert charts.nth(index).is_visible()
    series = curves.locator("g.series")
    assert series.count() == 1 + 2 + len(report["layers"]) + 1
    for index in range(series.count()):
        assert series.nth(index).locator("circle").count() == epochs
        assert (series.nth(index).locator("path").get_attribute("d") or "").count("L") == epochs - 1
    tooltip = series.first.locator("circle >> nth=-1").locator("title").text_content() or ""
    loss = report["curves"]["train_loss"][-1]
    assert tooltip == f"training loss (cross-entropy), epoch {epochs}: {loss:.4f}"
    legend = curves.locator(".legend-label").all_text_contents()
    assert "validation" in legend
    assert any(text.startswith("dense0") for text in legend)
    # The kept epoch is marked on every chart.
    kept = curves.locator("g.kept")
    assert kept.count() == 4
    assert kept.first.get_attribute("data-epoch") == str(report["best_epoch"])

    # Confusion matrix: 100 cells, the diagonal holding the correct counts.
    confusion = page.get_by_test_id("confusion")
    assert confusion.locator("g.cell").count() == 100
    diagonal = confusion.locator("g.cell-correct text").all_text_contents()
    assert diagonal == [str(report["confusion"][i][i]) for i in range(10)]
    assert confusion.locator("g.cell-error").count() > 0

    # Per-class accuracy: ten bars.
    assert page.get_by_test_id("per-class").locator("rect.bar").count() == 10

    # Mistakes: every stored misclassified digit, painted, with both labels and a confidence.
    mistakes = page.get_by_test_id("mistakes").locator("figure.mistake")
    assert mistakes.count() == len(report["mistakes"]) > 0
    first = report["mistakes"][0]
    assert mistakes.first.get_attribute("data-true") == str(first["true"])
    assert mistakes.first.get_attribute("data-predicted") == str(first["predicted"])
    caption = mistakes.first.locator("figcaption").inner_text()
    assert str(first["true"]) in caption
    assert "%" in caption
    assert lit_pixels(page.locator("[data-testid=mistakes] canvas >> nth=0")) == 28 * 28

    # First-layer weights: one 28x28 tile per unit, all painted.
    assert (
        lit_pixels(page.locator("[data-testid=weights-grid]"))
        >= report["first_layer"]["units"] * 784
    )
    assert str(report["first_layer"]["units"]) in page.locator("#weights-caption").inner_text()


def test_page_text_shows_architecture_config_and_checksums(
    new_page: Callable[..., Page], report: dict[str, Any]
) -> None:
    page = open_model_page(new_page)
    rows = page.get_by_test_id("architecture").locator("tbody tr")
    assert rows.count() == len(report["layers"])
    sizes = shipped_layer_sizes()
    assert f"784 → {sizes[1]}" in rows.first.inner_text()
    assert f"{784 * sizes[1] + sizes[1]:,}" in rows.first.inner_text()
    assert page.get_by_test_id("test-accuracy").inner_text() == f"{report['test_accuracy']:.2%}"
    config = page.get_by_test_id("config").inner_text()
    assert "batch_size" in config
    assert "cosine" in config
    checksums = page.get_by_test_id("checksums").inner_text()
    for digest in report["data_sha256"].values():
        assert digest in checksums
    assert report["weights_sha256"] in checksums


def test_pointing_at_a_weight_tile_names_its_unit(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page)
    grid = page.get_by_test_id("weights-grid")
    # Align the grid's top with the viewport: a tall grid (a wide first layer) would otherwise
    # be centred with its first tile above the visible area.
    grid.evaluate("element => element.scrollIntoView({block: 'start'})")
    box = grid.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 5, box["y"] + 5)  # inside the first tile
    assert (
        page.locator("#weights-caption")
        .inner_text()
        .startswith(f"Unit 0 of {shipped_layer_sizes()[1]}")
    )


def curve_colours(page: Page) -> list[str]:
    """The stroke colour each training-curve series is drawn in, as the browser computed it."""
    colours: list[str] = page.locator("[data-testid=curves] g.series path").evaluate_all(
        "paths => paths.map((path) => getComputedStyle(path).stroke)"
    )
    return colours


def relative_luminance(colour: str) -> float:
    """Of a computed colour, rgb(r, g, b)."""
    channels = [int(part) / 255 for part in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_curve_has_its_own_colour_that_reads_on_the_page(
    new_page: Callable[..., Page], report: dict[str, Any], scheme: str
) -> None:
    page = open_model_page(new_page, color_scheme=scheme)
    grad_norms = curve_colours(page)[3 : 3 + len(report["layers"])]
    assert len(set(grad_norms)) == len(grad_norms) == len(report["layers"])
    surface = "rgb(255, 255, 255)" if scheme == "light" else "rgb(23, 26, 34)"
    for colour in curve_colours(page):
        lighter, darker = sorted(
            (relative_luminance(colour), relative_luminance(surface)), reverse=True
        )
        assert (lighter + 0.05) / (darker + 0.05) >= 3.0, colour


def test_dark_mode_draws_everything(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page, color_scheme="dark")
    assert lit_pixels(page.locator("[data-testid=weights-grid]")) > 0


def test_phone_viewport_has_no_sideways_scroll(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page, viewport={"width": 390, "height": 844}, device_scale_factor=2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.get_by_test_id("weights-grid").bounding_box()
    assert box is not None
    assert box["width"] <= 390


def test_a_failed_report_is_said_not_thrown(new_page: Callable[..., Page], console: Any) -> None:
    console.expect("status of 503")
    page: Page = new_page()
    page.route("**/api/model/report", lambda route: route.fulfill(status=503, json={}))
    page.goto("/model")
    for testid in REPORT_CHARTS:
        page.wait_for_selector(f"[data-testid={testid}][data-state=error]")
    assert "Couldn't load" in page.get_by_test_id("confusion").inner_text()
    # The training curves came with the page, so they still show.
    curves = page.get_by_test_id("curves")
    assert curves.get_attribute("data-state") == "ready"
    assert curves.locator("svg[role=img]").count() == 4


def test_navigation_marks_the_model_page(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page)
    assert page.get_by_role("link", name="Model").get_attribute("aria-current") == "page"
    page.get_by_role("link", name="Draw a digit").click()
    page.wait_for_url("**/")
    assert page.get_by_test_id("pad").is_visible()

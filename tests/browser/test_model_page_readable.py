"""The model page read on any screen, as laid out by Chromium: epoch labels that never run
together whatever the number of epochs, a colour of its own for every layer's gradient norm in
light and dark, an architecture table that reads on a 360x640 phone and, where it scrolls, can
be scrolled from the keyboard and says so, and weight tiles named by a tap or the arrow keys,
not only by a mouse.

The shipped model has one number of epochs and four layers; the other counts are drawn by the
server's own chart code (model/training/plots.py) into the real page, so the page's stylesheet
and the browser's text layout are what is measured.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from model.training.plots import chart_svg, training_charts
from tests.browser.test_model_page import open_model_page, relative_luminance
from tests.model.training.test_plots import history

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1000, "height": 800}
PHONE = {"width": 360, "height": 640}
EPOCH_COUNTS = [1, 2, 9, 30, 140, 1000]
MAX_EPOCH_LABELS = 8
MIN_LABEL_GAP_PX = 3.0  # of empty space between two neighbouring epoch labels, as laid out


def show_training_charts(page: Page, epochs: int, layers: int = 4) -> None:
    """Replace the page's training curves with those of a made-up `epochs` x `layers` run,
    drawn by the server's chart code, in the page's own markup."""
    charts = training_charts(
        history(epochs, layers=layers, best=max(1, epochs - 1)),
        kept_epoch=max(1, epochs - 1),
        layer_names=[f"dense{i}" for i in range(layers)],
    )
    figures = "".join(
        f'<figure class="chart-figure"><figcaption><strong>{chart.title}</strong></figcaption>'
        f"{chart_svg(chart)}</figure>"
        for chart in charts
    )
    page.locator("#curves").evaluate("(box, markup) => { box.innerHTML = markup; }", figures)


def epoch_labels(chart: Locator) -> list[dict[str, Any]]:
    """The x-axis labels of one chart: text and laid-out box, left to right."""
    labels: list[dict[str, Any]] = chart.locator("text.tick-x").evaluate_all(
        """texts => texts.map((text) => {
             const box = text.getBoundingClientRect();
             return { text: text.textContent, left: box.left, right: box.right };
           })"""
    )
    return sorted(labels, key=lambda label: label["left"])


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="360x640")]
)
def test_epoch_labels_are_few_round_and_apart_for_any_number_of_epochs(
    new_page: Callable[..., Page], viewport: dict[str, int]
) -> None:
    page = open_model_page(new_page, viewport=viewport)
    for epochs in EPOCH_COUNTS:
        show_training_charts(page, epochs)
        charts = page.locator("[data-testid=curves] svg[role=img]")
        assert charts.count() == 4
        for index in range(charts.count()):
            chart = charts.nth(index)
            labels = epoch_labels(chart)
            where = f"{epochs} epochs, chart {index}: {[label['text'] for label in labels]}"
            values = [int(label["text"]) for label in labels]
            assert 1 <= len(values) <= MAX_EPOCH_LABELS, where
            assert values[0] == 1, where  # the first epoch is always named
            assert values == sorted(set(values)), where
            assert values[-1] <= epochs, where
            if epochs >= 5:
                assert len(values) >= 3, where  # enough to read a position off the axis
            # After the first, one round step between labels: 1, 2 or 5 times a power of ten.
            steps = {b - a for a, b in itertools.pairwise(values[1:])}
            assert len(steps) <= 1, where
            for step in steps:
                assert step / 10 ** math.floor(math.log10(step)) in (1, 2, 5), where
            # As laid out: inside the chart and never touching each other.
            box = chart.bounding_box()
            assert box is not None
            assert labels[0]["left"] >= box["x"] - 1, where
            assert labels[-1]["right"] <= box["x"] + box["width"] + 1, where
            for before, after in itertools.pairwise(labels):
                gap = after["left"] - before["right"]
                assert gap >= MIN_LABEL_GAP_PX, f"{where}: {before['text']}|{after['text']}"


def contrast(colour: str, surface: str) -> float:
    lighter, darker = sorted(
        (relative_luminance(colour), relative_luminance(surface)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_layer_up_to_eight_has_its_own_colour_that_reads_on_the_page(
    new_page: Callable[..., Page], scheme: str
) -> None:
    page = open_model_page(new_page, color_scheme=scheme)
    surface = page.locator(".card").first.evaluate("card => getComputedStyle(card).backgroundColor")
    for layers in range(1, 9):
        show_training_charts(page, 12, layers=layers)
        grad_norms = page.locator("[data-testid=curves] svg[role=img]").nth(2)
        assert grad_norms.get_attribute("aria-label", timeout=1000) == (
            "Norm of each dense layer's weight gradient per epoch"
        )
        lines: list[str] = grad_norms.locator("g.series path").evaluate_all(
            "paths => paths.map((path) => getComputedStyle(path).stroke)"
        )
        swatches: list[str] = grad_norms.locator(".legend-swatch").evaluate_all(
            "lines => lines.map((line) => getComputedStyle(line).stroke)"
        )
        assert len(lines) == layers
        assert len(set(lines)) == layers, f"{layers} layers share colours: {lines}"
        assert swatches == lines, "each legend entry in its line's colour"
        for colour in lines:
            assert contrast(colour, surface) >= 3.0, f"{colour} on {surface} ({scheme})"


def architecture_region(page: Page) -> Locator:
    return page.locator(".table-scroll", has=page.get_by_test_id("architecture"))


def test_architecture_table_reads_and_scrolls_from_the_keyboard_on_a_phone(
    new_page: Callable[..., Page],
) -> None:
    page = open_model_page(new_page, viewport=PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    region = architecture_region(page)
    sizes = region.evaluate("r => ({scroll: r.scrollWidth, client: r.clientWidth})")
    assert sizes["scroll"] > sizes["client"], "seven columns do not fit 360 px: it scrolls"

    # Reachable and named, so a keyboard can scroll it and a screen reader says what it is.
    assert region.get_attribute("tabindex") == "0"
    assert region.get_attribute("role") == "region"
    assert "Layers of the network" in (region.get_attribute("aria-label") or "")
    # A cue for the eye: a line under it, and the shadow at the edge with more to see.
    cue = page.locator(".table-scroll + .scroll-cue").first
    assert cue.is_visible()
    assert "sideways" in cue.inner_text()
    assert region.evaluate("r => getComputedStyle(r).backgroundImage") != "none"

    # Every cell on one line: "1024 → 1024", never "1024 / → / 1024".
    lines_per_cell: list[int] = (
        page.get_by_test_id("architecture")
        .locator("tbody th, tbody td")
        .evaluate_all(
            """cells => cells.map((cell) => {
             const range = document.createRange();
             range.selectNodeContents(cell);
             return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size;
           })"""
        )
    )
    assert set(lines_per_cell) == {1}, lines_per_cell

    # Tab reaches it; the arrow keys scroll it; the layer names stay at the left.
    page.locator(".page-toc a").last.focus()  # the last stop before the table
    page.keyboard.press("Tab")
    assert region.evaluate("r => r === document.activeElement"), "Tab reaches the table"
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    # (Keyboard scrolling may be smooth: wait for it to start.)
    page.wait_for_function("r => r.scrollLeft > 0", arg=region.element_handle(), timeout=2000)
    assert region.evaluate("r => r.scrollLeft") > 0, "the arrow keys scroll the table"
    name = page.get_by_test_id("architecture").locator("tbody th").first
    name_box, region_box = name.bounding_box(), region.bounding_box()
    assert name_box is not None
    assert region_box is not None
    assert name_box["x"] >= region_box["x"] - 0.5, "the layer names scrolled away"
    assert name.inner_text() == "dense0"


def test_tables_that_fit_are_no_tab_stop(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page, viewport=DESKTOP)
    for region in page.locator(".table-scroll").all():
        assert region.evaluate("r => r.scrollWidth <= r.clientWidth + 1"), "it fits a desktop"
        assert region.get_attribute("tabindex") is None
        assert region.get_attribute("role") is None
    assert not page.locator(".scroll-cue").first.is_visible()


def caption_text(page: Page) -> str:
    return page.locator("#weights-caption").inner_text()


def test_the_tile_hint_names_no_mouse_only_gesture(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page)
    hint = caption_text(page).lower()
    assert "tap" in hint
    assert "arrow keys" in hint
    assert not re.match(r"^(all \d+ units\. )?point at", hint), hint


def test_tapping_a_tile_names_its_unit(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page, viewport=PHONE, has_touch=True, is_mobile=True)
    grid = page.get_by_test_id("weights-grid")
    grid.evaluate("grid => grid.scrollIntoView({block: 'start'})")  # many screens tall here
    grid.tap(position={"x": 4, "y": 4})  # inside the first tile
    assert caption_text(page).startswith("Unit 0 of ")
    # Named where the finger is, not a few thousand pixels further down.
    caption = page.locator("#weights-caption").bounding_box()
    assert caption is not None
    assert 0 <= caption["y"] <= PHONE["height"] - caption["height"], "the caption is in sight"
    marker = page.get_by_test_id("tile-marker")
    assert marker.is_visible()
    marker_box, grid_box = marker.bounding_box(), grid.bounding_box()
    assert marker_box is not None
    assert grid_box is not None
    assert marker_box["x"] == pytest.approx(grid_box["x"], abs=1)
    assert marker_box["y"] == pytest.approx(grid_box["y"], abs=1)


def test_the_arrow_keys_walk_the_tiles(new_page: Callable[..., Page]) -> None:
    page = open_model_page(new_page)
    grid = page.get_by_test_id("weights-grid")
    # Tab from the element just before it, as a keyboard user would arrive.
    page.locator("#weights-heading").evaluate(
        "heading => { heading.tabIndex = -1; heading.focus(); }"
    )
    page.keyboard.press("Tab")
    assert grid.evaluate("canvas => canvas === document.activeElement"), "Tab reaches the grid"
    units = int(re.search(r"of (\d+)", caption_text(page)).group(1))  # type: ignore[union-attr]
    assert caption_text(page).startswith("Unit 0 of ")
    marker = page.get_by_test_id("tile-marker")
    assert marker.is_visible()

    page.keyboard.press("ArrowRight")
    assert caption_text(page).startswith("Unit 1 of ")
    page.keyboard.press("ArrowDown")
    columns = int(re.search(r"Unit (\d+)", caption_text(page)).group(1)) - 1  # type: ignore[union-attr]
    assert 1 < columns < units, "down moves a whole row"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    assert caption_text(page).startswith("Unit 0 of ")
    page.keyboard.press("ArrowUp")  # already on the top row: stays
    assert caption_text(page).startswith("Unit 0 of ")
    page.keyboard.press("End")
    assert caption_text(page).startswith(f"Unit {units - 1} of {units}")
    assert in_sight(page, marker), "the page follows the keys to the last tile"
    page.keyboard.press("Home")
    assert caption_text(page).startswith("Unit 0 of ")
    assert in_sight(page, marker)


def in_sight(page: Page, element: Locator) -> bool:
    box = element.bounding_box()
    viewport = page.viewport_size
    assert box is not None
    assert viewport is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]

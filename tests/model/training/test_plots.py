"""Training curves as SVG (model/training/plots.py): readable axes for any number of epochs, a
colour for every series in the page's stylesheet, the kept epoch marked, text escaped, files
that stand alone and page markup a strict Content-Security-Policy accepts.
"""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from model.training.plots import (
    SERIES_COLORS,
    Chart,
    Series,
    best_epoch,
    chart_svg,
    epoch_ticks,
    nice_ticks,
    standalone_svg,
    training_charts,
    write_training_plots,
)

ROOT = Path(__file__).resolve().parents[3]
MODEL_CSS = ROOT / "static" / "css" / "model.css"
SVG = "{http://www.w3.org/2000/svg}"
TICK_FONT_PX = 11
GLYPH_WIDTH = 0.65 * TICK_FONT_PX  # wider than any digit in a sans-serif face: errs on safety
MIN_LABEL_GAP = 4.0  # SVG units of empty space between two neighbouring tick labels


def history(epochs: int, layers: int = 4, best: int | None = None) -> list[dict[str, Any]]:
    """A made-up per-epoch history shaped like the one training writes."""
    rows = []
    for epoch in range(1, epochs + 1):
        rows.append(
            {
                "epoch": epoch,
                "train_loss": 2.0 / (epoch + 1),
                "train_accuracy": 1 - 0.5 / (epoch + 1),
                "val_accuracy": 0.95 if epoch == best else 0.9,
                "lr_end": 0.05 * math.cos(epoch / (epochs + 1) * math.pi / 2) ** 2,
                "grad_norms": [1.0 / (epoch + layer) for layer in range(layers)],
                "seconds": 1.0,
            }
        )
    return rows


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup.removeprefix('<?xml version="1.0" encoding="UTF-8"?>\n'))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def find_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in root.iter() if name in classes(element)]


def one_line_chart(epochs: int) -> Chart:
    return Chart(
        "loss.svg",
        "Loss",
        "Loss per epoch",
        tuple(range(1, epochs + 1)),
        (Series("loss", tuple(1.0 / e for e in range(1, epochs + 1))),),
        ".4f",
    )


# ---- axes -----------------------------------------------------------------------------------


def test_epoch_labels_never_overlap_from_1_to_1000_epochs() -> None:
    label = re.compile(r'<text class="tick tick-x" x="([0-9.]+)"[^>]*>(\d+)</text>')
    for epochs in range(1, 1001):
        markup = chart_svg(one_line_chart(epochs))
        labels = [(float(x), text) for x, text in label.findall(markup)]
        assert 1 <= len(labels) <= 8, (epochs, labels)
        assert labels[0][1] == "1"
        for (x0, left), (x1, right) in itertools.pairwise(labels):
            gap = (x1 - x0) - GLYPH_WIDTH * (len(left) + len(right)) / 2
            assert gap >= MIN_LABEL_GAP, (epochs, left, right, gap)
        last_x, last = labels[-1]
        assert last_x + GLYPH_WIDTH * len(last) / 2 <= 340, (epochs, last)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 20, [1, 5, 10, 15, 20]),
        (1, 140, [1, 20, 40, 60, 80, 100, 120, 140]),
        (1, 1000, [1, 200, 400, 600, 800, 1000]),
        (9, 60, [9, 20, 30, 40, 50, 60]),  # 10 would crowd the first label: left out
    ],
)
def test_epoch_ticks_step_by_1_2_5_times_a_power_of_ten(
    first: int, last: int, expected: list[int]
) -> None:
    assert epoch_ticks(first, last) == expected


@pytest.mark.parametrize(("low", "high"), [(0.0, 0.93), (0.7, 1.0), (0.0, 2.6e-4), (-3.0, 17.0)])
def test_nice_ticks_cover_the_range_in_round_steps(low: float, high: float) -> None:
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low
    assert ticks[-1] >= high
    steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    (step,) = steps
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5)
    assert 3 <= len(ticks) <= 8


def test_y_tick_labels_are_distinct_and_show_percentages_for_accuracy() -> None:
    for chart in training_charts(history(1)) + training_charts(history(140)):
        texts = [t.text for t in find_class(parse(chart_svg(chart)), "tick-y")]
        assert len(texts) == len(set(texts)) >= 3, (chart.title, texts)
        if chart.title == "Accuracy":
            assert all(text and text.endswith("%") for text in texts)


# ---- series, colours and legend --------------------------------------------------------------


def test_every_series_has_its_own_class_and_legend_entry() -> None:
    names = [f"layer {i}" for i in range(8)]
    charts = training_charts(history(5, layers=8), layer_names=names)
    chart = next(c for c in charts if c.title == "Gradient norms")
    root = parse(chart_svg(chart))
    series = find_class(root, "series")
    series_classes = [classes(g) - {"series"} for g in series]
    assert series_classes == [{f"series-{i}"} for i in range(8)]
    legend = find_class(root, "legend-item")
    assert [classes(item) - {"legend-item"} for item in legend] == series_classes
    assert [item.find(f"{SVG}text").text for item in legend] == names  # type: ignore[union-attr]


def test_series_past_the_eighth_cycle_through_the_colours() -> None:
    chart = next(c for c in training_charts(history(3, layers=10)) if c.title == "Gradient norms")
    series = find_class(parse(chart_svg(chart)), "series")
    assert [classes(g) - {"series"} for g in series][8:] == [{"series-0"}, {"series-1"}]


def css_custom_properties(css: str) -> tuple[dict[str, str], dict[str, str]]:
    """--name: value pairs of the light :root block and of the dark one."""
    light_block = css[: css.index("@media (prefers-color-scheme: dark)")]
    dark_start = css.index("@media (prefers-color-scheme: dark)")
    dark_block = css[dark_start : css.index("\n}\n", dark_start)]
    pattern = re.compile(r"(--[\w-]+):\s*([^;]+);")
    return dict(pattern.findall(light_block)), dict(pattern.findall(dark_block))


def test_model_css_colours_every_series_class_in_light_and_dark() -> None:
    css = MODEL_CSS.read_text(encoding="utf-8")
    light, dark = css_custom_properties(css)
    assert len(SERIES_COLORS) >= 8
    for index, (light_color, dark_color) in enumerate(SERIES_COLORS):
        assert re.search(rf"\.series-{index}\s*{{\s*--series:\s*var\(--series-{index}\);", css)
        assert light[f"--series-{index}"] == light_color
        assert dark[f"--series-{index}"] == dark_color
    for scheme in (0, 1):
        colours = [pair[scheme] for pair in SERIES_COLORS]
        assert len(set(colours)) == len(colours), "two series share a colour"
    assert re.search(r"\.series path,\s*\.legend-swatch\s*{\s*stroke:\s*var\(--series\)", css)
    assert re.search(r"\.series circle\s*{\s*fill:\s*var\(--series\)", css)


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""

    def luminance(color: str) -> float:
        channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_series_colour_reads_on_the_light_and_the_dark_surface() -> None:
    for light_color, dark_color in SERIES_COLORS:
        assert contrast(light_color, "#ffffff") >= 3.0, light_color
        assert contrast(dark_color, "#171a22") >= 3.0, dark_color


# ---- what the chart says -------------------------------------------------------------------


def test_the_kept_marker_sits_at_the_best_epoch() -> None:
    rows = history(30, best=17)
    rows[24]["val_accuracy"] = 0.95  # a later tie: training keeps the first
    assert best_epoch(rows) == 17
    for chart in training_charts(rows, kept_epoch=best_epoch(rows)):
        root = parse(chart_svg(chart))
        (kept,) = find_class(root, "kept")
        assert kept.get("data-epoch") == "17"
        (line,) = find_class(kept, "marker")
        (label,) = find_class(kept, "marker-label")
        assert label.text == "kept"
        dot = next(
            circle
            for circle in root.iter(f"{SVG}circle")
            if ", epoch 17: " in (circle.findtext(f"{SVG}title") or "")
        )
        assert line.get("x1") == line.get("x2") == dot.get("cx")


def test_no_marker_without_a_kept_epoch() -> None:
    for chart in training_charts(history(5)):
        assert not find_class(parse(chart_svg(chart)), "kept")


def test_every_point_has_a_tooltip_naming_series_epoch_and_value() -> None:
    loss, accuracy, *_ = training_charts(history(12))
    loss_tips = [c.findtext(f"{SVG}title") for c in parse(chart_svg(loss)).iter(f"{SVG}circle")]
    assert len(loss_tips) == 12
    assert loss_tips[11] == "training loss (cross-entropy), epoch 12: 0.1538"
    accuracy_tips = [
        c.findtext(f"{SVG}title") for c in parse(chart_svg(accuracy)).iter(f"{SVG}circle")
    ]
    assert "validation, epoch 3: 90.00%" in accuracy_tips


def test_a_missing_value_breaks_the_line_and_has_no_dot() -> None:
    rows = history(6)
    rows[2]["train_loss"] = float("nan")
    del rows[3]["train_loss"]
    loss = training_charts(rows)[0]
    (series,) = find_class(parse(chart_svg(loss)), "series")
    path = series.find(f"{SVG}path")
    assert path is not None
    assert (path.get("d") or "").count("M") == 2
    assert len(series.findall(f"{SVG}circle")) == 4


def test_text_is_escaped() -> None:
    names = ['<script>alert("x")</script> & co', "dense1"]
    charts = training_charts(history(3, layers=2), layer_names=names)
    chart = next(c for c in charts if c.title == "Gradient norms")
    for markup in (chart_svg(chart), standalone_svg(chart)):
        assert "<script" not in markup
        root = parse(markup)  # parses: every & and < was escaped
        legend = [t.text for t in find_class(root, "legend-label")]
        assert legend[0] == names[0]
        tips = [c.findtext(f"{SVG}title") for c in root.iter(f"{SVG}circle")]
        assert tips[0] is not None
        assert tips[0].startswith(names[0] + ", epoch 1: ")


def test_an_empty_history_gives_no_charts_and_no_files(tmp_path: Path) -> None:
    assert training_charts([]) == []
    assert write_training_plots([], tmp_path / "plots") == []
    assert list((tmp_path / "plots").iterdir()) == []


def test_a_history_without_learning_rates_leaves_that_chart_out() -> None:
    rows = history(4)
    for row in rows:
        del row["lr_end"]
    assert [c.title for c in training_charts(rows)] == ["Loss", "Accuracy", "Gradient norms"]


# ---- the two forms: a file on its own, markup inside the page --------------------------------


def test_standalone_files_are_svg_documents_with_their_own_style(tmp_path: Path) -> None:
    written = write_training_plots(history(20, best=12), tmp_path)
    names = ["loss.svg", "accuracy.svg", "grad_norms.svg", "learning_rate.svg"]
    assert [path.name for path in written] == names
    for path in written:
        root = ET.parse(path).getroot()
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        assert root.get("aria-label")
        assert root.findtext(f"{SVG}title")
        (style,) = root.findall(f"{SVG}style")
        css = style.text or ""
        assert "@media (prefers-color-scheme: dark)" in css
        for index, (light_color, dark_color) in enumerate(SERIES_COLORS):
            assert f".series-{index} circle {{ fill: {light_color}; }}" in css
            assert f".series-{index} circle {{ fill: {dark_color}; }}" in css
        assert find_class(root, "background")
        assert find_class(root, "kept")[0].get("data-epoch") == "12"
        assert len(find_class(root, "legend-item")) == len(find_class(root, "series")) >= 1


COLOUR_ATTRIBUTES = ("fill", "stroke", "color", "stop-color", "flood-color", "lighting-color")


def test_page_markup_has_no_style_and_no_colour_but_through_classes() -> None:
    for chart in training_charts(history(140, best=100), kept_epoch=100):
        root = parse(chart_svg(chart))
        assert root.get("role") == "img"
        assert root.get("aria-label") == chart.label
        for element in root.iter():
            assert element.tag != f"{SVG}style"
            assert "style" not in element.attrib, element.tag
            for name in COLOUR_ATTRIBUTES:
                assert element.get(name, "none") == "none", (element.tag, name)
        assert not find_class(root, "background")  # the page's card is the background

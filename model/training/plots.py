"""Training curves as SVG, drawn here once for both the model page and `digits train --plot`.

`training_charts(history)` turns the per-epoch history into charts (loss, accuracy, gradient
norm per layer, learning rate); `chart_svg(chart)` draws one as markup the model page inlines
(app/report.py), coloured only through CSS classes that static/css/model.css styles, so the
page's Content-Security-Policy holds; `standalone_svg(chart)` is the same drawing as a complete
file with a title and its own <style> (light and dark), for `write_training_plots`.
Standard library only: no plotting package.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

# ---- the look: sizes in SVG units, colours for the standalone files ------------------------

WIDTH = 340  # the viewBox: the page scales it to its column, a file is drawn twice this size
PLOT_HEIGHT = 160
LEFT, RIGHT, TOP = 50, 18, 18  # margins around the plot; TOP leaves room for the "kept" label
TITLE_HEIGHT = 24  # standalone files only: the page gives the title in a <figcaption>
FONT_SIZE = 11
CHAR_WIDTH = 0.62 * FONT_SIZE  # a generous average glyph width, to lay out legend and ticks
LEGEND_TOP = 46  # below the plot: the epoch labels (at 14), "epoch" (at 28), then the legend
LEGEND_ROW = 16
MAX_EPOCH_LABELS = 8
FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'

# Colours as (light, dark). One hue per series class series-0 .. series-7, cycling after: the
# same values as the --series-N properties of static/css/model.css (test_plots.py keeps them
# equal), each chosen to read on the white page and on the dark one.
SERIES_COLORS = (
    ("#4338ca", "#a5b4fc"),  # indigo
    ("#d9480f", "#fb923c"),  # orange
    ("#0f766e", "#5eead4"),  # teal
    ("#be185d", "#f472b6"),  # pink
    ("#4d7c0f", "#a3e635"),  # lime
    ("#7e22ce", "#d8b4fe"),  # purple
    ("#0369a1", "#38bdf8"),  # sky
    ("#a16207", "#facc15"),  # amber
)
SURFACE_COLORS = {  # the page's own, from site.css and model.css
    "background": ("#ffffff", "#171a22"),
    "text": ("#161a23", "#e8eaf0"),
    "muted": ("#555d6e", "#a3aabb"),
    "grid": ("#e6e9f0", "#2a2f3b"),
    "tick": ("#6b7280", "#9aa1b2"),
}


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and tooltips, one value per epoch (None: a gap)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """One chart of per-epoch series, and how to read its numbers."""

    file_name: str  # what `write_training_plots` calls it
    title: str
    label: str  # the accessible name
    epochs: tuple[int, ...]
    series: tuple[Series, ...]
    value_format: str  # format spec for tooltips: ".4f", ".2%", ...
    percent: bool = False  # y ticks as percentages
    y_min: float | None = None  # axis bounds the data may not push past (0 for a loss)
    y_max: float | None = None
    kept_epoch: int | None = None  # the epoch whose weights were kept, marked "kept"


# ---- from the history to charts -------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite float, or None for a missing or non-finite entry."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def best_epoch(history: Sequence[Mapping[str, Any]]) -> int | None:
    """The epoch training keeps: the first with the highest validation accuracy."""
    best: tuple[float, int] | None = None
    for row in history:
        accuracy = _number(row.get("val_accuracy"))
        if "epoch" in row and accuracy is not None and (best is None or accuracy > best[0]):
            best = (accuracy, int(row["epoch"]))
    return best[1] if best else None


def training_charts(
    history: Sequence[Mapping[str, Any]],
    kept_epoch: int | None = None,
    layer_names: Sequence[str] = (),
) -> list[Chart]:
    """Loss, accuracy, gradient norm per layer and learning rate against the epoch.

    `history` holds the weight file's per-epoch rows (train_loss, train_accuracy,
    val_accuracy, lr_end, grad_norms); a chart with no finite value at all is left out, so an
    empty history gives no charts. `layer_names` name the gradient-norm series (dense0 ...).
    """
    rows = [row for row in history if isinstance(row, Mapping) and "epoch" in row]
    epochs = tuple(int(row["epoch"]) for row in rows)

    def column(key: str) -> tuple[float | None, ...]:
        return tuple(_number(row.get(key)) for row in rows)

    def norms(row: Mapping[str, Any]) -> list[Any]:
        value = row.get("grad_norms")
        return value if isinstance(value, list) else []

    layers = max((len(norms(row)) for row in rows), default=0)
    names = [layer_names[i] if i < len(layer_names) else f"dense{i}" for i in range(layers)]
    grad_norms = [
        Series(names[i], tuple(_number(n[i]) if i < len(n) else None for n in map(norms, rows)))
        for i in range(layers)
    ]
    charts = [
        Chart(
            "loss.svg",
            "Loss",
            "Training loss per epoch",
            epochs,
            (Series("training loss (cross-entropy)", column("train_loss")),),
            ".4f",
            y_min=0.0,
        ),
        Chart(
            "accuracy.svg",
            "Accuracy",
            "Training and validation accuracy per epoch",
            epochs,
            (
                Series("training", column("train_accuracy")),
                Series("validation", column("val_accuracy")),
            ),
            ".2%",
            percent=True,
            y_max=1.0,
        ),
        Chart(
            "grad_norms.svg",
            "Gradient norms",
            "Norm of each dense layer's weight gradient per epoch",
            epochs,
            tuple(grad_norms),
            ".4f",
            y_min=0.0,
        ),
        Chart(
            "learning_rate.svg",
            "Learning rate",
            "Learning rate at the end of each epoch",
            epochs,
            (Series("learning rate (end of epoch)", column("lr_end")),),
            ".3g",
            y_min=0.0,
        ),
    ]
    return [
        replace(chart, kept_epoch=kept_epoch)
        for chart in charts
        if any(v is not None for series in chart.series for v in series.values)
    ]


# ---- axes -----------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round, evenly spaced values covering [low, high], about `count` steps apart: the step
    is 1, 2, 5 or 10 times a power of ten."""
    span = high - low or abs(high) or 1.0
    rough = span / count
    magnitude = 10.0 ** math.floor(math.log10(rough))
    scaled = rough / magnitude
    step = (1 if scaled < 1.5 else 2 if scaled < 3 else 5 if scaled < 7 else 10) * magnitude
    ticks = []
    k = math.floor(low / step)  # multiples of step from at or below low ...
    while True:
        ticks.append(float(f"{k * step:.12g}"))  # (k * step, not a running sum: no drift)
        if ticks[-1] >= high - step * 1e-6:  # ... to the first at or above high
            return ticks
        k += 1


def _steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, 100, ..."""
    power = 1
    while True:
        yield from (power, 2 * power, 5 * power)
        power *= 10


def epoch_ticks(first: int, last: int, max_labels: int = MAX_EPOCH_LABELS) -> list[int]:
    """The epochs labelled on the x axis: the first one, then the multiples of the smallest
    step from 1, 2, 5, 10, 20, 50, ... that keeps at most `max_labels` labels. A multiple
    closer to the first epoch than half a step is dropped, so no two labels crowd."""
    for step in _steps():
        multiples = range((first // step + 1) * step, last + 1, step)
        ticks = [first, *(m for m in multiples if m - first >= step / 2)]
        if len(ticks) <= max_labels:
            return ticks
    raise AssertionError("unreachable: a large enough step always fits")


def _tick_label(value: float, step: float, percent: bool) -> str:
    """A y tick with as many decimals as its step needs (0.2 -> "0.2", 0.05 -> "0.05")."""
    if percent:
        value, step = value * 100, step * 100
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if decimals > 4 and abs(value) > step * 1e-6:  # tiny numbers: 2.5e-04, not 0.00025
        digits = math.floor(math.log10(abs(value)) + 1e-9) - math.floor(math.log10(step) + 1e-9)
        return f"{value:.{max(0, digits)}e}"
    if decimals > 4:
        return "0"
    return f"{value:.{decimals}f}" + ("%" if percent else "")


def _y_range(chart: Chart) -> tuple[float, float, list[float]]:
    """The y axis: low and high ends, and the ticks between them."""
    values = [v for series in chart.series for v in series.values if v is not None]
    low = chart.y_min if chart.y_min is not None else min(values)
    high = chart.y_max if chart.y_max is not None else max(values)
    if chart.y_min is None:
        low -= (high - low) * 0.05  # a little air below and above the data
    if chart.y_max is None:
        high += (high - low) * 0.05
    if high - low < 1e-12:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    if chart.y_min is not None:
        low = max(low, chart.y_min)
    if chart.y_max is not None:
        high = min(high, chart.y_max)
    return low, high, [t for t in ticks if low - 1e-12 <= t <= high + 1e-12]


# ---- drawing --------------------------------------------------------------------------------


def _text_width(text: str) -> float:
    return CHAR_WIDTH * len(text)


def _legend_rows(names: Sequence[str]) -> list[list[tuple[int, float, str]]]:
    """The legend laid out in rows that fit the width: (series index, x, name) per item."""
    rows: list[list[tuple[int, float, str]]] = [[]]
    x = 6.0
    for index, name in enumerate(names):
        item_width = 19 + _text_width(name)  # swatch 14, gap 5, then the name
        if rows[-1] and x + item_width > WIDTH - 4:
            rows.append([])
            x = 6.0
        rows[-1].append((index, x, name))
        x += item_width + 14
    return rows


def _draw(chart: Chart, title: bool) -> tuple[list[str], int]:
    """The elements of one chart (inside the root <svg>) and the height they take."""
    top = TOP + (TITLE_HEIGHT if title else 0)
    plot_width = WIDTH - LEFT - RIGHT
    bottom = top + PLOT_HEIGHT
    first, last = chart.epochs[0], chart.epochs[-1]
    low, high, y_ticks = _y_range(chart)

    def x_at(epoch: int) -> float:
        if last == first:
            return LEFT + plot_width / 2
        return LEFT + (epoch - first) / (last - first) * plot_width

    def y_at(value: float) -> float:
        return top + (1 - (value - low) / (high - low)) * PLOT_HEIGHT

    parts: list[str] = []
    if title:
        parts.append(
            f'<text class="chart-title" x="6" y="17" font-size="14" font-weight="600">'
            f"{escape(chart.title)}</text>"
        )

    # Grid and y ticks.
    step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else abs(y_ticks[0]) or 1.0
    parts.append('<g class="grid" stroke-width="1">')
    parts += [
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_at(t):.1f}" y2="{y_at(t):.1f}"/>'
        for t in y_ticks
    ]
    parts.append("</g>")
    parts += [
        f'<text class="tick tick-y" x="{LEFT - 6}" y="{y_at(t):.1f}" font-size="{FONT_SIZE}" '
        f'text-anchor="end" dominant-baseline="middle">'
        f"{escape(_tick_label(t, step, chart.percent))}</text>"
        for t in y_ticks
    ]

    # X axis, its ticks and its name.
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" '
        'stroke-width="1"/>'
    )
    parts += [
        f'<text class="tick tick-x" x="{x_at(e):.1f}" y="{bottom + 14}" font-size="{FONT_SIZE}" '
        f'text-anchor="middle" dominant-baseline="middle">{e}</text>'
        for e in epoch_ticks(first, last)
    ]
    parts.append(
        f'<text class="axis-label" x="{WIDTH - RIGHT}" y="{bottom + 28}" font-size="{FONT_SIZE}" '
        'text-anchor="end" dominant-baseline="middle" font-style="italic">epoch</text>'
    )

    # The kept epoch: a dashed line across the plot, labelled above it.
    if chart.kept_epoch is not None and first <= chart.kept_epoch <= last:
        x = x_at(chart.kept_epoch)
        parts.append(
            f'<g class="kept" data-epoch="{chart.kept_epoch}">'
            f"<title>kept: the weights of epoch {chart.kept_epoch}</title>"
            f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" '
            'stroke-width="1" stroke-dasharray="3 3"/>'
            f'<text class="marker-label" x="{x:.1f}" y="{top - 7}" font-size="10" '
            'text-anchor="middle" dominant-baseline="middle">kept</text></g>'
        )

    # The series: one path (broken at gaps) and one dot with a tooltip per epoch.
    # Dots as big as the spacing allows; apart, a ring of background colour sets each one off
    # the line, but packed tight, rings would hide the line, so dense dots get none.
    spacing = plot_width / max(1, len(chart.epochs) - 1)
    radius = max(1.2, min(2.2, 0.8 * spacing))
    ring = 1 if spacing >= 6 else 0
    for index, series in enumerate(chart.series):
        path, pen, dots = [], "M", []
        for epoch, value in zip(chart.epochs, series.values, strict=True):
            if value is None:
                pen = "M"  # a gap: the next point starts a new segment
                continue
            x, y = x_at(epoch), y_at(value)
            path.append(f"{pen}{x:.1f},{y:.1f}")
            pen = "L"
            tip = f"{series.name}, epoch {epoch}: {value:{chart.value_format}}"
            dots.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" stroke-width="{ring}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        parts.append(f'<g class="series series-{index % len(SERIES_COLORS)}">')
        parts.append(
            f'<path d="{"".join(path)}" fill="none" stroke-width="2" stroke-linejoin="round" '
            'stroke-linecap="round"/>'
        )
        parts += dots
        parts.append("</g>")

    # The legend, below the axis name, in as many rows as it needs.
    rows = _legend_rows([series.name for series in chart.series])
    parts.append('<g class="legend">')
    for row_index, row in enumerate(rows):
        y = bottom + LEGEND_TOP + row_index * LEGEND_ROW
        for index, x, name in row:
            parts.append(
                f'<g class="legend-item series-{index % len(SERIES_COLORS)}">'
                f'<line class="legend-swatch" x1="{x:.1f}" x2="{x + 14:.1f}" y1="{y}" y2="{y}" '
                'stroke-width="4" stroke-linecap="round"/>'
                f'<text class="legend-label" x="{x + 19:.1f}" y="{y}" font-size="{FONT_SIZE}" '
                f'dominant-baseline="middle">{escape(name)}</text></g>'
            )
    parts.append("</g>")
    return parts, bottom + LEGEND_TOP + (len(rows) - 1) * LEGEND_ROW + 10


def _open_svg(chart: Chart, height: int, extra: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart training-chart" '
        f'viewBox="0 0 {WIDTH} {height}"{extra} role="img" aria-label="{escape(chart.label)}" '
        f"font-family='{FONT_FAMILY}'>"
    )


def chart_svg(chart: Chart) -> str:
    """The chart as an inline <svg> for an HTML page: no title (the page captions it), no
    <style> (the page's stylesheet colours the classes)."""
    parts, height = _draw(chart, title=False)
    return "\n".join([_open_svg(chart, height), *parts, "</svg>"])


def _style_rules(scheme: int) -> list[str]:
    """CSS for the chart's classes; `scheme` 0 is light, 1 dark."""
    color = {name: pair[scheme] for name, pair in SURFACE_COLORS.items()}
    rules = [
        f".background {{ fill: {color['background']}; }}",
        f".chart-title {{ fill: {color['text']}; }}",
        f".grid line {{ stroke: {color['grid']}; }}",
        f".axis, .marker {{ stroke: {color['tick']}; }}",
        f".tick, .axis-label, .marker-label {{ fill: {color['tick']}; }}",
        f".legend-label {{ fill: {color['muted']}; }}",
        f".series circle {{ stroke: {color['background']}; }}",
    ]
    for index, pair in enumerate(SERIES_COLORS):
        rules.append(
            f".series-{index} path, .series-{index} .legend-swatch {{ stroke: {pair[scheme]}; }}"
        )
        rules.append(f".series-{index} circle {{ fill: {pair[scheme]}; }}")
    return rules


def standalone_svg(chart: Chart) -> str:
    """The chart as a complete SVG file: a title, a background and an embedded <style> with
    the page's colours, light and dark, so it reads the same opened on its own."""
    parts, height = _draw(chart, title=True)
    style = [
        "<style>",
        *_style_rules(0),
        "@media (prefers-color-scheme: dark) {",
        *(f"  {rule}" for rule in _style_rules(1)),
        "}",
        "</style>",
    ]
    size = f' width="{2 * WIDTH}" height="{2 * height}"'
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            _open_svg(chart, height, size),
            f"<title>{escape(chart.title)}</title>",
            *style,
            f'<rect class="background" width="{WIDTH}" height="{height}"/>',
            *parts,
            "</svg>",
            "",
        ]
    )


def write_training_plots(history: Sequence[dict[str, object]], folder: Path) -> list[Path]:
    """loss.svg, accuracy.svg, grad_norms.svg and learning_rate.svg from the per-epoch history,
    the epoch training keeps marked; nothing for an empty history."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for chart in training_charts(history, kept_epoch=best_epoch(history)):
        path = folder / chart.file_name
        path.write_text(standalone_svg(chart), encoding="utf-8")
        written.append(path)
    return written

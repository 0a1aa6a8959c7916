"""Training curves as small standalone SVG files: no plotting library needed."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def line_chart_svg(
    title: str,
    series: dict[str, Sequence[float]],
    y_label: str = "",
    width: int = 640,
    height: int = 360,
) -> str:
    """An SVG line chart of each named series against epoch 1..n."""
    left, right, top, bottom = 64, 150, 36, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for ys in series.values() for v in ys]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = max((len(ys) for ys in series.values()), default=1)

    def x_at(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#999"/>',
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = y_at(v)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.4g}</text>')
    for i in range(n):
        if n <= 12 or i % max(1, n // 10) == 0 or i == n - 1:
            parts.append(
                f'<text x="{x_at(i):.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle">{i + 1}</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">epoch</text>'
    )
    if y_label:
        parts.append(
            f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_label)}</text>'
        )
    for k, (name, ys) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(ys))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = top + 14 + 18 * k
        parts.append(
            f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 30}" y1="{ly - 4}" '
            f'y2="{ly - 4}" stroke="{color}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{left + plot_w + 36}" y="{ly}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_training_plots(history: Sequence[dict[str, object]], folder: Path) -> list[Path]:
    """loss.svg, accuracy.svg and grad_norms.svg from the per-epoch history."""
    folder.mkdir(parents=True, exist_ok=True)

    def column(key: str) -> list[float]:
        return [float(row[key]) for row in history]  # type: ignore[arg-type]

    layers = len(history[0]["grad_norms"]) if history else 0  # type: ignore[arg-type]
    charts = {
        "loss.svg": line_chart_svg("Training loss", {"train loss": column("train_loss")}, "loss"),
        "accuracy.svg": line_chart_svg(
            "Accuracy",
            {"train": column("train_accuracy"), "validation": column("val_accuracy")},
            "accuracy",
        ),
        "grad_norms.svg": line_chart_svg(
            "Gradient norm per layer (mean over steps)",
            {
                f"dense{i}.W": [float(row["grad_norms"][i]) for row in history]  # type: ignore[index]
                for i in range(layers)
            },
            "||dL/dW||",
        ),
    }
    written = []
    for name, svg in charts.items():
        path = folder / name
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written

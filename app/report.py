"""What the model page shows: architecture, training curves, metrics, mistakes, first-layer weights.

Everything comes from the served Predictor: its network and the metadata stored in the weight
file. Parts a file does not record (an old or hand-made file has no history, say) come back
empty or None, never as an error. The results are plain JSON-ready dicts and lists; the web
side gives them a schema. The training curves are also drawn here, as SVG markup, by the
renderer `digits train --plot` uses (model/training/plots.py).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.nn.mlp import MLP
from model.serving.predictor import Predictor
from model.training.plots import chart_svg, training_charts

FRAME = 28  # first-layer weights and mistakes are shown as 28x28 pictures
SIGNIFICANT_DIGITS = 5  # for curves: plenty for a chart, short in JSON
CONTRAST_PERCENTILE = 99.0  # weight pictures saturate at this percentile of |weight|


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """`value` rounded to `digits` significant figures (so 0.0012345678 -> 0.0012346)."""
    return float(f"{value:.{digits}g}")


def layer_table(network: MLP, dropout: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """One row per dense layer: sizes, parameter counts, the activation after it, and the
    dropout rate on its input during training (the loaded network itself never drops)."""
    rows = []
    last = len(network.dense) - 1
    rates = list(dropout) if dropout and len(dropout) == len(network.dense) else network.dropout
    for i, dense in enumerate(network.dense):
        weights = int(dense.parameters["W"].size)
        biases = int(dense.parameters["b"].size)
        rows.append(
            {
                "name": f"dense{i}",
                "inputs": dense.fan_in,
                "outputs": dense.fan_out,
                "weights": weights,
                "biases": biases,
                "parameters": weights + biases,
                "activation": "softmax" if i == last else network.activation,
                "dropout": float(rates[i]),
            }
        )
    return rows


def training_curves(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Per-epoch series as columns (one list per quantity); None if no history was recorded.

    `grad_norms` holds one series per dense layer: the gradient norm of that layer's weights,
    averaged over every 8th batch of the epoch.
    """
    epochs = [entry for entry in history if isinstance(entry, dict) and "epoch" in entry]
    if not epochs:
        return None

    def column(key: str) -> list[float | None]:
        values: list[float | None] = []
        for entry in epochs:
            value = entry.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                values.append(significant(float(value)))
            else:
                values.append(None)
        return values

    layers = max((len(entry.get("grad_norms") or []) for entry in epochs), default=0)
    grad_norms = [
        [
            significant(float(norms[layer]))
            if layer < len(norms) and math.isfinite(norms[layer])
            else None
            for norms in (entry.get("grad_norms") or [] for entry in epochs)
        ]
        for layer in range(layers)
    ]
    return {
        "epoch": [int(entry["epoch"]) for entry in epochs],
        "train_loss": column("train_loss"),
        "train_accuracy": column("train_accuracy"),
        "val_accuracy": column("val_accuracy"),
        "learning_rate": column("lr_end"),
        "seconds": column("seconds"),
        "grad_norms": grad_norms,
    }


def training_chart_figures(predictor: Predictor) -> list[tuple[str, str]]:
    """The training curves as (title, inline SVG markup) pairs, one per chart, for the model
    page to caption and insert as they are; [] if the weight file records no history."""
    metadata = predictor.metadata
    kept = metadata.get("best_epoch")
    layer_names = [
        f"dense{i} ({d.fan_in}→{d.fan_out})" for i, d in enumerate(predictor.network.dense)
    ]
    charts = training_charts(
        metadata.get("history") or [],
        kept_epoch=int(kept) if isinstance(kept, int) and kept > 0 else None,
        layer_names=layer_names,
    )
    return [(chart.title, chart_svg(chart)) for chart in charts]


def decode_image(text: str) -> NDArray[np.uint8] | None:
    """A stored 28x28 image (base64 of 784 uint8 bytes), or None if it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    if len(raw) != FRAME * FRAME:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(FRAME, FRAME)


def mistakes_gallery(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The misclassified test digits stored in the weight file, most confident first."""
    gallery = []
    for mistake in metadata.get("mistakes") or []:
        image = decode_image(mistake.get("image_b64", ""))
        if image is None:
            continue
        gallery.append(
            {
                "index": int(mistake.get("index", -1)),
                "true": int(mistake["true"]),
                "predicted": int(mistake["predicted"]),
                "confidence": significant(float(mistake.get("confidence", 0.0)), 4),
                "pixels": image.tolist(),
            }
        )
    gallery.sort(key=lambda item: -item["confidence"])
    return gallery


def first_layer_pictures(network: MLP) -> dict[str, Any]:
    """Each first-layer unit's 784 incoming weights as a 28x28 picture, one byte per pixel.

    Per unit, weights are divided by `scale`, that unit's 99th percentile of |weight|, and
    clipped to -1..1, then stored as 1..255 with 128 for zero: every picture gets the full
    contrast, and a few extreme weights cannot wash the rest out. To undo it,
    weight ~ (byte - 128) / 127 * scale. Packed unit after unit, row-major: base64 keeps the
    512 x 784 numbers a few hundred kB instead of megabytes of JSON.
    """
    W = network.dense[0].parameters["W"].astype(np.float64)  # (784, units): column j feeds unit j
    if W.shape[0] != FRAME * FRAME:
        return {"units": int(W.shape[1]), "side": 0, "scale": [], "pixels_b64": ""}
    scale = np.percentile(np.abs(W), CONTRAST_PERCENTILE, axis=0)  # (units,)
    unit_major = np.clip(W / np.maximum(scale, 1e-12), -1.0, 1.0).T  # (units, 784)
    pictures = np.rint(128 + 127 * unit_major).astype(np.uint8)
    return {
        "units": int(W.shape[1]),
        "side": FRAME,
        "scale": [significant(float(s), 4) for s in scale],
        "pixels_b64": base64.b64encode(pictures.tobytes()).decode("ascii"),
    }


def model_overview(predictor: Predictor) -> dict[str, Any]:
    """The light part of the report: architecture, headline metrics, config and checksums."""
    metadata = predictor.metadata
    metrics = metadata.get("metrics") or {}
    per_class = metrics.get("per_class")
    confusion = metrics.get("confusion")
    return {
        **predictor.info(),
        "layers": layer_table(predictor.network, metadata.get("dropout")),
        "best_epoch": metadata.get("best_epoch"),
        "training_seconds": metadata.get("training_seconds"),
        "per_class_accuracy": [significant(float(a), 4) for a in per_class] if per_class else None,
        "confusion": [[int(n) for n in row] for row in confusion] if confusion else None,
        "most_confused": [
            {"true": int(p["true"]), "predicted": int(p["predicted"]), "count": int(p["count"])}
            for p in metrics.get("most_confused") or []
        ],
        "config": dict(metadata.get("config") or {}),
        "data_sha256": {str(k): str(v) for k, v in (metadata.get("data_sha256") or {}).items()},
    }


def model_report(predictor: Predictor) -> dict[str, Any]:
    """Everything the model page draws: the overview plus curves, mistakes and weight pictures."""
    return {
        **model_overview(predictor),
        "curves": training_curves(predictor.metadata.get("history") or []),
        "mistakes": mistakes_gallery(predictor.metadata),
        "first_layer": first_layer_pictures(predictor.network),
    }

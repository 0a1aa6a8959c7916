"""The served model: a network plus its normalisation, loaded once from a weight file.

A batch goes through the network's own forward pass (with `model.fast`'s layers); one image,
what /api/predict serves, through `model.fast.single_image`, which reads only the weight rows
of non-zero inputs.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data.mnist import sha256_file
from model.fast.single_image import SingleImageForward, softmax_row
from model.fast.training import use_fast_layers
from model.files import WeightFileError, load_weights
from model.nn.losses import softmax
from model.nn.mlp import MLP
from model.serving.preprocess import normalize

Array = NDArray[np.floating]


@dataclass(frozen=True)
class Prediction:
    """One image's result; `pixels` is the 28x28 uint8 input exactly as the network saw it."""

    digit: int
    confidence: float
    probabilities: list[float]
    pixels: NDArray[np.uint8]


class Predictor:
    """Wraps an MLP with the mean/std it was trained with; thread-safe for inference.

    Gradient work (saliency, attacks) goes through `gradient_network()`, never `network`.
    """

    def __init__(self, network: MLP, metadata: dict[str, Any], path: Path, sha256: str) -> None:
        self.network = use_fast_layers(network)
        self.metadata = metadata
        self.path = path
        self.sha256 = sha256
        norm = metadata.get("normalization", {})
        self.mean = float(norm.get("mean", 0.0))
        self.std = float(norm.get("std", 1.0))
        if not (np.isfinite(self.mean) and np.isfinite(self.std) and self.std > 0):
            raise WeightFileError(f"{path}: invalid normalisation {norm!r}")
        # Temperature scaling fitted on the validation split (1.0 for uncalibrated files).
        self.temperature = float(metadata.get("calibration", {}).get("temperature", 1.0))
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise WeightFileError(f"{path}: invalid temperature {self.temperature!r}")
        self._gradient_lock = threading.Lock()
        self._gradient_copy: MLP | None = None
        self._single_image = SingleImageForward(network, self.mean, self.std)

    @classmethod
    def from_file(cls, path: Path) -> Predictor:
        network, metadata = load_weights(path)
        return cls(network, metadata, Path(path), sha256_file(path))

    @contextmanager
    def gradient_network(self) -> Iterator[MLP]:
        """A private copy of the network for forward + backward passes, one caller at a time.

        Layers cache their forward pass for backward, so a backward pass on the shared network
        could read the caches of another thread's forward (wrong masks, or a shape error when
        that was a batch). `predict` only uses what forward returns, so it keeps sharing
        `network`; gradient work is serialised on this copy, made on first use.
        """
        with self._gradient_lock:
            if self._gradient_copy is None:
                self._gradient_copy = copy.deepcopy(self.network)
            yield self._gradient_copy

    def normalize(self, pixels: NDArray[np.uint8] | NDArray[np.floating]) -> NDArray[np.float32]:
        """Grey levels 0..255 of any shape -> the network's input scale."""
        return normalize(pixels, self.mean, self.std)

    def logits(self, images: list[NDArray[np.uint8]]) -> Array:
        """n 28x28 uint8 images, ink high -> (n, 10) logits, before temperature scaling."""
        if len(images) == 1:
            return self._single_image.logits(images[0])[np.newaxis]
        pixels = np.stack(images).reshape(len(images), -1)  # (n, 784)
        return self.network.forward(self.normalize(pixels))

    def probabilities(self, images: list[NDArray[np.uint8]]) -> Array:
        """n 28x28 uint8 images, ink high -> (n, 10) calibrated probabilities.

        Softmax in float64: float32 rows can sum to 1 +- 1e-7, these to 1 +- 1e-15, so clients
        see an exact distribution.
        """
        logits = self.logits(images).astype(np.float64)
        if self.temperature != 1.0:
            logits /= self.temperature
        return softmax(logits)

    def predict(self, images: list[NDArray[np.uint8]]) -> list[Prediction]:
        """Score a list of 28x28 uint8 images in one batch, in order."""
        if not images:
            return []
        if len(images) == 1:
            # One drawing, what /api/predict serves: its ten logits as Python floats (float64)
            # skip the half-dozen NumPy calls of the batch softmax, a sixth of the whole pass.
            logits = self._single_image.logits(images[0]).tolist()
            rows = [softmax_row(logits, self.temperature)]
        else:
            rows = self.probabilities(images).tolist()
        return [
            Prediction(digit=p.index(max(p)), confidence=max(p), probabilities=p, pixels=image)
            for p, image in zip(rows, images, strict=True)
        ]

    def info(self) -> dict[str, Any]:
        """What /api/model reports about the loaded weights."""
        metrics = self.metadata.get("metrics", {})
        return {
            "layer_sizes": list(self.network.layer_sizes),
            "activation": self.network.activation,
            "parameter_count": self.network.parameter_count,
            "normalization": {"mean": self.mean, "std": self.std},
            "test_accuracy": metrics.get("test_accuracy"),
            "val_accuracy": metrics.get("val_accuracy"),
            "trained_at": self.metadata.get("created"),
            "temperature": self.temperature,
            "weights_file": self.path.name,
            "weights_sha256": self.sha256,
        }

"""The served model: a network plus its normalisation, loaded once from a weight file."""

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

from model.data import sha256_file
from model.losses import softmax
from model.network import MLP
from model.preprocess import normalize
from model.weights_file import WeightFileError, load_weights


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
        self.network = network
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

    def probabilities(self, pixels: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(n, 28, 28) uint8, ink high -> (n, 10) calibrated probabilities."""
        x = self.normalize(pixels.reshape(len(pixels), -1))
        logits = self.network.forward(x)
        if self.temperature != 1.0:
            logits /= np.float32(self.temperature)
        return softmax(logits)

    def predict(self, images: list[NDArray[np.uint8]]) -> list[Prediction]:
        """Score a list of 28x28 uint8 images in one batch, in order."""
        if not images:
            return []
        pixels = np.stack(images)
        probabilities = self.probabilities(pixels).astype(np.float64)
        # float32 rows can sum to 1 +- 1e-7; renormalise so clients see an exact distribution.
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        digits = probabilities.argmax(axis=1)
        return [
            Prediction(
                digit=int(d),
                confidence=float(p[d]),
                probabilities=p.tolist(),
                pixels=image,
            )
            for d, p, image in zip(digits, probabilities, images, strict=True)
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

"""The served model: a network plus its normalisation, loaded once from a weight file.

One image (what /api/predict serves) is memory-bound: each weight is read once for one
multiply. Its inputs are mostly zero, so only the weight rows of non-zero inputs are read:
the inked pixels in the first layer (`_first_layer_sparse`: a drawing inks 100-200 of 784),
and the active units after a ReLU in a big hidden layer (`_dense_from_active_rows`: about
1 in 10 in the shipped network). Batches go through the network's own dense forward pass.
"""

from __future__ import annotations

import copy
import functools
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.activations import ReLU
from model.data import sha256_file
from model.layers import Dense, Dropout
from model.losses import softmax
from model.network import MLP
from model.preprocess import normalize
from model.weights_file import WeightFileError, load_weights

# Gathering weight rows costs about five times as much per row as streaming them through a
# dense product (measured on 1-8 MB layers), and a small layer is read from cache either way.
# So a hidden layer reads only its active rows when it holds at least 1 MB of weights and at
# most this fraction of its inputs is non-zero (about 2x faster at 1 in 10).
SPARSE_MIN_WEIGHT_BYTES = 1 << 20
SPARSE_MAX_ACTIVE_FRACTION = 1 / 6

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
        # The first layer with the normalisation folded in, for `_first_layer_sparse`. The input
        # is x = p * scale - shift for grey levels p, so x @ W + b = p @ (scale * W) + bias with
        # bias = b - shift * colsum(W), and p @ (scale * W) only needs the rows where p != 0.
        # Computed once: the served weights never change after loading.
        first = network.dense[0]
        weights, biases = first.parameters["W"], first.parameters["b"]
        shift = self.mean / self.std
        scale = 1.0 / (255.0 * self.std)
        self._first_weights = (weights * scale).astype(network.dtype)  # (784, hidden)
        self._first_bias = (biases - shift * weights.sum(axis=0, dtype=np.float64)).astype(
            network.dtype
        )
        # Every layer after the first Dense as one step of `_logits_one`, on a (features,)
        # vector: a big Dense reads only the rows of active inputs, ReLU keeps no mask (nothing
        # runs backward on the shared network), and dropout, the identity outside training, is
        # left out.
        self._steps_after_first_layer: list[Callable[[Array], Array]] = []
        for layer in network.layers[network.layers.index(first) + 1 :]:
            if isinstance(layer, Dropout):
                continue
            if isinstance(layer, ReLU):
                self._steps_after_first_layer.append(_relu_in_place)
            elif isinstance(layer, Dense):
                weights, biases = layer.parameters["W"], layer.parameters["b"]
                dense = (
                    _dense_from_active_rows
                    if weights.nbytes >= SPARSE_MIN_WEIGHT_BYTES
                    else _dense_one
                )
                self._steps_after_first_layer.append(functools.partial(dense, weights, biases))
            else:
                self._steps_after_first_layer.append(layer.forward)

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
            return self._logits_one(images[0])[np.newaxis]
        pixels = np.stack(images).reshape(len(images), -1)  # (n, 784)
        return self.network.forward(self.normalize(pixels))

    def _logits_one(self, image: NDArray[np.uint8]) -> Array:
        """(28, 28) -> (10,): the network's forward pass, reading the rows of non-zero inputs."""
        out = self._first_layer_sparse(image.reshape(-1))  # (hidden,)
        for step in self._steps_after_first_layer:
            out = step(out)
        return out

    def _first_layer_sparse(self, pixels: NDArray[np.uint8]) -> Array:
        """(784,) grey levels -> (hidden,) first-layer output, from the inked pixels' rows only.

        Equal to the dense `normalize(pixels) @ W + b` up to float rounding: a drawn digit
        inks 100-200 of 784 pixels, so this reads about a fifth of the layer's weights.
        """
        (inked,) = pixels.nonzero()
        ink = pixels[inked].astype(self.network.dtype)
        rows = np.take(self._first_weights, inked, axis=0)  # (inked, hidden)
        out: Array = ink @ rows
        out += self._first_bias
        return out

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
            logits = self._logits_one(images[0]).tolist()
            rows = [_softmax_row(logits, self.temperature)]
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


def _softmax_row(logits: list[float], temperature: float) -> list[float]:
    """`softmax(logits / temperature)` for one row, in Python floats (float64)."""
    top = max(logits)
    exps = [math.exp((value - top) / temperature) for value in logits]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _relu_in_place(x: Array) -> Array:
    """max(x, 0), written over x: a fresh array from the layer below that nothing else holds."""
    return np.maximum(x, 0, out=x)


def _dense_one(weights: Array, biases: Array, x: Array) -> Array:
    """A Dense layer's forward pass for one vector: (fan_in,) -> (fan_out,)."""
    out: Array = x @ weights
    out += biases
    return out


def _dense_from_active_rows(weights: Array, biases: Array, x: Array) -> Array:
    """`_dense_one`, reading only the weight rows of the non-zero inputs when at most
    SPARSE_MAX_ACTIVE_FRACTION of them are non-zero: (fan_in,) -> (fan_out,).

    Equal up to float rounding: the rows left out are multiplied by exact zeros.
    """
    (active,) = x.nonzero()
    if len(active) > SPARSE_MAX_ACTIVE_FRACTION * len(x):
        return _dense_one(weights, biases, x)
    out: Array = x[active] @ np.take(weights, active, axis=0)
    out += biases
    return out

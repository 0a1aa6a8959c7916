"""The served model: a network plus its normalisation, loaded once from a weight file.

A batch goes through the network's own forward pass (with `model.fast`'s layers); one image,
what /api/predict serves, through `model.fast.single_image`, which reads only the weight rows
of non-zero inputs. Every prediction also carries the verdict of `model.serving.verdict`
("digit", "not_a_digit" or "several_digits") when the weight file holds that classifier, and
"digit" when it does not.

With a profile's `Prototypes` (model.serving.prototypes), a batch goes through the network's
layers one by one, keeping the hidden activations that describe each drawing, and the logits
are adapted to the person's examples before the softmax.
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
from model.fast.shared_first_layer import SharedFirstLayer
from model.fast.single_image import SingleImageForward, softmax_row
from model.fast.training import use_fast_layers
from model.files import WeightFileError, read_weight_file
from model.nn.activations import Activation
from model.nn.losses import softmax
from model.nn.mlp import MLP
from model.serving.dots import only_dots
from model.serving.preprocess import normalize
from model.serving.prototypes import NO_PROTOTYPES, Prototypes, describe
from model.serving.verdict import (
    DIGIT,
    GROUP,
    NOT_A_DIGIT,
    Verdict,
    VerdictModel,
    digit_view,
    network_checksum,
)

Array = NDArray[np.floating]


@dataclass(frozen=True)
class Prediction:
    """One image's result; `pixels` is the 28x28 uint8 input exactly as the network saw it.

    `verdict` says whether the drawing is one digit at all: "digit", "not_a_digit" or
    "several_digits" (`model.serving.verdict`); `digit` is the network's reading either way.
    """

    digit: int
    confidence: float
    probabilities: list[float]
    pixels: NDArray[np.uint8]
    verdict: Verdict = DIGIT


class Predictor:
    """Wraps an MLP with the mean/std it was trained with; thread-safe for inference.

    Gradient work (saliency, attacks) goes through `gradient_network()`, never `network`.
    """

    def __init__(
        self,
        network: MLP,
        metadata: dict[str, Any],
        path: Path,
        sha256: str,
        verdict: VerdictModel | None = None,
    ) -> None:
        self.network = use_fast_layers(network)
        self.verdict = verdict  # None: the file has no verdict classifier, every verdict "digit"
        # A classifier reading the digit network's view was fitted on one digit network: after
        # retraining or fine-tuning it still reads, less well, until it is refitted.
        self.verdict_fits_network = True
        if verdict is not None and verdict.view is not None:
            if verdict.view.hidden != network.layer_sizes[-2]:
                raise WeightFileError(
                    f"{path}: the verdict classifier reads a last hidden layer of "
                    f"{verdict.view.hidden} units; this network's has {network.layer_sizes[-2]}"
                )
            self.verdict_fits_network = verdict.view.network_sha256 == network_checksum(network)
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
        # With a verdict classifier, one image's first layers come from one gather of weight
        # rows for both networks (model.fast.shared_first_layer).
        self._shared = (
            None
            if verdict is None
            else SharedFirstLayer(
                self._single_image, verdict.single.pixel_weights, verdict.single.first_bias
            )
        )
        if verdict is not None and self._shared is not None:
            # The verdict's own passes (each piece of a number) read the joint matrix too.
            verdict.single.pixel_weights = self._shared.extra_weights

    @classmethod
    def from_file(cls, path: Path) -> Predictor:
        loaded = read_weight_file(path)
        verdict = None
        if GROUP in loaded.groups:
            try:
                verdict = VerdictModel.from_arrays(
                    loaded.groups[GROUP], loaded.metadata.get(GROUP, {})
                )
            except ValueError as error:
                raise WeightFileError(f"{path}: bad verdict classifier: {error}") from None
        return cls(loaded.network, loaded.metadata, Path(path), sha256_file(path), verdict)

    @contextmanager
    def gradient_network(self) -> Iterator[MLP]:
        """A private copy of the network for forward + backward passes, one caller at a time.

        Layers cache their forward pass for backward, so a backward pass on the shared network
        could read the caches of another thread's forward (wrong masks, or a shape error when
        that was a batch). `predict` only uses what forward returns, so it keeps sharing
        `network`; gradient work is serialised on this copy, made on first use. The copy shares
        the parameter arrays, which nothing here writes: only the layers' caches are its own.
        """
        with self._gradient_lock:
            if self._gradient_copy is None:
                shared = {id(array): array for array in self.network.parameters().values()}
                self._gradient_copy = copy.deepcopy(self.network, memo=shared)
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
        return self.calibrated(self.logits(images))

    def calibrated(self, logits: Array) -> Array:
        """(n, 10) logits -> softmax(logits / temperature), in float64."""
        logits = np.array(logits, dtype=np.float64)
        if self.temperature != 1.0:
            logits /= self.temperature
        return softmax(logits)

    def forward(
        self, images: list[NDArray[np.uint8]] | NDArray[np.uint8]
    ) -> tuple[Array, list[Array]]:
        """n 28x28 uint8 images -> (n, 10) logits and each hidden layer's (n, units) activations
        (as MLP.hidden_activations counts them), in one batch pass."""
        pixels = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
        hidden: list[Array] = []
        out = self.normalize(pixels)
        for layer in self.network.layers:
            out = layer.forward(out, training=False)
            if isinstance(layer, Activation):
                hidden.append(out)
        return out, hidden

    def batch_verdicts(
        self, images: list[NDArray[np.uint8]], logits: Array, hidden: list[Array]
    ) -> list[Verdict]:
        """Each image's verdict from the images and the digit network's pass over them (its
        logits and hidden activations, `forward`); "digit" for all without a classifier."""
        if self.verdict is None:
            return [DIGIT] * len(images)
        view = digit_view(hidden[-1], logits) if self.verdict.view else None
        return self.verdict.verdicts(np.stack(images), view)

    def logits_and_descriptions(
        self, images: list[NDArray[np.uint8]] | NDArray[np.uint8]
    ) -> tuple[Array, NDArray[np.float32]]:
        """n 28x28 uint8 images -> (n, 10) logits and (n, d) descriptions for prototypes (the
        last hidden layers' activations, `model.serving.prototypes.describe`)."""
        logits, hidden = self.forward(images)
        return logits, describe(hidden)

    def prototypes(self, images: NDArray[np.uint8], labels: NDArray[np.integer]) -> Prototypes:
        """A profile's examples, (n, 28, 28) uint8 inputs and (n,) labels 0..9, as prototypes.
        Raises ValueError for labels outside 0..9 or counts that differ."""
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images and {len(labels)} labels")
        if not len(images):
            return NO_PROTOTYPES
        _, features = self.logits_and_descriptions(images)
        return Prototypes(features, np.asarray(labels, dtype=np.intp))

    def predict(
        self, images: list[NDArray[np.uint8]], prototypes: Prototypes | None = None
    ) -> list[Prediction]:
        """Score a list of 28x28 uint8 images in one batch, in order; with `prototypes` (a
        profile's examples), read with the network adapted to them. The verdict reads the
        network's own logits, never the adapted ones. A drawing of dots only is not a digit
        (`model.serving.dots`), whatever the classifier says."""
        if not images:
            return []
        verdicts: list[Verdict]
        if len(images) == 1 and not (prototypes is not None and len(prototypes)):
            # One drawing, what /api/predict serves: its ten logits as Python floats (float64)
            # skip the half-dozen NumPy calls of the batch softmax, a sixth of the whole pass.
            if self._shared is None or self.verdict is None:
                logits = self._single_image.logits(images[0]).tolist()
                verdicts = [DIGIT]
            else:
                last_hidden, digit_logits, verdict_first = self._shared.forward(images[0])
                logits = digit_logits.tolist()
                single = self.verdict.single
                view = (
                    digit_view(last_hidden[np.newaxis], digit_logits[np.newaxis])
                    if self.verdict.view
                    else None
                )
                first_logits = single.logits_after(verdict_first, images[0], view)
                verdicts = [single.decide_logits(first_logits)]
            rows = [softmax_row(logits, self.temperature)]
        else:
            batch_logits, hidden = self.forward(images)
            verdicts = self.batch_verdicts(images, batch_logits, hidden)
            if prototypes is not None and len(prototypes):
                batch_logits = prototypes.adapt(batch_logits, describe(hidden))
            rows = self.calibrated(batch_logits).tolist()
        if self.verdict is not None:
            verdicts = [
                NOT_A_DIGIT if verdict != NOT_A_DIGIT and only_dots(image) else verdict
                for verdict, image in zip(verdicts, images, strict=True)
            ]
        return [
            Prediction(
                digit=p.index(max(p)),
                confidence=max(p),
                probabilities=p,
                pixels=image,
                verdict=verdict,
            )
            for p, image, verdict in zip(rows, images, verdicts, strict=True)
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
            "verdict": self.verdict_info(),
        }

    def verdict_info(self) -> dict[str, Any]:
        """What /api/model says about the verdict classifier, or that the file has none."""
        if self.verdict is None:
            return {
                "available": False,
                "detail": f"{self.path.name} has no verdict classifier: every verdict is "
                '"digit" (add one with `python -m model.training.verdict`)',
            }
        stored = self.metadata.get(GROUP, {})
        detail = "a separate classifier says whether a drawing is one digit"
        if not self.verdict_fits_network:
            detail += (
                ", fitted on another digit network than this one (retrained or fine-tuned): "
                "refit it with `python -m model.training.verdict --weights FILE`"
            )
        return {
            "available": True,
            "detail": detail,
            "fits_network": self.verdict_fits_network,
            **self.verdict.metadata(),
            "rates": stored.get("rates"),
            "created": stored.get("created"),
        }

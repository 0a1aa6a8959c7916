"""Two networks reading the same image: one gather of the inked pixels' weight rows for both.

`SingleImageForward` spends most of a one-image pass gathering the first layer's weight rows of
the inked pixels. A second network over the same pixels (the verdict classifier of
`model.serving.verdict`) would gather its own rows again, with its own `nonzero`, cast and
product. Here its first-layer weights sit beside the digit network's, as extra columns of one
matrix, so one gather and one product serve both; the second network pays only for its columns
(about 1 us instead of about 3 us for a 128-unit layer, measured with
`benchmarks.bench_inference`). Equal to running the two first layers apart, up to float
rounding (tested in tests/model/fast/test_shared_first_layer.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from model.fast.single_image import SingleImageForward

Array = NDArray[np.floating]


class SharedFirstLayer:
    """The digit network's one-image pass, plus `pixels @ extra_weights + extra_bias`.

    `extra_weights` (784, k) apply to the raw grey levels 0..255 (fold any scaling into them);
    `digit` must not change afterwards, and its `first_weights` become a view of `weights`.
    """

    def __init__(self, digit: SingleImageForward, extra_weights: Array, extra_bias: Array) -> None:
        self.digit = digit
        self.split = digit.first_weights.shape[1]  # the digit network's first-layer width
        self.weights = np.ascontiguousarray(
            np.concatenate([digit.first_weights, extra_weights.astype(digit.dtype)], axis=1)
        )  # (784, hidden + k)
        self.bias = np.concatenate([digit.first_bias, extra_bias.astype(digit.dtype)])
        # From here on `digit` reads its columns of the joint matrix, and `extra_weights` is a
        # view that can replace the caller's own copy: one matrix in memory, not two.
        digit.first_weights = self.weights[:, : self.split]
        self.extra_weights = self.weights[:, self.split :]  # (784, k)

    def forward(self, image: NDArray[np.uint8]) -> tuple[Array, Array, Array]:
        """(28, 28) uint8 -> (the digit network's last hidden activations and its logits, the
        extra (k,) first-layer output)."""
        pixels = image.reshape(-1)
        (inked,) = pixels.nonzero()
        both: Array = pixels[inked].astype(self.digit.dtype) @ np.take(self.weights, inked, axis=0)
        both += self.bias
        hidden, logits = self.digit.hidden_and_logits(both[: self.split])
        return hidden, logits, both[self.split :]

"""The multilayer perceptron: Dense layers with an activation between them, dropout on inputs.

For layer_sizes (784, 512, 256, 10) and dropout (0.4, 0.2, 0.1) the stack is

    Dropout(0.4) -> Dense(784, 512) -> ReLU -> Dropout(0.2) -> Dense(512, 256) -> ReLU
    -> Dropout(0.1) -> Dense(256, 10) -> logits

Forward runs the list front to back, backward runs it back to front: every layer has the
same `forward(x, training) -> y` and `backward(dy) -> dx`. Softmax is not a layer: it is fused
with the loss in training and applied in `predict_proba`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model.nn.activations import Activation, make_activation
from model.nn.layers import Dense, Dropout
from model.nn.losses import l2_penalty, softmax, softmax_cross_entropy

Array = NDArray[np.floating]
Layer = Dense | Activation | Dropout

RELU_FAMILY = ("relu", "leaky_relu")  # He initialisation suits these


class MLP:
    """A fully connected network with named parameters `dense{i}.W` and `dense{i}.b`."""

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        dropout: Sequence[float] | None = None,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        if len(layer_sizes) < 2 or any(int(s) < 1 for s in layer_sizes):
            raise ValueError(f"need at least an input and an output size, got {layer_sizes}")
        n_dense = len(layer_sizes) - 1
        dropout = tuple(dropout) if dropout is not None else (0.0,) * n_dense
        if len(dropout) != n_dense:
            raise ValueError(
                f"need one dropout rate per dense layer input ({n_dense}), got {len(dropout)}"
            )
        rng = rng if rng is not None else np.random.default_rng(0)
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.activation = activation
        self.dropout = tuple(float(r) for r in dropout)
        self.dtype = np.dtype(dtype)
        init = "he" if activation in RELU_FAMILY else "glorot"

        self.dense: list[Dense] = []
        self.layers: list[Layer] = []
        self.layers.append(Dropout(self.dropout[0], rng))
        for i, (fan_in, fan_out) in enumerate(
            zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True)
        ):
            dense = Dense(fan_in, fan_out, rng, init=init, dtype=self.dtype)
            self.dense.append(dense)
            self.layers.append(dense)
            if i < n_dense - 1:
                self.layers.append(make_activation(activation))
                self.layers.append(Dropout(self.dropout[i + 1], rng))

    # ----------------------------------------------------------------- parameters
    def parameters(self) -> dict[str, Array]:
        """Every trainable array by name; the arrays are live (updated in place)."""
        return {
            f"dense{i}.{k}": v for i, d in enumerate(self.dense) for k, v in d.parameters.items()
        }

    def gradients(self) -> dict[str, Array]:
        """Gradients from the last backward pass, under the same names as `parameters`."""
        return {
            f"dense{i}.{k}": v for i, d in enumerate(self.dense) for k, v in d.gradients.items()
        }

    def load_parameters(self, arrays: dict[str, NDArray[np.generic]]) -> None:
        """Copy arrays into the network, checking that every name and shape matches."""
        own = self.parameters()
        if set(arrays) != set(own):
            raise ValueError(
                f"parameter names differ: expected {sorted(own)}, got {sorted(arrays)}"
            )
        for name, target in own.items():
            source = arrays[name]
            if source.shape != target.shape:
                raise ValueError(f"{name}: expected shape {target.shape}, got {source.shape}")
            target[...] = source

    @property
    def parameter_count(self) -> int:
        return sum(p.size for p in self.parameters().values())

    # ----------------------------------------------------------------- passes
    def forward(self, x: Array, training: bool = False) -> Array:
        """Logits for a batch: (n, layer_sizes[0]) -> (n, layer_sizes[-1])."""
        out = np.asarray(x, dtype=self.dtype)
        for layer in self.layers:
            out = layer.forward(out, training)
        return out

    def backward(self, grad_logits: Array) -> Array:
        """Backpropagate dL/dlogits (n, classes) through every layer, last to first.

        Fills every layer's gradients; returns dL/dx (n, layer_sizes[0]).
        """
        grad = grad_logits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def train_step_gradients(
        self,
        x: Array,
        labels: NDArray[np.integer],
        l2: float = 0.0,
        label_smoothing: float = 0.0,
    ) -> tuple[float, Array]:
        """Forward in training mode, loss, backward: fills gradients for one batch.

        x (n, features), labels (n,). Returns (loss including the L2 term, probabilities
        (n, classes)).
        """
        logits = self.forward(x, training=True)
        loss, probabilities, grad = softmax_cross_entropy(logits, labels, label_smoothing)
        self.backward(grad)
        return loss + self.add_l2_gradients(l2), probabilities

    def add_l2_gradients(self, l2: float) -> float:
        """Add the L2 term's gradient l2 * W to every weight gradient; returns the term.

        The term is 0.5 * l2 * sum ||W||^2 over the weights; biases are not regularised.
        """
        if l2 <= 0.0:
            return 0.0
        for d in self.dense:
            d.gradients["W"] += d.gradients["W"].dtype.type(l2) * d.parameters["W"]
        return l2_penalty((d.parameters["W"] for d in self.dense), l2)

    def apply_max_norm(self, limit: float) -> None:
        """Rescale each hidden unit's incoming weights to an L2 norm of at most `limit`.

        The constraint of Srivastava et al. (2014): with dropout it lets a high learning rate
        run without weights blowing up. The output layer is left free.
        """
        for dense in self.dense[:-1]:
            W = dense.parameters["W"]  # (fan_in, fan_out): column j feeds unit j
            norms = np.sqrt(np.einsum("ij,ij->j", W, W))
            scale = np.minimum(1.0, limit / np.maximum(norms, 1e-12)).astype(W.dtype)
            W *= scale

    def predict_proba(self, x: Array) -> Array:
        """Class probabilities in evaluation mode: (n, features) -> (n, classes)."""
        return softmax(self.forward(x, training=False))

    def predict(self, x: Array) -> NDArray[np.intp]:
        """Most likely class per row: (n, features) -> (n,)."""
        classes: NDArray[np.intp] = np.argmax(self.forward(x, training=False), axis=1)
        return classes

    def input_gradient(
        self,
        x: Array,
        labels: NDArray[np.integer] | None = None,
        class_index: int | NDArray[np.integer] | None = None,
    ) -> Array:
        """Gradient with respect to the INPUT, in evaluation mode: (n, features) -> (n, features).

        With `labels`: of the mean cross-entropy loss (what an untargeted attack climbs).
        With `class_index` (one int, or one per row): of that class's logit (a saliency map).
        """
        if (labels is None) == (class_index is None):
            raise ValueError("give exactly one of labels or class_index")
        logits = self.forward(x, training=False)
        if labels is not None:
            _, _, grad = softmax_cross_entropy(logits, labels)
        else:
            grad = np.zeros_like(logits)
            rows = np.arange(logits.shape[0])
            grad[rows, np.broadcast_to(np.asarray(class_index), rows.shape)] = 1.0
        # The parameters' gradients are not needed here: Dense layers pass the gradient down
        # without computing them, which also leaves `gradients` as training left them.
        for layer in reversed(self.layers):
            grad = layer.input_gradient(grad) if isinstance(layer, Dense) else layer.backward(grad)
        return grad

    def hidden_activations(self, x: Array) -> list[Array]:
        """The output of every hidden activation layer, in evaluation mode."""
        out = np.asarray(x, dtype=self.dtype)
        hidden: list[Array] = []
        for layer in self.layers:
            out = layer.forward(out, training=False)
            if isinstance(layer, Activation):
                hidden.append(out)
        return hidden

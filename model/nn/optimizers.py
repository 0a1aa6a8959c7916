"""Optimizers over named parameters: SGD, SGD with momentum (optionally Nesterov), Adam.

An optimizer sees only `{name: array}` dicts of parameters and their gradients, so one instance
serves every layer. Its state (velocities, moments) is keyed by the same names and can be saved
and restored, which makes resumed training bit-identical to an uninterrupted run.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


class Optimizer:
    """Base class: `step` updates parameters in place from their gradients."""

    name = "base"

    def __init__(self, lr: float) -> None:
        self.lr = lr  # the schedule may change it between steps
        self.state: dict[str, Array] = {}
        self.steps = 0

    def step(self, parameters: Mapping[str, Array], gradients: Mapping[str, Array]) -> None:
        self.steps += 1
        for key, param in parameters.items():
            self._update(key, param, gradients[key])

    def _update(self, key: str, param: Array, grad: Array) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Array]:
        """Arrays to save in a checkpoint (with `steps` stored separately)."""
        return dict(self.state)

    def load_state_dict(self, state: Mapping[str, Array], steps: int) -> None:
        self.state = {k: np.array(v) for k, v in state.items()}
        self.steps = steps


class SGD(Optimizer):
    """p <- p - lr * g."""

    name = "sgd"

    def _update(self, key: str, param: Array, grad: Array) -> None:
        param -= param.dtype.type(self.lr) * grad


class Momentum(Optimizer):
    """Heavy-ball momentum, PyTorch's form: v <- mu v + g; p <- p - lr v.

    With Nesterov, the step looks ahead along the velocity: p <- p - lr (g + mu v).
    Keeping lr outside the velocity means a learning-rate schedule takes effect at once.
    """

    name = "momentum"

    def __init__(self, lr: float, momentum: float = 0.9, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = momentum
        self.nesterov = nesterov
        self._scratch: dict[str, Array] = {}

    def _update(self, key: str, param: Array, grad: Array) -> None:
        mu = param.dtype.type(self.momentum)
        lr = param.dtype.type(self.lr)
        velocity = self.state.get(key)
        if velocity is None:
            velocity = self.state[key] = grad.copy()
        else:
            velocity *= mu
            velocity += grad
        # One scratch array per parameter keeps the update free of temporaries.
        step = self._scratch.get(key)
        if step is None:
            step = self._scratch[key] = np.empty_like(param)
        if self.nesterov:
            np.multiply(velocity, mu, out=step)
            step += grad
            step *= lr
        else:
            np.multiply(velocity, lr, out=step)
        param -= step


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moments."""

    name = "adam"

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, key: str, param: Array, grad: Array) -> None:
        dtype = param.dtype.type
        m = self.state.setdefault(f"{key}.m", np.zeros_like(param))
        v = self.state.setdefault(f"{key}.v", np.zeros_like(param))
        m *= dtype(self.beta1)
        m += dtype(1 - self.beta1) * grad
        v *= dtype(self.beta2)
        v += dtype(1 - self.beta2) * (grad * grad)
        # Moments start at zero; dividing by 1 - beta^t removes that bias in early steps.
        m_hat_scale = 1.0 / (1.0 - self.beta1**self.steps)
        v_hat_scale = 1.0 / (1.0 - self.beta2**self.steps)
        denom = np.sqrt(v * dtype(v_hat_scale)) + dtype(self.eps)
        param -= dtype(self.lr * m_hat_scale) * m / denom


# Every optimizer by name: the training config's choices and `make_optimizer` read this.
OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Adam)}


def make_optimizer(
    name: str, lr: float, momentum: float = 0.9, nesterov: bool = False
) -> Optimizer:
    """Build an optimizer by name, one of OPTIMIZERS: "sgd", "momentum" or "adam"."""
    if name not in OPTIMIZERS:
        *others, last = OPTIMIZERS
        raise ValueError(f"unknown optimizer {name!r}; choose {', '.join(others)} or {last}")
    if name == "momentum":
        return Momentum(lr, momentum=momentum, nesterov=nesterov)
    return OPTIMIZERS[name](lr)

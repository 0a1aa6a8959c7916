"""Each optimizer's step equals the update computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from model.nn.optimizers import SGD, Adam, Momentum, make_optimizer


def params_and_grads() -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    params = {"w": np.array([1.0, -2.0, 3.0])}
    grads = [{"w": np.array([0.5, 0.5, -1.0])}, {"w": np.array([-1.0, 2.0, 0.0])}]
    return params, grads


def test_sgd_step() -> None:
    params, grads = params_and_grads()
    opt = SGD(lr=0.1)
    opt.step(params, grads[0])
    np.testing.assert_allclose(params["w"], [0.95, -2.05, 3.1])


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_two_steps(nesterov: bool) -> None:
    params, grads = params_and_grads()
    opt = Momentum(lr=0.1, momentum=0.9, nesterov=nesterov)
    opt.step(params, grads[0])
    opt.step(params, grads[1])
    g1, g2 = grads[0]["w"], grads[1]["w"]
    v1 = g1
    v2 = 0.9 * v1 + g2
    w0 = np.array([1.0, -2.0, 3.0])
    if nesterov:
        expected = w0 - 0.1 * (g1 + 0.9 * v1) - 0.1 * (g2 + 0.9 * v2)
    else:
        expected = w0 - 0.1 * v1 - 0.1 * v2
    np.testing.assert_allclose(params["w"], expected)


def test_adam_two_steps() -> None:
    params, grads = params_and_grads()
    opt = Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step(params, grads[0])
    opt.step(params, grads[1])
    w = np.array([1.0, -2.0, 3.0])
    m = np.zeros(3)
    v = np.zeros(3)
    for t, g in enumerate((grads[0]["w"], grads[1]["w"]), start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat = m / (1 - 0.9**t)
        v_hat = v / (1 - 0.999**t)
        w = w - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(params["w"], w, rtol=1e-12)


def test_adam_first_step_moves_each_weight_by_lr() -> None:
    params, grads = params_and_grads()
    Adam(lr=0.01).step(params, grads[0])
    # With bias correction the first step is lr * sign(g) (up to eps).
    np.testing.assert_allclose(params["w"], [0.99, -2.01, 3.01], rtol=1e-6)


def test_state_round_trip_continues_identically() -> None:
    params_a, grads = params_and_grads()
    params_b = {"w": params_a["w"].copy()}
    a = Adam(lr=0.01)
    a.step(params_a, grads[0])
    b = Adam(lr=0.01)
    b.step(params_b, grads[0])
    restored = Adam(lr=0.01)
    restored.load_state_dict(b.state_dict(), steps=b.steps)
    a.step(params_a, grads[1])
    restored.step(params_b, grads[1])
    np.testing.assert_array_equal(params_a["w"], params_b["w"])


def test_float32_parameters_stay_float32() -> None:
    for name in ("sgd", "momentum", "adam"):
        params = {"w": np.ones(3, dtype=np.float32)}
        make_optimizer(name, lr=0.1).step(params, {"w": np.ones(3, dtype=np.float32)})
        assert params["w"].dtype == np.float32, name


def test_unknown_optimizer() -> None:
    with pytest.raises(ValueError, match="sgd, momentum or adam"):
        make_optimizer("rmsprop", lr=0.1)

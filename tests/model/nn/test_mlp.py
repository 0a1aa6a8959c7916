"""The whole network: parameter and input gradients, overfitting, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from model.nn.layers import Dropout
from model.nn.mlp import MLP
from model.nn.optimizers import make_optimizer
from tests.conftest import numerical_gradient, relative_error


def tiny_network(activation: str, seed: int = 0) -> MLP:
    return MLP(
        [6, 5, 4, 3], activation=activation, rng=np.random.default_rng(seed), dtype=np.float64
    )


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_parameter_gradients_match_finite_differences(
    activation: str, l2: float, rng: np.random.Generator
) -> None:
    net = tiny_network(activation)
    for p in net.parameters().values():
        p += rng.standard_normal(p.shape) * 0.1  # non-zero biases, away from symmetric starts
    x = rng.standard_normal((5, 6))
    labels = rng.integers(0, 3, 5)

    def loss() -> float:
        # No dropout in this network, so training mode is deterministic.
        return net.train_step_gradients(x, labels, l2=l2)[0]

    loss()
    analytic = {k: v.copy() for k, v in net.gradients().items()}
    for name, param in net.parameters().items():
        numeric = numerical_gradient(loss, param)
        assert relative_error(analytic[name], numeric) < 1e-6, name


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_input_gradient_of_loss_matches_finite_differences(
    activation: str, rng: np.random.Generator
) -> None:
    net = tiny_network(activation)
    x = rng.standard_normal((4, 6))
    labels = rng.integers(0, 3, 4)
    from model.nn.losses import softmax_cross_entropy

    def loss() -> float:
        return softmax_cross_entropy(net.forward(x), labels)[0]

    analytic = net.input_gradient(x, labels=labels)
    assert analytic.shape == x.shape
    assert relative_error(analytic, numerical_gradient(loss, x)) < 1e-6


def test_input_gradient_of_one_class_score(rng: np.random.Generator) -> None:
    net = tiny_network("relu")
    x = rng.standard_normal((3, 6))

    def score() -> float:
        return float(net.forward(x)[:, 2].sum())

    analytic = net.input_gradient(x, class_index=2)
    assert relative_error(analytic, numerical_gradient(score, x)) < 1e-6


def test_input_gradient_is_what_backward_returns_and_leaves_the_parameter_gradients(
    rng: np.random.Generator,
) -> None:
    net = tiny_network("relu")
    x, labels = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    net.train_step_gradients(x, labels)
    trained = {k: v.copy() for k, v in net.gradients().items()}
    from model.nn.losses import softmax_cross_entropy

    other = rng.standard_normal((3, 6))
    _, _, grad = softmax_cross_entropy(net.forward(other), np.array([0, 1, 2]))
    from_input_gradient = net.input_gradient(other, labels=np.array([0, 1, 2]))
    for name, gradient in net.gradients().items():
        np.testing.assert_array_equal(gradient, trained[name], err_msg=name)
    np.testing.assert_allclose(from_input_gradient, net.backward(grad), rtol=1e-12)


def test_gradients_are_made_on_first_use_and_then_kept(rng: np.random.Generator) -> None:
    """A network that only reads holds no gradient arrays (the server's memory); the arrays a
    trainer takes before the first step are the ones every backward fills."""
    net = tiny_network("relu")
    net.input_gradient(rng.standard_normal((2, 6)), class_index=1)
    assert all(dense._gradients is None for dense in net.dense)
    before = net.gradients()
    assert all(not g.any() for g in before.values())
    net.train_step_gradients(rng.standard_normal((4, 6)), rng.integers(0, 3, 4))
    after = net.gradients()
    assert all(after[name] is before[name] for name in before)
    assert all(g.any() for name, g in after.items() if name.endswith("W"))


def test_input_gradient_needs_exactly_one_target(rng: np.random.Generator) -> None:
    net = tiny_network("relu")
    with pytest.raises(ValueError, match="exactly one"):
        net.input_gradient(np.zeros((1, 6)))


def test_predict_proba_rows_sum_to_one(rng: np.random.Generator) -> None:
    net = MLP([784, 32, 10], rng=rng)
    p = net.predict_proba(rng.standard_normal((7, 784)).astype(np.float32))
    assert p.shape == (7, 10)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(rng.standard_normal((7, 784))).shape, (7,))


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.5), ("momentum", 0.1), ("adam", 0.01)])
def test_overfits_one_tiny_batch(optimizer: str, lr: float) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((16, 20)).astype(np.float32)
    labels = np.arange(16) % 10
    net = MLP([20, 64, 10], rng=rng)
    opt = make_optimizer(optimizer, lr)
    for _ in range(300):
        loss, _ = net.train_step_gradients(x, labels)
        opt.step(net.parameters(), net.gradients())
    assert loss < 0.01
    assert (net.predict(x) == labels).all()


def test_same_seed_same_weights_and_training() -> None:
    def run(seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        net = MLP([30, 16, 10], dropout=[0.2, 0.5], rng=rng)
        opt = make_optimizer("momentum", 0.1)
        x = rng.standard_normal((32, 30)).astype(np.float32)
        labels = rng.integers(0, 10, 32)
        for _ in range(5):
            net.train_step_gradients(x, labels)
            opt.step(net.parameters(), net.gradients())
        return net.parameters()

    a, b, c = run(3), run(3), run(4)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_dropout_rates_must_match_layers() -> None:
    with pytest.raises(ValueError, match="one dropout rate per dense layer"):
        MLP([784, 512, 10], dropout=[0.1])


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_each_dense_input_gets_its_dropout_rate(activation: str) -> None:
    network = MLP((6, 5, 4, 3), activation=activation, dropout=(0.1, 0.2, 0.3))
    name = "ReLU" if activation == "relu" else "Tanh"
    stack = ["Dropout", "Dense", name, "Dropout", "Dense", name, "Dropout", "Dense"]
    assert [type(layer).__name__ for layer in network.layers] == stack
    rates = [layer.rate for layer in network.layers if isinstance(layer, Dropout)]
    assert rates == [0.1, 0.2, 0.3]


def test_load_parameters_checks_shapes(rng: np.random.Generator) -> None:
    net = MLP([4, 3, 2], rng=rng)
    arrays = {k: v.copy() for k, v in net.parameters().items()}
    arrays["dense0.W"] = np.zeros((3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"dense0\.W"):
        net.load_parameters(arrays)


def test_hidden_activations_shapes(rng: np.random.Generator) -> None:
    net = MLP([8, 5, 4, 3], rng=rng)
    hidden = net.hidden_activations(rng.standard_normal((2, 8)))
    assert [h.shape for h in hidden] == [(2, 5), (2, 4)]
    assert all((h >= 0).all() for h in hidden)

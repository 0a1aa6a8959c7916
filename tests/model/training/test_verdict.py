"""The verdict's training: config checks, flags from the config, a tiny fit that learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.evaluation.verdict import VerdictRates
from model.nn.mlp import MLP
from model.serving.predictor import Predictor
from model.serving.verdict import FEATURES, Thresholds, VerdictModel, verdict_inputs
from model.training.verdict import (
    DigitReader,
    VerdictConfig,
    VerdictFit,
    batch_inputs,
    build_parser,
    hidden_scale,
    learning_rate,
    train_network,
    warnings,
)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs"),
        ("dropout", 1.0, "dropout"),
        ("max_refused", 0.0, "max refused"),
        ("augment", 2.0, "augment"),
    ],
)
def test_config_refuses_bad_values(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VerdictConfig(**{field: value})  # type: ignore[arg-type]


def test_every_field_is_a_flag() -> None:
    args = build_parser().parse_args(
        ["--weights", "w.npz", "--hidden", "64,32", "--epochs", "3", "--max-refused", "0.02"]
    )
    config = VerdictConfig(**vars(args))
    assert config.weights == "w.npz"
    assert config.hidden == (64, 32)
    assert config.epochs == 3
    assert config.max_refused == 0.02
    assert config.features == FEATURES  # defaults fill the rest


def test_learning_rate_decays_from_the_peak_to_zero() -> None:
    assert learning_rate(0.01, 0, 100) == pytest.approx(0.01)
    assert learning_rate(0.01, 50, 100) == pytest.approx(0.005)
    assert learning_rate(0.01, 100, 100) == pytest.approx(0.0)


def made_up_set(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Upright bars (digit), wide blobs (not a digit), two bars (several): (3n, 28, 28)."""
    rng = np.random.default_rng(0)
    images = np.zeros((3 * n, 28, 28), np.uint8)
    for i in range(n):
        left = int(rng.integers(8, 16))
        images[i, 4:24, left : left + 3] = 255
        images[n + i, 8:20, 4:24] = int(rng.integers(128, 256))
        images[2 * n + i, 4:24, 3:6] = images[2 * n + i, 4:24, 20:23] = 255
    return images, np.repeat(np.arange(3), n)


def test_batch_inputs_without_distortion_are_the_verdict_inputs() -> None:
    images, _ = made_up_set(5)
    config = VerdictConfig(augment=0.0)
    features = verdict_inputs(images)[:, 784:]
    x = batch_inputs(images, features, np.random.default_rng(0), config)
    np.testing.assert_array_equal(x, verdict_inputs(images))
    distorted = batch_inputs(images, features, np.random.default_rng(0), VerdictConfig(augment=1))
    assert distorted.shape == x.shape
    assert not np.array_equal(distorted, x)


def test_a_tiny_fit_learns_made_up_classes() -> None:
    images, labels = made_up_set()
    config = VerdictConfig(hidden=(16,), epochs=15, batch_size=16, lr=3e-3, augment=0.2)
    network = train_network(config, images, labels, lambda line: None)
    predicted = network.forward(verdict_inputs(images)).argmax(axis=1)
    assert (predicted == labels).mean() >= 0.95


def small_reader() -> DigitReader:
    network = MLP([784, 24, 12, 10], rng=np.random.default_rng(2))
    metadata = {"normalization": {"mean": 0.13, "std": 0.31}}
    return DigitReader(Predictor(network, metadata, Path("small.npz"), ""), hidden_scale=2.5)


def test_batch_inputs_with_the_digit_view_are_the_models_inputs() -> None:
    images, _ = made_up_set(5)
    reader = small_reader()
    views = reader.view(images)
    assert views.shape == (len(images), 12 + 10)
    model = VerdictModel(MLP([784 + 7 + 22, 4, 3]), FEATURES, Thresholds(1, 1), reader.spec())
    features = verdict_inputs(images)[:, 784:]
    x = batch_inputs(images, features, np.random.default_rng(0), VerdictConfig(augment=0.0),
                     reader, views)  # fmt: skip
    np.testing.assert_allclose(x, model.inputs(images, views), rtol=1e-6)
    # Distorted images get their own view, not the undistorted image's.
    rng = np.random.default_rng(0)
    distorted = batch_inputs(images, features, rng, VerdictConfig(augment=1.0), reader, views)
    moved = (np.clip(distorted[:, :784], 0, 1) * 255).round().astype(np.uint8).reshape(-1, 28, 28)
    np.testing.assert_allclose(distorted, model.inputs(moved, reader.view(moved)), atol=1e-5)


def test_the_scale_is_a_high_percentile_of_the_active_units() -> None:
    view = np.zeros((4, 110), np.float32)
    view[:, :100] = np.arange(400, dtype=np.float32).reshape(4, 100)  # 399 positive values
    view[:, 100:] = 1e6  # logits are not hidden activations
    assert hidden_scale(view) == pytest.approx(np.percentile(np.arange(1, 400), 99))


def test_a_fit_outside_the_budget_or_missing_known_cases_is_warned_about() -> None:
    rates = VerdictRates(
        refused={"digit/writers": 0.012, "digit/mnist-test": 0.004}, caught={}, named={}, counts={}
    )
    cases = {"11": {"right": True}, "dash": {"right": False}, "tap": {"right": False}}
    fit = VerdictFit(model=None, rates=rates, examples=cases, seconds={})  # type: ignore[arg-type]
    assert warnings(fit, VerdictConfig()) == [
        "1.20% of digit/writers refused (the budget is 1%)",
        "the known cases dash, tap get the wrong verdict",
    ]
    good = VerdictRates(refused={"digit/writers": 0.0087}, caught={}, named={}, counts={})
    clean = {"11": {"right": True}}
    assert warnings(VerdictFit(None, good, clean, {}), VerdictConfig()) == []  # type: ignore[arg-type]

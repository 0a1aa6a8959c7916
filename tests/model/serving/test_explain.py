"""Saliency and the targeted attack, checked against finite differences and the API's rules."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.nn.mlp import MLP
from model.serving.explain import explain, pixel_gradient, targeted_attack
from model.serving.predictor import Predictor
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS, numerical_gradient, relative_error


@pytest.fixture(scope="module")
def float64_predictor() -> Predictor:
    network = MLP([784, 24, 10], rng=np.random.default_rng(0), dtype=np.float64)
    metadata = {"normalization": {"mean": 0.13, "std": 0.31}}
    return Predictor(network, metadata, Path("test.npz"), sha256="0" * 64)


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.from_file(SHIPPED_WEIGHTS)


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist(SAMPLE_DIR, "test")


@pytest.mark.parametrize("mode", ["class", "target"])
def test_pixel_gradient_matches_finite_differences(
    float64_predictor: Predictor, sample: tuple[np.ndarray, np.ndarray], mode: str
) -> None:
    predictor = float64_predictor
    pixels = sample[0][0].astype(np.float64)
    network = predictor.network

    def score() -> float:
        x = ((pixels / 255 - predictor.mean) / predictor.std).reshape(1, -1)
        logits = network.forward(x)[0]
        if mode == "class":
            return float(logits[3])
        log_p = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
        return float(-log_p[5])

    kwargs = {"class_index": 3} if mode == "class" else {"target": 5}
    analytic = pixel_gradient(predictor, pixels, **kwargs)  # type: ignore[arg-type]
    numeric = numerical_gradient(score, pixels, eps=1e-3).reshape(28, 28)
    assert relative_error(analytic, numeric) < 1e-6


def test_explain_shapes(shipped: Predictor, sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = sample
    result = explain(shipped, images[0])
    assert result.digit == labels[0]
    assert result.saliency.shape == (28, 28)
    np.testing.assert_allclose(result.grad_x_input, result.saliency * images[0])
    assert [a.shape for a in result.activations] == [
        (s,) for s in shipped.network.layer_sizes[1:-1]
    ]
    assert (result.grad_x_input[images[0] == 0] == 0).all()


def test_attack_reaches_the_target_on_most_digits(
    shipped: Predictor, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = sample
    reached = 0
    for image, label in zip(images[:40], labels[:40], strict=True):
        target = (int(label) + 3) % 10
        attack = targeted_attack(shipped, image, target, epsilon=64, steps=20)
        assert attack.linf <= 64
        assert attack.original_digit == shipped.predict([image])[0].digit
        # What is reported is exactly what the network says for the returned image.
        assert shipped.predict([attack.perturbed])[0].digit == attack.digit
        reached += attack.digit == target
    assert reached >= 0.8 * 40


def test_attack_with_zero_epsilon_changes_nothing(
    shipped: Predictor, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    image = sample[0][1]
    attack = targeted_attack(shipped, image, target=0, epsilon=0, steps=5)
    np.testing.assert_array_equal(attack.perturbed, image)
    assert attack.linf == 0


def test_gradients_stay_right_while_other_threads_use_the_model(
    shipped: Predictor, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    """Layers cache their forward pass for backward; the server runs requests in a thread pool.

    Batch predictions and other gradients running at the same time must not leak into a
    gradient (through a shared network they did: wrong ReLU masks, or a shape error).
    """
    images = sample[0][:8]
    expected = [pixel_gradient(shipped, image, class_index=3) for image in images]
    stop = threading.Event()

    def predict_batches() -> None:
        while not stop.is_set():
            shipped.predict(list(sample[0][:300]))

    background = [threading.Thread(target=predict_batches) for _ in range(2)]
    for thread in background:
        thread.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(10):
                results = pool.map(
                    lambda i: pixel_gradient(shipped, images[i], class_index=3), range(8)
                )
                for got, want in zip(results, expected, strict=True):
                    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    finally:
        stop.set()
        for thread in background:
            thread.join()

"""The served model: one image through the sparse first layer agrees with the dense forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import model.fast.single_image
from model.data.mnist import load_mnist
from model.files import WeightFileError, save_group, save_weights
from model.nn.losses import softmax
from model.nn.mlp import MLP
from model.serving.predictor import Predictor
from model.serving.verdict import (
    DIGIT,
    FEATURES,
    Thresholds,
    VerdictModel,
    ViewSpec,
    digit_view,
    network_checksum,
)
from tests.conftest import SAMPLE_DIR

Sample = tuple[np.ndarray, np.ndarray]


def small_predictor(dtype: type[np.floating], temperature: float = 1.0) -> Predictor:
    network = MLP([784, 32, 16, 10], rng=np.random.default_rng(3), dtype=dtype)
    for dense in network.dense:  # non-zero biases, so the folded bias is really checked
        dense.parameters["b"][...] = np.random.default_rng(4).normal(size=dense.fan_out)
    metadata = {
        "normalization": {"mean": 0.13, "std": 0.31},
        "calibration": {"temperature": temperature},
    }
    return Predictor(network, metadata, Path("small.npz"), sha256="0" * 64)


def normalised(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    """(n, 784) network input, (pixels / 255 - mean) / std worked out in float64."""
    pixels = images.reshape(len(images), -1).astype(np.float64)
    x = (pixels / 255.0 - predictor.mean) / predictor.std
    return x.astype(predictor.network.dtype)


def dense_probabilities(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    """The plain computation: normalise every pixel, the network's own forward, softmax(z / T)."""
    logits = predictor.network.forward(normalised(predictor, images)).astype(np.float64)
    return softmax(logits / predictor.temperature)


def test_one_image_agrees_with_the_dense_forward_pass_on_every_sample_digit(
    shipped: Predictor, sample: Sample
) -> None:
    images, labels = sample
    dense = dense_probabilities(shipped, images)
    served = np.array([shipped.predict([image])[0].probabilities for image in images])
    np.testing.assert_allclose(served, dense, rtol=0, atol=1e-5)
    assert (served.argmax(axis=1) == dense.argmax(axis=1)).all()
    assert (served.argmax(axis=1) == labels).mean() > 0.98


def test_a_batch_takes_the_dense_path(shipped: Predictor, sample: Sample) -> None:
    images = sample[0][:50]
    batch = np.array([p.probabilities for p in shipped.predict(list(images))])
    logits = shipped.network.forward(shipped.normalize(images.reshape(50, -1)))
    expected = softmax(logits.astype(np.float64) / shipped.temperature)
    np.testing.assert_array_equal(batch, expected)


@pytest.mark.parametrize(("dtype", "tolerance"), [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_sparse_first_layer_equals_normalise_then_dense(
    sample: Sample, dtype: type[np.floating], tolerance: float
) -> None:
    predictor = small_predictor(dtype)
    first = predictor.network.dense[0]
    for image in sample[0][:20]:
        expected = (
            normalised(predictor, image[None]) @ first.parameters["W"] + first.parameters["b"]
        )
        sparse = predictor._single_image.first_layer(image.reshape(-1))
        assert sparse.dtype == dtype
        np.testing.assert_allclose(sparse, expected[0], rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("max_active", [1.0, 0.0], ids=["active-rows", "dense-fallback"])
def test_hidden_layers_reading_active_rows_equal_the_dense_pass(
    monkeypatch: pytest.MonkeyPatch, sample: Sample, max_active: float
) -> None:
    """Every hidden Dense takes the active-rows product (or, allowed no active input, falls back
    to the plain product); either way the probabilities are the dense pass's."""
    monkeypatch.setattr(model.fast.single_image, "SPARSE_MIN_WEIGHT_BYTES", 0)
    monkeypatch.setattr(model.fast.single_image, "SPARSE_MAX_ACTIVE_FRACTION", max_active)
    predictor = small_predictor(np.float64, temperature=1.3)  # steps are chosen at construction
    images = sample[0][:20]
    served = np.array([predictor.predict([image])[0].probabilities for image in images])
    np.testing.assert_allclose(served, dense_probabilities(predictor, images), atol=1e-12)


def test_the_shipped_networks_big_hidden_layers_read_active_rows(shipped: Predictor) -> None:
    """The layers the active-rows product is for are picked; small ones keep their forward."""
    big = [d for d in shipped.network.dense[1:] if d.parameters["W"].nbytes >= 1 << 20]
    active_rows = [
        step.args[0]  # type: ignore[attr-defined]
        for step in shipped._single_image.steps
        if getattr(step, "func", None) is model.fast.single_image._dense_from_active_rows
    ]
    assert [id(w) for w in active_rows] == [id(d.parameters["W"]) for d in big]
    assert big  # the shipped 1024-wide layers hold 4 MB each


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((28, 28), np.uint8),  # no ink at all: only the folded bias remains
        np.full((28, 28), 255, np.uint8),  # every pixel inked
        np.eye(28, dtype=np.uint8) * 200,
    ],
    ids=["blank", "full", "diagonal"],
)
def test_extreme_images_agree_with_the_dense_pass(image: np.ndarray) -> None:
    predictor = small_predictor(np.float64, temperature=0.8)
    served = predictor.predict([image])[0]
    np.testing.assert_allclose(
        served.probabilities, dense_probabilities(predictor, image[None])[0], atol=1e-12
    )


def test_prediction_is_plain_python_and_an_exact_distribution(
    shipped: Predictor, sample: Sample
) -> None:
    image = sample[0][0]
    prediction = shipped.predict([image])[0]
    assert type(prediction.digit) is int
    assert type(prediction.confidence) is float
    assert all(type(p) is float for p in prediction.probabilities)
    assert len(prediction.probabilities) == 10
    assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-12)
    assert prediction.confidence == max(prediction.probabilities)
    assert prediction.probabilities.index(prediction.confidence) == prediction.digit
    assert prediction.pixels is image


def test_temperature_scales_the_logits(sample: Sample) -> None:
    image = sample[0][:1]
    hot, cold = small_predictor(np.float64, 2.0), small_predictor(np.float64, 0.5)
    logits = hot.logits(list(image)).astype(np.float64)
    np.testing.assert_allclose(hot.probabilities(list(image)), softmax(logits / 2.0), atol=1e-15)
    np.testing.assert_allclose(cold.probabilities(list(image)), softmax(logits / 0.5), atol=1e-15)


def test_empty_list_gives_no_predictions(shipped: Predictor) -> None:
    assert shipped.predict([]) == []


# ------------------------------------------------------------------ the verdict
def with_verdict(dtype: type[np.floating], reads_view: bool = False) -> Predictor:
    """small_predictor plus a random verdict classifier (reading the digit network's view when
    `reads_view`), its thresholds at the sample's probability quantiles so that all three
    verdicts occur."""
    plain = small_predictor(dtype)
    spec = ViewSpec(16, 2.0, network_checksum(plain.network)) if reads_view else None
    network = MLP([784 + len(FEATURES) + (26 if spec else 0), 16, 3], rng=np.random.default_rng(8))
    for dense in network.dense:
        dense.parameters["b"][...] = np.random.default_rng(9).normal(size=dense.fan_out)
    images, _ = load_mnist(SAMPLE_DIR, "test")
    view = view_of(plain, images[:200]) if spec else None
    untuned = VerdictModel(network, FEATURES, Thresholds(1.0, 1.0), spec)
    p = untuned.probabilities(images[:200], view)
    thresholds = Thresholds(float(np.quantile(p[:, 1], 0.7)), float(np.quantile(p[:, 2], 0.7)))
    verdict = VerdictModel(network, FEATURES, thresholds, spec)
    return Predictor(plain.network, plain.metadata, plain.path, plain.sha256, verdict=verdict)


def view_of(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    """The digit network's view, worked out with the network's own layers one by one."""
    x = normalised(predictor, images)
    for layer in predictor.network.layers[:-1]:
        x = layer.forward(x)
    return digit_view(x, predictor.network.layers[-1].forward(x))


@pytest.mark.parametrize("reads_view", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_image_and_a_batch_give_the_classifiers_verdicts(
    sample: Sample, dtype: type[np.floating], reads_view: bool
) -> None:
    predictor = with_verdict(dtype, reads_view)
    assert predictor.verdict is not None
    images = sample[0][:200]
    view = view_of(predictor, images) if reads_view else None
    expected = predictor.verdict.verdicts(images, view)
    assert len(set(expected)) == 3  # the test exercises every verdict
    assert [predictor.predict([image])[0].verdict for image in images] == expected
    assert [p.verdict for p in predictor.predict(list(images))] == expected
    # The shared first layer leaves the digit reading exactly as it was.
    plain = small_predictor(dtype)
    for image in images[:20]:
        assert predictor.predict([image])[0].probabilities == pytest.approx(
            plain.predict([image])[0].probabilities, abs=1e-12
        )


def test_without_a_verdict_classifier_every_verdict_is_digit(sample: Sample) -> None:
    predictor = small_predictor(np.float32)
    images = list(sample[0][:5])
    assert {p.verdict for p in predictor.predict(images)} == {DIGIT}
    assert predictor.predict(images[:1])[0].verdict == DIGIT
    info = predictor.info()["verdict"]
    assert info["available"] is False
    assert "no verdict classifier" in info["detail"]


def test_the_shipped_file_carries_its_verdict_classifier(shipped: Predictor) -> None:
    info = shipped.info()["verdict"]
    assert info["available"] is True
    view = info["digit_view"]
    assert info["layer_sizes"][0] == 784 + len(info["features"]) + view["hidden"] + 10
    assert info["fits_network"] is True
    assert info["rates"]["refused"]["digit/writers"] <= 0.0125


def test_a_weight_file_without_a_verdict_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    save_weights(path, MLP([784, 16, 10]), {"normalization": {"mean": 0.13, "std": 0.31}})
    predictor = Predictor.from_file(path)
    assert predictor.verdict is None
    assert predictor.predict([np.eye(28, dtype=np.uint8) * 255])[0].verdict == DIGIT


def test_a_verdict_group_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    save_weights(path, MLP([784, 16, 10]), {"normalization": {"mean": 0.13, "std": 0.31}})
    network = MLP([784 + len(FEATURES), 4, 3])
    model = VerdictModel(network, FEATURES, Thresholds(0.5, 0.5))
    save_group(path, "verdict", network.parameters(), {**model.metadata(), "features": []})
    with pytest.raises(WeightFileError, match="bad verdict classifier"):
        Predictor.from_file(path)


def test_a_verdict_reading_the_view_needs_it() -> None:
    predictor = with_verdict(np.float32, reads_view=True)
    assert predictor.verdict is not None
    images, _ = load_mnist(SAMPLE_DIR, "test")
    with pytest.raises(ValueError, match="reads the digit network's view"):
        predictor.verdict.verdicts(images[:3])


def test_a_verdict_fitted_on_another_network_still_reads_and_says_so(sample: Sample) -> None:
    fitted = with_verdict(np.float32, reads_view=True)
    assert fitted.info()["verdict"]["fits_network"] is True
    other = small_predictor(np.float32)
    other.network.dense[0].parameters["W"][0, 0] += 1.0  # retrained, however little
    moved = Predictor(other.network, other.metadata, other.path, other.sha256, fitted.verdict)
    info = moved.info()["verdict"]
    assert info["fits_network"] is False
    assert "refit it" in info["detail"]
    assert {p.verdict for p in moved.predict(list(sample[0][:50]))} <= {
        "digit",
        "not_a_digit",
        "several_digits",
    }


def test_a_verdict_reading_another_width_of_hidden_layer_is_refused() -> None:
    plain = small_predictor(np.float32)
    spec = ViewSpec(32, 2.0, "0" * 64)  # the network's last hidden layer has 16 units
    network = MLP([784 + len(FEATURES) + 42, 4, 3])
    verdict = VerdictModel(network, FEATURES, Thresholds(0.5, 0.5), spec)
    with pytest.raises(WeightFileError, match="last hidden layer of 32 units"):
        Predictor(plain.network, plain.metadata, plain.path, plain.sha256, verdict)


def test_the_served_model_holds_each_matrix_once(shipped: Predictor) -> None:
    """Serving keeps no gradient arrays, one joint first-layer matrix for the fast paths, and a
    gradient copy (explanations, attacks) that shares the parameters."""
    assert shipped.verdict is not None
    assert shipped._shared is not None
    joint = shipped._shared.weights
    assert np.shares_memory(shipped._single_image.first_weights, joint)
    assert np.shares_memory(shipped.verdict.single.pixel_weights, joint)
    with shipped.gradient_network() as copy:
        copy.input_gradient(np.zeros((1, 784), np.float32), class_index=3)
        for mine, theirs in zip(copy.dense, shipped.network.dense, strict=True):
            assert mine.parameters["W"] is theirs.parameters["W"]
            assert mine is not theirs
    networks = [shipped.network, copy, shipped.verdict.network]
    assert all(dense._gradients is None for net in networks for dense in net.dense)

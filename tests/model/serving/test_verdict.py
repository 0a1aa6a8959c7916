"""The verdict: its features on made-up images, its fast path against the batch path, the shipped
classifier on the drawings it exists for, and held-out writers' digits not refused."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.canvas import png_bytes, render_drawing
from model.data.mnist import load_mnist
from model.data.unipen import load_strokes, split_by_writer
from model.evaluation.writers import writer_drawings
from model.files import read_weight_file
from model.nn.mlp import MLP
from model.serving.predictor import Predictor
from model.serving.preprocess import image_to_mnist
from model.serving.verdict import (
    DIGIT,
    FEATURES,
    GROUP,
    LOGIT_SCALE,
    NOT_A_DIGIT,
    SEVERAL_DIGITS,
    Thresholds,
    VerdictModel,
    ViewSpec,
    decide,
    euler_number,
    features_one,
    network_checksum,
    structural_features,
    verdict_inputs,
)
from tests.conftest import SAMPLE_DIR, SHIPPED_WEIGHTS


def blank() -> np.ndarray:
    return np.zeros((28, 28), dtype=np.uint8)


def bars(*columns: tuple[int, int], top: int = 4, bottom: int = 24) -> np.ndarray:
    """Upright bars of ink, each (first column, last column + 1), rows top..bottom-1."""
    image = blank()
    for left, right in columns:
        image[top:bottom, left:right] = 255
    return image


def ring() -> np.ndarray:
    image = bars((8, 10), (18, 20), top=5, bottom=21)
    image[5:7, 8:20] = image[19:21, 8:20] = 255
    return image


def drawn(strokes: list[list[tuple[float, float]]], pen: float = 20.0) -> np.ndarray:
    """Strokes in pad px drawn where they are, through the page's PNG and the recipe."""
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    every = np.concatenate(arrays)
    low, high = every.min(axis=0), every.max(axis=0)
    height = max(float(high[1] - low[1]), 1e-3 * float((high - low).max()))
    centre = (low + high) / 2
    image = render_drawing(
        arrays, height_px=height, pen_width=pen, centre_xy=(float(centre[0]), float(centre[1]))
    )
    return image_to_mnist(png_bytes(image))


# ------------------------------------------------------------------ features
def test_euler_number_counts_pieces_minus_holes() -> None:
    images = np.stack([bars((13, 16)), bars((6, 9), (18, 21)), ring()])
    assert euler_number(images >= 64).tolist() == [1, 2, 0]
    diagonal = blank()
    diagonal[np.arange(5, 20), np.arange(5, 20)] = 255  # 8-connected: one piece
    assert euler_number(diagonal[None] >= 64).tolist() == [1]


def test_features_of_made_up_shapes() -> None:
    one, eleven = bars((13, 16)), bars((6, 9), (18, 21))
    square = bars((4, 24))
    values = structural_features(np.stack([one, eleven, square]), FEATURES)
    named = [dict(zip(FEATURES, row.tolist(), strict=True)) for row in values]
    assert named[0]["box_aspect"] < -0.5  # a 3 x 20 bar: much taller than wide
    assert named[0]["column_runs"] == pytest.approx(0.25)  # one group of columns
    assert named[1]["column_runs"] == pytest.approx(0.5)  # two
    assert named[1]["widest_column_gap"] == pytest.approx(9 / 28)
    assert named[2]["box_fill"] == pytest.approx(1.0)
    assert named[2]["box_aspect"] == pytest.approx(0.0)
    assert named[2]["ink_fraction"] == pytest.approx(400 / 784)


def test_features_ignore_the_faint_fringe() -> None:
    one = bars((13, 16))
    one[4:24, 12] = 40  # an anti-aliased edge, below INK_LEVEL
    assert structural_features(one[None], ["box_aspect"])[0, 0] == pytest.approx(
        structural_features(bars((13, 16))[None], ["box_aspect"])[0, 0]
    )


def test_unknown_feature_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown verdict features"):
        structural_features(blank()[None], ["curvature"])


def test_one_image_features_equal_the_batch_features() -> None:
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    made_up = [bars((13, 16)), bars((6, 9), (18, 21)), ring(), bars((4, 24)), blank()]
    images = np.concatenate([digits[:200], np.stack(made_up)])
    batch = structural_features(images, FEATURES)
    for image, expected in zip(images, batch, strict=True):
        np.testing.assert_allclose(features_one(image, FEATURES), expected, rtol=1e-6, atol=1e-7)


def test_inputs_are_grey_levels_then_features() -> None:
    image = bars((13, 16))
    inputs = verdict_inputs(image[None], ["ink_fraction"])
    assert inputs.shape == (1, 785)
    assert inputs[0, :784].max() == pytest.approx(1.0)
    assert inputs[0, 784] == pytest.approx(60 / 784)


# ------------------------------------------------------------------ the decision rule
THRESHOLDS = Thresholds(not_a_digit=0.6, several_digits=0.7)


@pytest.mark.parametrize(
    ("probabilities", "verdict"),
    [
        ((0.9, 0.05, 0.05), DIGIT),
        ((0.35, 0.55, 0.1), DIGIT),  # the most likely class, but under its threshold
        ((0.3, 0.6, 0.1), NOT_A_DIGIT),
        ((0.25, 0.05, 0.7), SEVERAL_DIGITS),
    ],
)
def test_decide(probabilities: tuple[float, float, float], verdict: str) -> None:
    assert decide(probabilities, THRESHOLDS) == verdict


def test_decide_picks_the_likelier_refusal_when_both_pass() -> None:
    low = Thresholds(not_a_digit=0.3, several_digits=0.3)
    assert decide((0.0, 0.45, 0.55), low) == SEVERAL_DIGITS
    assert decide((0.0, 0.55, 0.45), low) == NOT_A_DIGIT


# ------------------------------------------------------------------ the classifier
def random_model(features: tuple[str, ...] = FEATURES) -> VerdictModel:
    network = MLP([784 + len(features), 16, 3], rng=np.random.default_rng(5))
    for dense in network.dense:  # non-zero biases, so the fast path's bias is checked too
        dense.parameters["b"][...] = np.random.default_rng(6).normal(size=dense.fan_out)
    return VerdictModel(network, features, Thresholds(0.4, 0.4))


@pytest.mark.parametrize("features", [FEATURES, (), ("box_aspect", "euler_number", "row_runs")])
def test_the_one_image_path_agrees_with_the_batch_path(features: tuple[str, ...]) -> None:
    model = random_model(features)
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    images = np.concatenate([digits[:300], np.stack([bars((6, 9), (18, 21)), bars((4, 24))])])
    batch_logits = model.network.forward(verdict_inputs(images, features))
    for image, expected in zip(images, batch_logits, strict=True):
        np.testing.assert_allclose(model.single.logits(image), expected, rtol=1e-4, atol=1e-4)
    assert [model.verdict_one(image) for image in images] == model.verdicts(images)


def view_model(hidden: int = 12) -> VerdictModel:
    """A random classifier reading a made-up digit network's view (hidden units + 10 logits)."""
    spec = ViewSpec(hidden, 3.0, "0" * 64)
    network = MLP([784 + len(FEATURES) + spec.width, 16, 3], rng=np.random.default_rng(7))
    for dense in network.dense:
        dense.parameters["b"][...] = np.random.default_rng(8).normal(size=dense.fan_out)
    return VerdictModel(network, FEATURES, Thresholds(0.4, 0.4), spec)


def random_view(count: int, hidden: int = 12) -> np.ndarray:
    """ReLU-like hidden activations (most zero) and logits, as a digit network gives them."""
    rng = np.random.default_rng(9)
    activations = np.maximum(rng.normal(-0.5, 2.0, size=(count, hidden)), 0)
    return np.concatenate([activations, rng.normal(0, 8, size=(count, 10))], axis=1)


def test_the_view_is_scaled_and_read_on_both_paths() -> None:
    model = view_model()
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    images, view = digits[:100], random_view(100)
    x = model.inputs(images, view)
    assert x.shape == (100, 784 + len(FEATURES) + 22)
    np.testing.assert_allclose(x[:, -22:-10], view[:, :12] / 3.0, rtol=1e-6)
    np.testing.assert_allclose(x[:, -10:], view[:, 12:] / LOGIT_SCALE, rtol=1e-6)
    batch_logits = model.network.forward(x)
    for image, row, expected in zip(images, view, batch_logits, strict=True):
        np.testing.assert_allclose(model.single.logits(image, row), expected, atol=1e-4)
    assert [model.verdict_one(i, v) for i, v in zip(images, view, strict=True)] == (
        model.verdicts(images, view)
    )
    with pytest.raises(ValueError, match="pass it"):
        model.single.logits(images[0])


def test_the_checksum_names_one_network() -> None:
    a, b = MLP([784, 8, 10], rng=np.random.default_rng(1)), MLP([784, 8, 10])
    b.load_parameters(a.parameters())
    assert network_checksum(a) == network_checksum(b)
    b.dense[1].parameters["b"][3] += 1e-3
    assert network_checksum(a) != network_checksum(b)


def test_a_network_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="must map 791 inputs to 3 classes"):
        VerdictModel(MLP([784, 8, 3]), FEATURES, THRESHOLDS)


def test_from_arrays_round_trip_and_refusals() -> None:
    model = random_model()
    arrays = model.network.parameters()
    rebuilt = VerdictModel.from_arrays(arrays, model.metadata())
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    np.testing.assert_array_equal(
        rebuilt.probabilities(digits[:20]), model.probabilities(digits[:20])
    )
    assert rebuilt.thresholds == model.thresholds
    with pytest.raises(ValueError, match="classes"):
        VerdictModel.from_arrays(arrays, {**model.metadata(), "classes": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="does not describe"):
        VerdictModel.from_arrays(arrays, {"classes": model.metadata()["classes"]})


def test_from_arrays_keeps_how_the_view_is_read() -> None:
    model = view_model()
    rebuilt = VerdictModel.from_arrays(model.network.parameters(), model.metadata())
    assert rebuilt.view == model.view
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    view = random_view(20)
    np.testing.assert_array_equal(
        rebuilt.probabilities(digits[:20], view), model.probabilities(digits[:20], view)
    )
    stored = model.metadata()
    with pytest.raises(ValueError, match="hidden scale"):
        VerdictModel.from_arrays(
            model.network.parameters(),
            {**stored, "digit_view": {**stored["digit_view"], "hidden_scale": -1}},
        )


# ------------------------------------------------------------------ the shipped classifier
@pytest.fixture(scope="module")
def shipped() -> Predictor:
    """The shipped weights as served: the classifier reads the digit network's view."""
    loaded = read_weight_file(SHIPPED_WEIGHTS)
    assert GROUP in loaded.groups, "the shipped weight file has no verdict classifier"
    predictor = Predictor.from_file(SHIPPED_WEIGHTS)
    assert predictor.verdict is not None
    assert predictor.verdict_fits_network
    return predictor


def verdicts(predictor: Predictor, images: np.ndarray) -> list[str]:
    """The batch path's verdicts (Predictor.predict of more than one image)."""
    return [p.verdict for p in predictor.predict(list(images))]


ZIGZAG = [(60.0 + 160.0 * (k % 2), 70.0 + 18.0 * k) for k in range(9)]
MADE_UP = {
    "a tap": (drawn([[(140, 140)]]), NOT_A_DIGIT),
    "a big tap": (drawn([[(140, 140)]], pen=36), NOT_A_DIGIT),
    "a dash": (drawn([[(90, 150), (190, 146)]]), NOT_A_DIGIT),
    "a scribble": (drawn([ZIGZAG], pen=24), NOT_A_DIGIT),
    "a filled square": (drawn([[(x, y) for y in range(60, 221, 12) for x in (60, 220)]], 30),
                        NOT_A_DIGIT),
    "11 in two strokes": (drawn([[(105, 50), (103, 230)], [(175, 50), (173, 230)]]),
                          SEVERAL_DIGITS),
    "a 7": (drawn([[(80, 60), (200, 60), (120, 230)]]), DIGIT),
    "a 1": (drawn([[(140, 50), (136, 230)]]), DIGIT),
    "all 784 pixels lit": (np.full((28, 28), 255, dtype=np.uint8), NOT_A_DIGIT),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MADE_UP))
def test_the_shipped_classifier_on_made_up_drawings(shipped: Predictor, case: str) -> None:
    image, expected = MADE_UP[case]
    assert shipped.predict([image])[0].verdict == expected  # the one-image path
    assert verdicts(shipped, np.stack([image, image])) == [expected] * 2


def test_the_shipped_classifier_refuses_few_mnist_digits(shipped: Predictor) -> None:
    digits, _ = load_mnist(SAMPLE_DIR, "test")
    refused = np.mean([v != DIGIT for v in verdicts(shipped, digits)])
    assert refused <= 0.02


@pytest.mark.slow
def test_held_out_writers_digits_are_not_refused(shipped: Predictor) -> None:
    """A sample of the held-out writers' digits, drawn as model.evaluation.writers draws them:
    at most 1% refused was the calibration target; allow sampling noise on 600 drawings."""
    strokes = load_strokes()
    _, held_out = split_by_writer(strokes)
    records = np.random.default_rng(0).choice(held_out, size=200, replace=False)
    images = np.stack([image_to_mnist(d.png) for d in writer_drawings(strokes, records)])
    refused = np.mean([v != DIGIT for v in verdicts(shipped, images)])
    assert refused <= 0.025

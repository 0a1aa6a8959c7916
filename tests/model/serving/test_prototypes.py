"""A profile's prototypes: what they add to the logits, and the served model read with them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.serving.predictor import Predictor
from model.serving.prototypes import (
    GATE_HIGH,
    GATE_LOW,
    NEAR,
    NO_PROTOTYPES,
    PULL,
    TEMPERATURE,
    Prototypes,
    describe,
    gate,
)

Sample = tuple[np.ndarray, np.ndarray]


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_describe_gives_unit_rows_of_the_last_two_layers_weighted_alike() -> None:
    rng = np.random.default_rng(0)
    first, small, big = rng.random((3, 8)), rng.random((3, 4)), 1000 * rng.random((3, 16))
    features = describe([first, small, big])
    assert features.shape == (3, 20)
    assert features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1, rtol=1e-6)
    # Each layer counts half, however many units it has and however large they are.
    np.testing.assert_allclose(np.linalg.norm(features[:, :4], axis=1) ** 2, 0.5, rtol=1e-5)
    assert np.all(describe([np.zeros((2, 4)), np.zeros((2, 3))]) == 0)  # no NaN for no signal


def test_without_prototypes_nothing_changes() -> None:
    logits = np.random.default_rng(1).normal(size=(5, 10))
    features = unit(np.random.default_rng(2).random((5, 6)))
    assert np.all(NO_PROTOTYPES.evidence(features) == 0)
    np.testing.assert_array_equal(NO_PROTOTYPES.adapt(logits, features), logits)


@pytest.mark.parametrize("near_x", [0.5, 1.0, 2.0])
def test_the_relative_term_is_a_gated_softmax_over_the_digits_with_prototypes(
    near_x: float,
) -> None:
    # Two prototypes, both below NEAR: only the relative term counts, weighted by the gate of
    # the nearer one's similarity (near_x sets it: 0.45, 0.71 and 0.89 before the gate).
    drawing = unit(np.array([[1.0, 0.0, 0.0]]))
    one, seven = unit(np.array([near_x, 1.0, 0.0])), unit(np.array([0.3, 0.0, 1.0]))
    prototypes = Prototypes(np.stack([one, seven]), np.array([1, 7]))
    s1, s7 = float(one[0]), float(seven[0])
    log_q = np.array([s1, s7]) / TEMPERATURE
    log_q -= np.logaddexp(*log_q)
    weight = float(np.clip((s1 - GATE_LOW) / (GATE_HIGH - GATE_LOW), 0, 1))
    pull = PULL * max(0.0, (s1 - NEAR) / (1 - NEAR))
    evidence = prototypes.evidence(drawing)[0]
    np.testing.assert_allclose(evidence[[1, 7]], weight * log_q + [pull, 0], rtol=1e-6)
    # Digits without a prototype get the largest value: never pushed down against another.
    np.testing.assert_allclose(np.delete(evidence, [1, 7]), weight * log_q.max(), rtol=1e-6)


def test_the_gate_runs_from_nothing_to_everything() -> None:
    similarity = np.array([-1.0, GATE_LOW, (GATE_LOW + GATE_HIGH) / 2, GATE_HIGH, 1.0])
    np.testing.assert_allclose(gate(similarity), [0, 0, 0.5, 1, 1])


def test_a_drawing_unlike_every_prototype_is_left_to_the_network() -> None:
    # Nearest prototype below GATE_LOW: whichever is least far, nothing is added.
    rng = np.random.default_rng(3)
    prototypes = Prototypes(unit(rng.normal(size=(6, 200))), np.array([0, 1, 2, 3, 4, 5]))
    drawings = unit(rng.normal(size=(20, 200)))  # random directions: cosines near 0
    assert (drawings @ prototypes.features.T).max() < GATE_LOW
    assert np.all(prototypes.evidence(drawings) == 0)


def test_a_drawing_like_a_correction_is_pulled_to_its_label() -> None:
    drawing = unit(np.array([[1.0, 2.0, 3.0]]))
    correction = Prototypes(drawing.copy(), np.array([1]))  # "It was a 1", the same drawing
    logits = np.zeros((1, 10))
    logits[0, 7] = PULL - 1  # read as 7 at e^(PULL - 1) to 1 against the 1
    assert np.argmax(logits) == 7
    assert np.argmax(correction.adapt(logits, drawing)) == 1


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    held=st.sets(st.integers(0, 9), min_size=1, max_size=9),
    per_digit=st.integers(1, 4),
)
def test_far_prototypes_never_turn_a_right_reading_of_a_digit_without_prototypes(
    seed: int, held: set[int], per_digit: int
) -> None:
    # A digit the profile holds no example of, read right by the network, stays read right
    # unless a prototype of another digit is nearer than NEAR (then it is pulled, by design).
    rng = np.random.default_rng(seed)
    labels = np.repeat(sorted(held), per_digit)
    prototypes = Prototypes(unit(rng.normal(size=(len(labels), 64))), labels)
    drawings = unit(rng.normal(size=(50, 64)))
    far = (drawings @ prototypes.features.T).max(axis=1) < NEAR
    truth = rng.choice([d for d in range(10) if d not in held], size=50)
    logits = rng.normal(size=(50, 10))
    logits[np.arange(50), truth] = logits.max(axis=1) + rng.uniform(0.01, 5, size=50)
    adapted = prototypes.adapt(logits, drawings)
    assert np.all(adapted.argmax(axis=1)[far] == truth[far])


def test_prototypes_refuse_mismatched_or_impossible_labels() -> None:
    with pytest.raises(ValueError, match="do not match"):
        Prototypes(np.zeros((3, 4), np.float32), np.array([1, 2]))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        Prototypes(np.zeros((1, 4), np.float32), np.array([10]))


def test_the_served_model_without_prototypes_reads_as_before(
    shipped: Predictor, sample: Sample
) -> None:
    images = list(sample[0][:20])
    plain = shipped.predict(images)
    for prototypes in (None, NO_PROTOTYPES, shipped.prototypes(sample[0][:0], sample[1][:0])):
        assert shipped.predict(images, prototypes) == plain


def test_the_served_model_reads_a_corrected_drawing_as_its_label_in_batches_too(
    shipped: Predictor, sample: Sample
) -> None:
    images, labels = sample
    logits, features = shipped.logits_and_descriptions(images[:200])
    assert features.shape == (200, 2048)
    np.testing.assert_allclose(logits, shipped.network.forward(shipped.normalize(
        images[:200].reshape(200, -1))), rtol=1e-4, atol=1e-4)  # fmt: skip
    # The least confident right reading, "corrected" to its runner-up digit.
    probabilities = shipped.probabilities(list(images[:200]))
    right = np.flatnonzero(probabilities.argmax(axis=1) == labels[:200])
    chosen = right[np.argmin(probabilities[right].max(axis=1))]
    runner_up = int(np.argsort(probabilities[chosen])[-2])
    prototypes = shipped.prototypes(images[chosen : chosen + 1], np.array([runner_up]))
    others = [i for i in range(200) if i != chosen][:30]
    read = shipped.predict([images[chosen]] + [images[i] for i in others], prototypes)
    assert read[0].digit == runner_up
    assert sum(abs(p) for p in read[0].probabilities) == pytest.approx(1)
    # Digits unlike the correction read as before.
    before = shipped.predict([images[i] for i in others])
    assert [p.digit for p in read[1:]] == [p.digit for p in before]


def test_prototypes_need_one_label_per_image(shipped: Predictor, sample: Sample) -> None:
    with pytest.raises(ValueError, match="labels"):
        shipped.prototypes(sample[0][:3], sample[1][:2])

"""Choosing the verdict's thresholds and scoring verdicts: the budget holds, the best is taken."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.verdict_data import ExampleSet
from model.evaluation.verdict import (
    calibrate,
    check_examples,
    choose_thresholds,
    examples,
    verdict_rates,
)
from model.serving.verdict import Thresholds, decide


def rows(*probabilities: tuple[float, float, float]) -> np.ndarray:
    return np.array(probabilities, dtype=np.float64)


def test_the_budget_of_refused_digits_holds_and_the_rest_is_caught() -> None:
    rng = np.random.default_rng(0)
    digits = rng.dirichlet([20, 1, 1], size=1000)  # mostly "digit"
    others = np.concatenate([rng.dirichlet([1, 20, 1], size=300), rng.dirichlet([1, 1, 20], 300)])
    wanted = np.repeat([1, 2], 300)
    weights = np.full(600, 1 / 300)
    for budget in (0.0, 0.01, 0.05):
        thresholds = choose_thresholds([digits], others, wanted, weights, budget)
        refused = np.mean([decide(p, thresholds) != "digit" for p in digits])
        assert refused <= budget
    loose = choose_thresholds([digits], others, wanted, weights, 0.05)
    strict = choose_thresholds([digits], others, wanted, weights, 0.0)
    caught = [np.mean([decide(p, t) != "digit" for p in others[:300]]) for t in (loose, strict)]
    assert caught[0] >= caught[1]  # a larger budget never catches less


def test_each_set_of_real_digits_is_a_budget_of_its_own() -> None:
    easy = rows(*[(0.99, 0.005, 0.005)] * 100)
    hard = rows(*[(0.4, 0.6, 0.0)] * 3, *[(0.97, 0.02, 0.01)] * 97)  # three look like non-digits
    others = rows(*[(0.45, 0.55, 0.0)] * 10)
    thresholds = choose_thresholds([easy, hard], others, np.ones(10, np.int64), np.ones(10), 0.02)
    assert sum(decide(p, thresholds) != "digit" for p in hard) <= 2
    # Pooled, the three would fit a 2% budget of 200; apart, they do not.
    assert thresholds.not_a_digit > 0.6


def test_only_the_right_refusal_counts() -> None:
    digits = rows(*[(0.98, 0.01, 0.01)] * 100)
    groups = rows(*[(0.1, 0.5, 0.4)] * 10)
    thresholds = choose_thresholds([digits], groups, np.full(10, 2), np.ones(10), 0.01)
    assert decide(groups[0], thresholds) == "several_digits"


def test_calibrate_and_rates_on_a_made_up_set() -> None:
    names = ("digit/a", "not/b", "several/c")
    labels = np.repeat([0, 1, 2], 100)
    kinds = np.repeat([0, 1, 2], 100)
    probabilities = np.zeros((300, 3))
    probabilities[np.arange(300), labels] = 0.9
    probabilities[np.arange(300), (labels + 1) % 3] = 0.1
    made_up = ExampleSet(np.zeros((300, 28, 28), np.uint8), labels, kinds, names)
    thresholds = calibrate(probabilities, made_up, 0.01)
    verdicts = [decide(p, thresholds) for p in probabilities]
    rates = verdict_rates(verdicts, made_up)
    assert rates.refused == {"digit/a": 0.0}
    assert rates.caught == {"not/b": 1.0, "several/c": 1.0}
    assert rates.named == {"not/b": 1.0, "several/c": 1.0}
    assert rates.counts == {"digit/a": 100, "not/b": 100, "several/c": 100}


def test_nothing_within_budget_refuses_nothing() -> None:
    digits = rows(*[(0.0, 1.0, 0.0)] * 10)  # every "digit" looks like a non-digit
    thresholds = choose_thresholds(
        [digits], rows((0.0, 1.0, 0.0)), np.ones(1, np.int64), np.ones(1), 0.0
    )
    assert thresholds == Thresholds(
        not_a_digit=pytest.approx(1.0), several_digits=pytest.approx(1.0)
    )
    assert decide((0.0, 1.0, 0.0), thresholds) == "digit"


def test_the_five_examples_are_inputs_with_their_expected_verdicts() -> None:
    cases = examples()
    assert list(cases) == ["11", "tap", "dash", "scribble", "all ink"]
    for image, verdict in cases.values():
        assert image.shape == (28, 28)
        assert image.dtype == np.uint8
        assert verdict in ("not_a_digit", "several_digits")
    checked = check_examples({name: verdict for name, (_, verdict) in cases.items()})
    assert all(case["right"] for case in checked.values())

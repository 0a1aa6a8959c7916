"""How often the verdict is right on people it never saw: thresholds, rates, five known cases.

Everything here uses the held-out side of `model.data.verdict_data.writer_split` (the digits'
held-out writers, those `model.evaluation.writers` scores, plus the letters' held-out writers),
MNIST's test set, and synthetic shapes drawn from their own seeds.

- `choose_thresholds`: the per-class thresholds that catch the most non-digits and digit
  groups while refusing at most `max_refused` of the real digits of a calibration set.
- `verdict_rates`: on a report set, drawn afresh: refused real digits (held-out writers' digits
  drawn exactly as `model.evaluation.writers` draws them, and MNIST test digits as sent as
  `pixels`), caught non-digits per kind, and digit groups (pairs apart) called several.
- `EXAMPLES`: five drawings a single-digit reader gets wrong with high confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data.canvas import PAD, draw, png_bytes, render_drawing
from model.data.numbers import random_number
from model.data.verdict_data import KINDS, ExampleSet, Image28, Kinds, Sources
from model.evaluation.writers import variant_params
from model.serving.preprocess import image_to_mnist
from model.serving.verdict import (
    NOT_A_DIGIT,
    SEVERAL_DIGITS,
    VERDICTS,
    Thresholds,
)

Probabilities = NDArray[np.float64]  # (n, 3) in VERDICTS order
WRITER_VARIANTS = 3  # drawings of each held-out digit, as model.evaluation.writers makes them
CALIBRATION_SEED = 1  # the calibration set and the report set are drawn independently
REPORT_SEED = 2


# ---------------------------------------------------------------- report-only makers


@dataclass(frozen=True)
class WritersDrawing:
    """A maker of the held-out digit drawings exactly as `model.evaluation.writers` makes them
    (WRITER_VARIANTS per record, brush bands in turn, its own seeding by `seed`), as the PNG
    the page posts, through the recipe. Item i is record i // WRITER_VARIANTS."""

    seed: int

    def __call__(self, rng: np.random.Generator, sources: Sources, index: int) -> Image28:
        record = int(sources.digit_records[index // WRITER_VARIANTS])
        params = variant_params(sources.digits, record, index % WRITER_VARIANTS, self.seed)
        return image_to_mnist(png_bytes(draw(sources.digits.strokes(record), params)))


@dataclass(frozen=True)
class WriterNumber:
    """`digits` digits by one held-out writer written as a number on the digit pad, exactly as
    `model.evaluation.numbers` draws numbers (one brush, a sloping baseline, gaps from a slight
    overlap to wide), as the PNG the page posts, through the recipe: "11" or "42" drawn in
    digit mode. The digits are random records of one random held-out writer."""

    digits: int = 2

    def __call__(self, rng: np.random.Generator, sources: Sources, index: int) -> Image28:
        records = sources.digit_records
        first = int(records[rng.integers(len(records))])
        writers = sources.digits.writers
        own = records[writers[records] == writers[first]]
        chosen = [first, *(int(r) for r in rng.choice(own, size=self.digits - 1))]
        drawing = random_number(sources.digits, chosen, rng, size=(PAD, PAD))
        return image_to_mnist(drawing.png)


def mnist_as_is(rng: np.random.Generator, sources: Sources, index: int) -> Image28:
    """MNIST digit `index` exactly as stored, as a client sends it in `pixels`."""
    image: Image28 = sources.mnist_images[index % len(sources.mnist_images)]
    return image


# The held-out sets' kinds: real digits as the writers' evaluation draws them (the report with
# its own seed 0, the very drawings `model.evaluation.writers` scores; calibration with seed 1)
# and MNIST test digits as stored; every other kind as in training.
CALIBRATION_KINDS: Kinds = {
    **KINDS,
    "digit/writers": (0, WritersDrawing(seed=1)),
    "digit/mnist-test": (0, mnist_as_is),
}
# The report also has two-digit numbers as the numbers benchmark draws them ("11" written in
# digit mode): a kind nothing is trained or calibrated on.
REPORT_KINDS: Kinds = {
    **CALIBRATION_KINDS,
    "digit/writers": (0, WritersDrawing(seed=0)),
    "several/writers-numbers": (2, WriterNumber(digits=2)),
}


def calibration_counts(sources: Sources, per_kind: int) -> dict[str, int]:
    """Kinds and counts of the calibration set (CALIBRATION_KINDS, CALIBRATION_SEED)."""
    counts = {kind: per_kind for kind in KINDS if kind.startswith(("not/", "several/"))}
    counts["not/letters"] = len(sources.letter_records)
    counts["digit/writers"] = len(sources.digit_records) * WRITER_VARIANTS
    counts["digit/mnist-test"] = len(sources.mnist_images)
    return counts


def report_counts(sources: Sources, per_kind: int) -> dict[str, int]:
    """Kinds and counts of the report set (REPORT_KINDS, REPORT_SEED): calibration's, and
    `per_kind` two-digit numbers."""
    return {**calibration_counts(sources, per_kind), "several/writers-numbers": per_kind}


# ---------------------------------------------------------------- thresholds


def _decisions(
    probabilities: Probabilities, not_threshold: float, several_thresholds: NDArray[np.float64]
) -> NDArray[np.int64]:
    """(n,) class index per row for one not_a_digit threshold and each of k several_digits
    thresholds: (k, n), with `decide`'s rule."""
    p_not, p_several = probabilities[:, 1], probabilities[:, 2]
    is_not = p_not >= not_threshold  # (n,)
    is_several = p_several[None, :] >= several_thresholds[:, None]  # (k, n)
    several_wins = is_several & (~is_not | (p_several > p_not))
    return np.where(several_wins, 2, np.where(is_not, 1, 0))


def choose_thresholds(
    digits: Sequence[Probabilities],
    others: Probabilities,
    wanted: NDArray[np.int64],
    weights: NDArray[np.float64],
    max_refused: float,
) -> Thresholds:
    """The thresholds that maximise the weighted share of `others` given their own verdict
    while at most `max_refused` of each set of real digits is refused.

    digits: one (n_i, 3) array of probabilities per set of real digits (each must stay within
    the budget on its own); others (m, 3): non-digits and groups; wanted (m,) each one's own
    class (1: "not_a_digit", 2: "several_digits"); weights (m,) so that each kind counts alike.
    Candidates are the real digits' own top probabilities, so every threshold sits just above
    some real digit.
    """
    allowed = [int(np.floor(max_refused * len(d))) for d in digits]

    def candidates(column: int) -> NDArray[np.float64]:
        tops = [np.sort(d[:, column])[::-1][: a + 1] for d, a in zip(digits, allowed, strict=True)]
        return np.unique(np.concatenate([np.nextafter(np.concatenate(tops), 2.0), [1.0 + 1e-9]]))

    several_options = candidates(2)
    best: tuple[float, float, float] | None = None
    for not_threshold in candidates(1):
        within = np.ones(len(several_options), dtype=bool)
        for d, a in zip(digits, allowed, strict=True):
            within &= (_decisions(d, not_threshold, several_options) != 0).sum(axis=1) <= a
        decided = _decisions(others, not_threshold, several_options)  # (k, m)
        right = decided == wanted[None, :]
        scores = np.where(within, (right * weights).sum(axis=1), -1.0)
        # On a tie the highest thresholds win: refuse no more than the score needs.
        k = len(scores) - 1 - int(np.argmax(scores[::-1]))
        if scores[k] >= 0 and (best is None or scores[k] >= best[0]):
            best = (float(scores[k]), float(not_threshold), float(several_options[k]))
    if best is None:  # nothing meets the budget: refuse nothing
        return Thresholds(not_a_digit=1.0 + 1e-9, several_digits=1.0 + 1e-9)
    return Thresholds(not_a_digit=best[1], several_digits=best[2])


def calibrate(probabilities: Probabilities, examples: ExampleSet, max_refused: float) -> Thresholds:
    """`choose_thresholds` on a calibration set: each real-digit kind is a budget of its own
    (held-out writers' drawings, MNIST test digits); every other kind weighs alike."""
    is_digit = examples.labels == 0
    digit_kinds = np.unique(examples.kinds[is_digit])
    budgets = [probabilities[examples.kinds == k] for k in digit_kinds]
    kinds = examples.kinds[~is_digit]
    sizes = np.bincount(kinds, minlength=len(examples.kind_names)).astype(np.float64)
    weights = 1.0 / sizes[kinds]
    wanted = np.where(examples.labels[~is_digit] == 2, 2, 1)
    return choose_thresholds(budgets, probabilities[~is_digit], wanted, weights, max_refused)


# ---------------------------------------------------------------- rates


@dataclass(frozen=True)
class VerdictRates:
    """Shares in [0, 1] on a report set; `counts` says how many drawings each kind had."""

    refused: dict[str, float]  # real-digit kinds: share given anything but "digit"
    caught: dict[str, float]  # non-digit kinds: share given anything but "digit"
    named: dict[str, float]  # every non-digit kind: share given its own verdict
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "refused": self.refused,
            "caught": self.caught,
            "named": self.named,
            "counts": self.counts,
        }


def verdict_rates(verdicts: Sequence[str], examples: ExampleSet) -> VerdictRates:
    """Score one verdict per example against the example's kind."""
    given = np.array([VERDICTS.index(v) for v in verdicts])
    refused, caught, named, counts = {}, {}, {}, {}
    for number, kind in enumerate(examples.kind_names):
        mine = examples.kinds == number
        if not mine.any():
            continue
        counts[kind] = int(mine.sum())
        label = int(examples.labels[mine][0])
        if label == 0:
            refused[kind] = float((given[mine] != 0).mean())
        else:
            caught[kind] = float((given[mine] != 0).mean())
            named[kind] = float((given[mine] == label).mean())
    return VerdictRates(refused, caught, named, counts)


def format_rates(rates: VerdictRates) -> str:
    """The rates as a few aligned lines."""
    lines = []
    for kind, share in rates.refused.items():
        lines.append(f"  {kind:<24} refused {share:7.2%}   (n={rates.counts[kind]})")
    for kind, share in rates.caught.items():
        own = VERDICTS[2] if kind.startswith("several/") else VERDICTS[1]
        lines.append(
            f"  {kind:<24} caught  {share:7.2%}   given {own!r} {rates.named[kind]:7.2%}"
            f"   (n={rates.counts[kind]})"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- five known cases


def _pad_png(strokes: Sequence[Sequence[tuple[float, float]]], pen: float = 20.0) -> Image28:
    """Strokes in pad px drawn where they are with `pen`, through the PNG and the recipe."""
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    every = np.concatenate(arrays)
    low, high = every.min(axis=0), every.max(axis=0)
    height = max(float(high[1] - low[1]), 1e-3 * float((high - low).max()))
    centre = (low + high) / 2
    image = render_drawing(
        arrays, height_px=height, pen_width=pen, centre_xy=(float(centre[0]), float(centre[1]))
    )
    return image_to_mnist(png_bytes(image))


def examples() -> dict[str, tuple[Image28, str]]:
    """The five drawings from the issue, each with the verdict it must get."""
    zigzag = [(60.0 + 160.0 * (k % 2), 70.0 + 18.0 * k) for k in range(9)]
    return {
        "11": (_pad_png([[(105, 50), (103, 230)], [(175, 50), (173, 230)]]), SEVERAL_DIGITS),
        "tap": (_pad_png([[(140, 140)]]), NOT_A_DIGIT),
        "dash": (_pad_png([[(90, 150), (190, 146)]]), NOT_A_DIGIT),
        "scribble": (_pad_png([zigzag], pen=24), NOT_A_DIGIT),
        "all ink": (np.full((28, 28), 255, dtype=np.uint8), NOT_A_DIGIT),
    }


def check_examples(verdicts: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """{name: {"verdict": given, "expected": wanted, "right": bool}} for `examples()`."""
    wanted = {name: verdict for name, (_, verdict) in examples().items()}
    return {
        name: {"verdict": verdicts[name], "expected": want, "right": verdicts[name] == want}
        for name, want in wanted.items()
    }

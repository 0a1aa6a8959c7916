"""Reading one person's handwriting from a handful of their examples: nearest prototypes.

A profile's examples (drawings a person labelled) become prototypes: each is described by the
network's own view of it, the activations of its last two hidden layers, each layer scaled to
unit length, concatenated and scaled again, so the dot product of two descriptions is a cosine
similarity. A writer's digits are far more alike than different writers' (on held-out UNIPEN
writers, the nearest of three examples per digit alone reads 99.3% of their other digits,
where the network reads 98.2%), and the network's hidden layers already ignore what does not
matter (place, size, small shifts).

For a drawing, `s_c` is its similarity to the nearest prototype of digit c. Two terms are added
to the network's logits:
- relative: over the digits with prototypes, q = softmax(s / TEMPERATURE), and WEIGHT * log q
  is added, a product of experts (p is proportional to p_network * q^WEIGHT; Hinton, 2002,
  "Training products of experts by minimizing contrastive divergence"). A digit with no
  prototype gets the largest log q of any digit, so this term never pushes it down. The term
  counts in proportion to how near the nearest prototype of any digit is: not at all below
  GATE_LOW, fully above GATE_HIGH. A drawing unlike all of a person's examples is left to the
  network; which of several distant prototypes is least far says little (ungated, it turned
  a writer's plain 1s, at similarity 0.1 to their 1s and 0.4 to their 2s, into 2s).
- near: a digit whose nearest prototype is closer than NEAR gains up to PULL logits, in
  proportion, so one correction is enough for a drawing much like it (a 1 with a long lead-in
  that the network reads as 7 at 0.99). Below NEAR nothing is added: within a writer, 99.9% of
  pairs of different digits are less similar than 0.53 (held-out UNIPEN writers).

TEMPERATURE, WEIGHT, GATE_LOW, GATE_HIGH, NEAR and PULL were chosen on held-out UNIPEN writers
(1, 3 and 5 examples per digit, and corrections of the drawings the network misread, over ten
seeds of drawings and choices; benchmarks/eval_profiles.py measures them). The gate cut the
writers made worse by more than half a point from 12 to 3 in 520 profiles, for 0.06 point of
mean accuracy. The cost per drawing is one (1, 2048) x (2048, n) product for n examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

DIGITS = 10
TEMPERATURE = 0.1  # cosine similarity units: a 0.1 nearer prototype is e times as likely
WEIGHT = 1.0  # how much the prototypes count against the network's own logits
GATE_LOW = 0.4  # nearest prototype's similarity below which the relative term counts nothing
GATE_HIGH = 0.6  # ... and above which it counts fully (linear in between)
NEAR = 0.7  # cosine similarity above which a prototype pulls its digit up on its own
PULL = 10.0  # logits added at similarity 1 (a drawing just like the prototype)
LAYERS = 2  # the last hidden layers that describe a drawing


def describe(hidden: list[Array]) -> NDArray[np.float32]:
    """Hidden activations, one (n, units) array per hidden layer -> (n, d) unit descriptions.

    The last LAYERS layers, each row scaled to unit length (a layer of many units must not
    outweigh a small one), side by side, then scaled to unit length again. An all-zero row
    stays zero (similar to nothing).
    """
    parts = [_unit_rows(np.asarray(layer, dtype=np.float32)) for layer in hidden[-LAYERS:]]
    return _unit_rows(np.concatenate(parts, axis=1))


def _unit_rows(a: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return np.asarray(a / np.maximum(norms, 1e-12), dtype=np.float32)


@dataclass(frozen=True)
class Prototypes:
    """A profile's examples as the network describes them.

    `features` (n, d) float32 unit rows from `describe`; `labels` (n,) ints 0..9. n may be 0:
    a profile without examples, which changes nothing.
    """

    features: NDArray[np.float32]
    labels: NDArray[np.intp]

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.labels.shape != (len(self.features),):
            raise ValueError(
                f"features {self.features.shape} and labels {self.labels.shape} do not match"
            )
        if len(self.labels) and not (self.labels.min() >= 0 and self.labels.max() < DIGITS):
            raise ValueError("labels must be digits 0..9")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def per_digit(self) -> NDArray[np.intp]:
        """(10,) examples of each digit."""
        return np.bincount(self.labels, minlength=DIGITS)

    def evidence(self, features: NDArray[np.float32]) -> NDArray[np.float64]:
        """(m, d) descriptions -> (m, 10) logits to add: WEIGHT * log q over the digits with
        prototypes (a digit with none gets the row's largest), times the gate of the nearest
        prototype's similarity, plus the NEAR pull. All zeros when there are no prototypes."""
        evidence = np.zeros((len(features), DIGITS))
        if not len(self):
            return evidence
        similarity = features @ self.features.T  # (m, n) cosines
        nearest = np.full((len(features), DIGITS), -np.inf)
        for digit in np.unique(self.labels):
            nearest[:, digit] = similarity[:, self.labels == digit].max(axis=1)
        z = nearest / TEMPERATURE
        z -= z.max(axis=1, keepdims=True)
        log_q = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        held = self.per_digit > 0
        evidence[:, held] = log_q[:, held] * WEIGHT
        evidence[:, ~held] = evidence[:, held].max(axis=1, keepdims=True)
        evidence *= gate(nearest[:, held].max(axis=1))[:, np.newaxis]
        near = np.clip((nearest[:, held] - NEAR) / (1.0 - NEAR), 0.0, None)
        evidence[:, held] += PULL * near
        return evidence

    def adapt(self, logits: Array, features: NDArray[np.float32]) -> NDArray[np.float64]:
        """(m, 10) network logits and (m, d) descriptions -> (m, 10) adapted logits."""
        return np.asarray(logits, dtype=np.float64) + self.evidence(features)


def gate(similarity: NDArray[np.floating]) -> NDArray[np.float64]:
    """(m,) nearest-prototype cosine similarities -> (m,) weights of the relative term: 0 at or
    below GATE_LOW, 1 at or above GATE_HIGH, linear in between."""
    weight = (np.asarray(similarity, dtype=np.float64) - GATE_LOW) / (GATE_HIGH - GATE_LOW)
    return np.clip(weight, 0.0, 1.0)


NO_PROTOTYPES = Prototypes(np.zeros((0, 0), np.float32), np.zeros(0, np.intp))

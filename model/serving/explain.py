"""Look inside the network for one input: saliency, activations, and a targeted attack.

Everything works on the 28x28 uint8 image the network sees (ink high, 0..255), through the
Predictor's own normalisation, so gradients are with respect to the pixels a person drew.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.serving.predictor import Predictor
from model.serving.prototypes import Prototypes
from model.serving.verdict import Verdict

Pixels = NDArray[np.uint8]


@dataclass(frozen=True)
class Explanation:
    """Why the network said `digit` for one (28, 28) image."""

    digit: int
    probabilities: list[float]
    verdict: Verdict  # "digit", "not_a_digit" or "several_digits": model.serving.verdict
    saliency: NDArray[np.float32]  # (28, 28): d(score of `digit`) / d(pixel), per 0..255 unit
    grad_x_input: NDArray[np.float32]  # (28, 28): saliency * pixel, how much each pixel added
    activations: list[NDArray[np.float32]]  # one (units,) vector per hidden layer


@dataclass(frozen=True)
class Attack:
    """The result of a targeted iterative gradient-sign attack."""

    digit: int  # prediction for `perturbed`
    probabilities: list[float]
    original_digit: int
    perturbed: Pixels  # (28, 28) uint8
    linf: int  # largest change of any pixel, in 0..255 units
    steps_taken: int


def _normalised(predictor: Predictor, pixels: NDArray[np.floating] | Pixels) -> NDArray[np.float32]:
    return predictor.normalize(np.asarray(pixels).reshape(1, -1))


def pixel_gradient(
    predictor: Predictor,
    pixels: NDArray[np.floating] | Pixels,
    class_index: int | None = None,
    target: int | None = None,
) -> NDArray[np.float32]:
    """(28, 28) gradient with respect to the raw pixels (0..255 units).

    With `class_index`: of that class's logit. With `target`: of the cross-entropy loss
    towards `target` (what a targeted attack descends).
    """
    x = _normalised(predictor, pixels)
    with predictor.gradient_network() as network:  # thread-safe: see Predictor
        if target is not None:
            grad = network.input_gradient(x, labels=np.array([target]))
        else:
            grad = network.input_gradient(x, class_index=class_index)
    # Chain rule through the normalisation x = (p / 255 - mean) / std.
    scale = np.float32(1.0 / (255.0 * predictor.std))
    return (grad * scale).reshape(28, 28).astype(np.float32)


def explain(
    predictor: Predictor, pixels: Pixels, prototypes: Prototypes | None = None
) -> Explanation:
    """Saliency and grad x input for the predicted class, and every hidden layer's output.

    With `prototypes` (a profile's examples), the digit and probabilities are the adapted
    reading; the saliency is still the network's own, of that digit's logit.
    """
    prediction = predictor.predict([pixels], prototypes)[0]
    saliency = pixel_gradient(predictor, pixels, class_index=prediction.digit)
    hidden = predictor.network.hidden_activations(_normalised(predictor, pixels))
    return Explanation(
        digit=prediction.digit,
        probabilities=prediction.probabilities,
        verdict=prediction.verdict,
        saliency=saliency,
        grad_x_input=saliency * pixels.astype(np.float32),
        activations=[h[0].astype(np.float32) for h in hidden],
    )


def targeted_attack(
    predictor: Predictor, pixels: Pixels, target: int, epsilon: float = 64.0, steps: int = 20
) -> Attack:
    """Nudge every pixel by at most `epsilon` (0..255 units) until the network says `target`.

    Iterative fast gradient sign (Kurakin et al., 2017): each step moves every pixel by
    `step_size` against the sign of the loss gradient towards `target`, then clips back into
    the epsilon box and the valid range. The image is rounded to integers after each step, so
    the prediction returned is exactly what the API gives for `perturbed`.
    """
    original = pixels.astype(np.float32)
    low = np.clip(original - epsilon, 0, 255)
    high = np.clip(original + epsilon, 0, 255)
    step_size = max(1.0, 2.5 * epsilon / max(steps, 1))
    current = pixels.copy()
    original_digit = predictor.predict([pixels])[0].digit
    taken = 0
    for taken in range(1, steps + 1):
        if predictor.predict([current])[0].digit == target:
            taken -= 1
            break
        grad = pixel_gradient(predictor, current, target=target)
        moved = current.astype(np.float32) - step_size * np.sign(grad)
        current = np.rint(np.clip(moved, low, high)).astype(np.uint8)
    final = predictor.predict([current])[0]
    return Attack(
        digit=final.digit,
        probabilities=final.probabilities,
        original_digit=original_digit,
        perturbed=current,
        linf=int(np.abs(current.astype(np.int16) - pixels.astype(np.int16)).max()),
        steps_taken=taken,
    )

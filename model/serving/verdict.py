"""Is the drawing one digit? A small classifier answers "digit", "not_a_digit" or "several_digits".

The digit network always names a digit: "11" comes out a 4 at 0.9996, a tap a 0 at 0.79, a
scribble an 8 at 0.999. Its confidence cannot be the test: it was only ever shown digits, so
nothing taught it to be unsure of a scribble, and a thresholded confidence refuses many real
digits before it refuses "11". The verdict is a second, separate network trained on exactly
that question, with examples of what it must refuse.

Method (fitted by `python -m model.training.verdict`; its numbers in metadata["verdict"]):
- Input: the 28x28 image the digit network sees (after the recipe), so it judges exactly what
  will be read, works for `pixels` inputs too, and needs nothing the server does not already
  have. The 784 grey levels / 255, then seven structural features of the ink (pixels >=
  INK_LEVEL), FEATURES below: the ink box's aspect and fill, the share of the frame inked,
  how many groups of inked columns and the widest blank gap between them (digits side by
  side), the Euler number (pieces minus holes: "11" is 2, sprinkled noise is many) and the
  runs of ink along rows and columns (scribbles and hatching have hundreds). Each is one
  number a pixel MLP would need many examples to learn; with them, held-out scribbles and
  noise are caught about 10 points more often and letters about 4 (measured).
- Then the digit network's view of the same image (`digit_view`): its last hidden layer's
  activations and its logits, which the server computes for the reading anyway. That network
  learnt from 60,000 digits and the training writers' strokes what digits are made of; a
  letter, a scribble or two digits squashed into one frame leave a pattern there unlike any
  one digit's. Reading it, the classifier names about 7 points more letters "not a digit",
  11 more scribbles, and 5 more pen pairs "several digits", while refusing fewer real digits
  (held-out writers; README, "The verdict classifier"). The price: it is fitted on ONE digit network
  (its checksum is stored, `network_checksum`); after retraining or fine-tuning it still
  reads, less well, /api/model says so, and the same command refits it.
- Network: the project's own textbook MLP (`model.nn`), 784 + 7 + 1034 -> 512 ReLU -> 3
  logits, softmax cross-entropy, Adam, every class sampled alike, mild distortions
  (`model.data.augment`) on a share of each batch. One hidden layer keeps the served path
  cheap: its pixels' part of the first layer is read from the same gathered weight rows as
  the digit network's (`model.fast.shared_first_layer`), its view's part from the active
  hidden units' rows only.
- Training data (model/data/negatives.py, verdict_data.py), all drawn the way the page draws
  and put through the recipe: digits are MNIST training digits and the UNIPEN training
  writers' digits; "not a digit" is UNIPEN letters (none of them digit-like) and synthetic
  dots, dashes, scribbles, blobs, solid squares and noise (never anything shaped like a 1);
  "several digits" is 2 to 4 real digits side by side, a "1" in a third of them.
- Decision: softmax probabilities, then per-class thresholds: a refusal needs
  p(not_a_digit) >= thresholds.not_a_digit or p(several_digits) >= thresholds.several_digits
  (the larger wins when both pass). The thresholds are chosen on writers never trained on so
  that at most 1% of their real digits are refused: refusing a real digit is the costly
  mistake, so the verdict leans towards "digit" (and a drawing it is unsure of is read).

Stored in the weight file beside the digit network as `verdict/dense{i}.W`, `verdict/dense{i}.b`
with metadata["verdict"] (layer sizes, features, thresholds, measured rates); a file without
them loads too, and then every verdict is "digit" (see `model.files`). The recipe is part of
the input: when model/serving/preprocess.py changes what it makes of a drawing, refit.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from model.nn.mlp import MLP

Verdict = Literal["digit", "not_a_digit", "several_digits"]
DIGIT: Final = "digit"
NOT_A_DIGIT: Final = "not_a_digit"
SEVERAL_DIGITS: Final = "several_digits"
VERDICTS: tuple[Verdict, ...] = (DIGIT, NOT_A_DIGIT, SEVERAL_DIGITS)  # classes, in logit order
GROUP = "verdict"  # its arrays' prefix in the weight file, and its metadata key
SIDE = 28
PIXELS = SIDE * SIDE
# A pixel at this grey level or more counts as ink for the structural features: the recipe
# stretches the strongest ink to 255, and the anti-aliased fringe of a stroke lies below this.
INK_LEVEL = 64

DIGIT_CLASSES = 10

Images = NDArray[np.uint8]  # (n, 28, 28), ink high
Features = NDArray[np.float32]  # (n, k)
# What the digit network makes of the drawings: its last hidden layer's activations, then its
# logits, (n, hidden + 10) (`digit_view`).
DigitView = NDArray[np.float32]


# ---------------------------------------------------------------- structural features


def _spans(lit: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(n, 28) lit rows or columns -> (first lit index, span length), 0 span when none is lit."""
    any_lit = lit.any(axis=1)
    first = np.argmax(lit, axis=1)
    last = SIDE - 1 - np.argmax(lit[:, ::-1], axis=1)
    return first, np.where(any_lit, last - first + 1, 0)


def _runs(lit: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(n, 28) -> (n,) how many separate groups of consecutive lit entries."""
    starts = lit.copy()
    starts[:, 1:] &= ~lit[:, :-1]
    counted: NDArray[np.int64] = starts.sum(axis=1)
    return counted


def _widest_gap(lit: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(n, 28) -> (n,) the longest run of unlit entries with lit ones on both sides."""
    index = np.arange(SIDE)
    last_lit = np.maximum.accumulate(np.where(lit, index, -1), axis=1)  # at or before j
    next_lit = np.minimum.accumulate(np.where(lit, index, SIDE)[:, ::-1], axis=1)[:, ::-1]
    inside = ~lit & (last_lit >= 0) & (next_lit < SIDE)
    widest: NDArray[np.int64] = np.where(inside, index - last_lit, 0).max(axis=1)
    return widest


# Gray's bit quads: each 2x2 window's pattern (bit 1 top-left, 2 top-right, 4 bottom-left,
# 8 bottom-right) adds +1 (one pixel of four), -1 (three of four) or -2 (a diagonal pair) to
# four times the Euler number, 8-connected.
_EULER_QUARTERS = np.zeros(16, dtype=np.int8)
_EULER_QUARTERS[[1, 2, 4, 8]] = 1
_EULER_QUARTERS[[7, 11, 13, 14]] = -1
_EULER_QUARTERS[[6, 9]] = -2


def euler_number(ink: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(n, 28, 28) -> (n,) pieces of ink minus holes, 8-connected (Gray's bit quads).

    "11" side by side: 2; a 1: 1; a 0: 0; an 8: -1. Counting 2x2 patterns over the frame
    (padded with blank) needs no labelling pass, so it costs a few array operations.
    """
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1))).view(np.uint8)
    codes = padded[:, :-1, :-1] + 2 * padded[:, :-1, 1:]
    codes += 4 * padded[:, 1:, :-1]
    codes += 8 * padded[:, 1:, 1:]
    quarters: NDArray[np.int64] = _EULER_QUARTERS[codes].sum(axis=(1, 2), dtype=np.int64)
    return quarters // 4


def structural_features(images: Images, names: Sequence[str]) -> Features:
    """(n, 28, 28) uint8 -> (n, len(names)) float32, each feature scaled to about 0..1.

    The names are FEATURES' keys; every one is computed from the ink (pixels >= INK_LEVEL).
    """
    ink: NDArray[np.bool_] = np.asarray(images).reshape(-1, SIDE, SIDE) >= INK_LEVEL
    columns = np.any(ink, axis=1)  # (n, 28): which columns hold ink
    rows = np.any(ink, axis=2)
    _, width = _spans(columns)
    _, height = _spans(rows)
    count = ink.sum(axis=(1, 2))
    values: dict[str, Callable[[], NDArray[Any]]] = {
        # log2(width / height) / 4: -1 for a 1 px wide bar 16 px tall, +1 for the reverse.
        "box_aspect": lambda: np.log2(np.maximum(width, 1) / np.maximum(height, 1)) / 4,
        "box_fill": lambda: count / np.maximum(width * height, 1),
        "ink_fraction": lambda: count / PIXELS,
        "column_runs": lambda: np.minimum(_runs(columns), 4) / 4,
        "widest_column_gap": lambda: _widest_gap(columns) / SIDE,
        "row_runs": lambda: np.minimum(_runs(rows), 4) / 4,
        "euler_number": lambda: np.clip(euler_number(ink), -3, 5) / 4,
        # Runs of ink along every row and down every column: a digit has 40-80, sprinkled
        # noise or hatching several hundred.
        "ink_runs": lambda: (
            (
                _runs(ink.reshape(-1, SIDE)).reshape(len(ink), SIDE).sum(axis=1)
                + _runs(ink.transpose(0, 2, 1).reshape(-1, SIDE))
                .reshape(len(ink), SIDE)
                .sum(axis=1)
            )
            / 200
        ),
    }
    unknown = set(names) - set(values)
    if unknown:
        raise ValueError(f"unknown verdict features {sorted(unknown)}; known: {sorted(values)}")
    if not names:
        return np.zeros((len(ink), 0), dtype=np.float32)
    return np.column_stack([values[name]() for name in names]).astype(np.float32)


# The features the classifier is fitted with (`structural_features` knows one more, row_runs,
# which did not help). Each is computed in a few operations on one Python integer for one image
# (`features_one`): all seven cost about 2 us.
FEATURES = (
    "box_aspect",
    "box_fill",
    "ink_fraction",
    "column_runs",
    "widest_column_gap",
    "euler_number",
    "ink_runs",
)


# The digit network's logits are divided by this: they span about -20..20.
LOGIT_SCALE = 10.0


def digit_view(hidden: NDArray[np.floating], logits: NDArray[np.floating]) -> DigitView:
    """The digit network's last hidden layer (n, h) and logits (n, 10) -> its view (n, h + 10)."""
    return np.concatenate([hidden, logits], axis=1).astype(np.float32)


def verdict_inputs(
    images: Images,
    features: Sequence[str] = FEATURES,
    view: DigitView | None = None,
    hidden_scale: float = 1.0,
) -> NDArray[np.float32]:
    """(n, 28, 28) uint8 -> (n, 784 + k [+ h + 10]) float32: grey levels / 255, then the
    features, then, when the digit network's `view` (n, h + 10) is given, its hidden
    activations / `hidden_scale` and its logits / LOGIT_SCALE."""
    images = np.asarray(images).reshape(-1, SIDE, SIDE)
    pixels = images.reshape(len(images), PIXELS).astype(np.float32) / np.float32(255.0)
    parts = [pixels, structural_features(images, features)]
    if view is not None:
        parts.append(scaled_view(np.asarray(view).reshape(len(images), -1), hidden_scale))
    return np.concatenate(parts, axis=1, dtype=np.float32)


def scaled_view(view: DigitView, hidden_scale: float) -> NDArray[np.float32]:
    """The view (n, h + 10) as the classifier reads it: hidden activations / `hidden_scale`,
    logits / LOGIT_SCALE."""
    scales = np.full(view.shape[1], LOGIT_SCALE, dtype=np.float32)
    scales[:-DIGIT_CLASSES] = hidden_scale
    return np.asarray(view, dtype=np.float32) / scales


# ---------------------------------------------------------------- the classifier


@dataclass(frozen=True)
class Thresholds:
    """Smallest class probabilities that turn a drawing away from "digit"."""

    not_a_digit: float
    several_digits: float


def decide(probabilities: Sequence[float], thresholds: Thresholds) -> Verdict:
    """One row of (p_digit, p_not_a_digit, p_several_digits) -> its verdict."""
    _, p_not, p_several = probabilities
    not_a_digit = p_not >= thresholds.not_a_digit
    several = p_several >= thresholds.several_digits
    if not_a_digit and several:
        return NOT_A_DIGIT if p_not >= p_several else SEVERAL_DIGITS
    if not_a_digit:
        return NOT_A_DIGIT
    return SEVERAL_DIGITS if several else DIGIT


@dataclass(frozen=True)
class ViewSpec:
    """How a verdict classifier reads the digit network's view (`digit_view`)."""

    hidden: int  # the width of the digit network's last hidden layer
    hidden_scale: float  # its activations are divided by this (a high percentile of them)
    network_sha256: str  # `network_checksum` of the digit network it was fitted on

    @property
    def width(self) -> int:
        return self.hidden + DIGIT_CLASSES

    def to_dict(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden,
            "hidden_scale": self.hidden_scale,
            "logit_scale": LOGIT_SCALE,
            "network_sha256": self.network_sha256,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> ViewSpec:
        if float(stored.get("logit_scale", LOGIT_SCALE)) != LOGIT_SCALE:
            raise ValueError(f"logit scale {stored['logit_scale']!r} is not {LOGIT_SCALE}")
        scale = float(stored["hidden_scale"])
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"hidden scale {scale!r} is not a positive number")
        return cls(int(stored["hidden"]), scale, str(stored["network_sha256"]))


def network_checksum(network: MLP) -> str:
    """SHA-256 of a network's parameters as float32, layer by layer: which digit network a
    verdict classifier reading its view was fitted on (a retrained or fine-tuned network has
    another, and its classifier must be refitted)."""
    digest = hashlib.sha256()
    for dense in network.dense:
        for name in sorted(dense.parameters):
            digest.update(np.ascontiguousarray(dense.parameters[name], dtype=np.float32).tobytes())
    return digest.hexdigest()


class VerdictModel:
    """The fitted classifier: an MLP over `verdict_inputs`, its features and its thresholds.

    `view`: None when it reads the image alone (files made before it read the digit network),
    else how it reads the digit network's view: the hidden layer's width, the scale its
    activations are divided by, and the checksum of the digit network it was fitted on.
    """

    def __init__(
        self,
        network: MLP,
        features: Sequence[str],
        thresholds: Thresholds,
        view: ViewSpec | None = None,
    ) -> None:
        expected = PIXELS + len(features) + (view.width if view else 0)
        if network.layer_sizes[0] != expected or network.layer_sizes[-1] != len(VERDICTS):
            raise ValueError(
                f"a verdict network must map {expected} inputs to {len(VERDICTS)} classes, "
                f"not {network.layer_sizes[0]} to {network.layer_sizes[-1]}"
            )
        structural_features(np.zeros((1, SIDE, SIDE), np.uint8), features)  # names known
        self.network = network
        self.features = tuple(features)
        self.thresholds = thresholds
        self.view = view

    def inputs(self, images: Images, view: DigitView | None = None) -> NDArray[np.float32]:
        """`verdict_inputs` as this model reads them; ValueError when it reads the digit
        network's view and none is given."""
        if self.view is None:
            return verdict_inputs(images, self.features)
        if view is None:
            raise ValueError("this verdict classifier reads the digit network's view: pass it")
        return verdict_inputs(images, self.features, view, self.view.hidden_scale)

    def probabilities(self, images: Images, view: DigitView | None = None) -> NDArray[np.float64]:
        """(n, 28, 28) uint8 [and the digit network's view (n, h + 10)] -> (n, 3) class
        probabilities, in VERDICTS order."""
        logits = self.network.forward(self.inputs(images, view)).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probabilities: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    def verdicts(self, images: Images, view: DigitView | None = None) -> list[Verdict]:
        """(n, 28, 28) uint8 [and the digit network's view] -> one verdict per image."""
        return [decide(row, self.thresholds) for row in self.probabilities(images, view).tolist()]

    def verdict_one(self, image: NDArray[np.uint8], view: DigitView | None = None) -> Verdict:
        """One (28, 28) uint8 image [and its (h + 10,) view] -> its verdict; equal to
        `verdicts`, faster for one."""
        return self.single.verdict(image, view)

    @functools.cached_property
    def single(self) -> SingleImageVerdict:
        """The one-image path (built on first use; the network must not change afterwards)."""
        return SingleImageVerdict(self)

    # ------------------------------------------------------------ the weight file's form
    def metadata(self) -> dict[str, Any]:
        """What metadata["verdict"] must hold to rebuild this model (callers add rates etc.)."""
        return {
            "layer_sizes": list(self.network.layer_sizes),
            "activation": self.network.activation,
            "classes": list(VERDICTS),
            "features": list(self.features),
            "ink_level": INK_LEVEL,
            "thresholds": {
                NOT_A_DIGIT: self.thresholds.not_a_digit,
                SEVERAL_DIGITS: self.thresholds.several_digits,
            },
            **({"digit_view": self.view.to_dict()} if self.view else {}),
        }

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, NDArray[Any]], metadata: Mapping[str, Any]
    ) -> VerdictModel:
        """Rebuild from a weight file's `verdict/` arrays (names without the prefix) and
        metadata["verdict"]; ValueError when they do not describe a verdict model."""
        try:
            if list(metadata["classes"]) != list(VERDICTS):
                raise ValueError(f"classes {metadata['classes']!r} are not {list(VERDICTS)}")
            if int(metadata.get("ink_level", INK_LEVEL)) != INK_LEVEL:
                raise ValueError(f"ink level {metadata['ink_level']!r} is not {INK_LEVEL}")
            network = MLP(metadata["layer_sizes"], activation=metadata["activation"])
            thresholds = Thresholds(
                not_a_digit=float(metadata["thresholds"][NOT_A_DIGIT]),
                several_digits=float(metadata["thresholds"][SEVERAL_DIGITS]),
            )
            features = [str(name) for name in metadata["features"]]
            stored = metadata.get("digit_view")
            view = None if stored is None else ViewSpec.from_dict(stored)
        except (KeyError, TypeError) as error:
            raise ValueError(f"metadata does not describe a verdict model ({error})") from None
        network.load_parameters(dict(arrays))
        return cls(network, features, thresholds, view)


# ---------------------------------------------------------------- one image, fast


# One image's ink as the bits of a Python integer (`features_one`): each row is packed into
# _ROW = 32 bits, its 28 pixels then 4 blank ones, which also stand for the blank border left of
# the next row; pixel (r, c) is bit 895 - (32 r + c). So the pixel to the left of bit p is bit
# p + 1, the one above bit p + 32, and shifting by those moves a neighbour onto a pixel.
ROW_BITS = 32  # np.packbits pads each row of 28 cells to 4 bytes
_ROW = ROW_BITS
_TOP_BIT = SIDE * _ROW - 1  # pixel (0, 0)
_ROW_MASK = (1 << _ROW) - 1


def ink_bits(inked: NDArray[np.bool_]) -> int:
    """A (28, 28) ink mask as the bits of one Python integer, ROW_BITS a row, pixel (0, 0) the
    highest: the 4 blank bits after each row stop a shift by one from carrying ink into the
    next row. Counts, runs and 2x2 patterns are then integer operations and popcounts."""
    return int.from_bytes(np.packbits(inked, axis=1).tobytes(), "big")


def features_one(image: NDArray[np.uint8], names: Sequence[str]) -> list[float]:
    """`structural_features` of one (28, 28) uint8 image, as Python floats, in about 2 us:
    the ink becomes the bits of one Python integer (two NumPy calls), and every count, span,
    run and 2x2 pattern is a whole-integer operation and a popcount instead of a NumPy call."""
    ink = ink_bits(image >= INK_LEVEL)
    if not ink:
        return [0.0] * len(names)
    count = ink.bit_count()
    top, bottom = _TOP_BIT - (ink.bit_length() - 1), _TOP_BIT - ((ink & -ink).bit_length() - 1)
    height = bottom // _ROW - top // _ROW + 1
    # OR every row into the last one (1, 2, 4, 8, 16 rows down): bit 31 - c says whether
    # column c holds ink.
    columns = ink | ink >> _ROW
    columns |= columns >> (2 * _ROW)
    columns |= columns >> (4 * _ROW)
    columns |= columns >> (8 * _ROW)
    columns = (columns | columns >> (16 * _ROW)) & _ROW_MASK
    width = columns.bit_length() - (columns & -columns).bit_length() + 1
    if tuple(names) == FEATURES:  # the shipped order, without a lookup per feature
        return [
            math.log2(width / height) / 4,
            count / (width * height),
            count / PIXELS,
            min((columns & ~(columns >> 1)).bit_count(), 4) / 4,
            _widest_gap_of_bits(columns) / SIDE,
            min(max(_euler_of_bits(ink), -3), 5) / 4,
            ((ink & ~(ink >> 1)).bit_count() + (ink & ~(ink >> _ROW)).bit_count()) / 200,
        ]
    return [float(v) for v in structural_features(image[None], names)[0]]


def _widest_gap_of_bits(columns: int) -> int:
    """The widest run of blank columns between inked ones, from `features_one`'s column bits:
    the blanks inside the span, worn down one bit a step until none is left."""
    low = (columns & -columns).bit_length() - 1
    gaps = ~columns & (((1 << columns.bit_length()) - 1) >> low << low)
    widest = 0
    while gaps:
        gaps &= gaps >> 1
        widest += 1
    return widest


def _euler_of_bits(a: int) -> int:
    """`euler_number` of the image whose ink is `a`, laid out as in `features_one`.

    Shifting left by 1, 32 and 33 brings each 2x2 window's right, lower and lower-right pixels
    onto its top-left one (the blank bits and the bits beyond either end are the border), so
    Gray's quad counts are a dozen whole-integer operations and three popcounts.
    """
    b, c, d = a << 1, a << _ROW, a << (_ROW + 1)
    odd = a ^ b ^ c ^ d  # 1 or 3 of the window's 4 pixels
    two_or_more = (a & b) | (c & d) | ((a | b) & (c | d))
    q1 = (odd & ~two_or_more).bit_count()
    q3 = (odd & two_or_more).bit_count()
    diagonals = ((a & d & ~(b | c)) | (b & c & ~(a | d))).bit_count()
    return (q1 - q3 - 2 * diagonals) // 4


class SingleImageVerdict:
    """`VerdictModel.verdicts` for one image, the way `model.fast.single_image` reads one digit:
    the first layer from the inked pixels' weight rows only (1/255 folded into the weights),
    the features from `features_one`, the decision on Python floats."""

    def __init__(self, model: VerdictModel) -> None:
        network = model.network
        first = network.dense[0]
        self.features = model.features
        self.thresholds = model.thresholds
        # No copy when the parameters are float32 already: feature_weights is a view of them.
        weights = np.asarray(first.parameters["W"], dtype=np.float32)
        self.pixel_weights = weights[:PIXELS] / np.float32(255.0)  # (784, hidden)
        after = PIXELS + len(self.features)
        self.feature_weights = weights[PIXELS:after]  # (k, hidden)
        # The view's rows with its scales folded in: (h + 10, hidden), or none.
        self.view_weights: NDArray[np.float32] | None = None
        if model.view is not None:  # x / s @ W == x @ (W / s): the scales fold into the rows
            ones = np.ones((1, model.view.width), dtype=np.float32)
            self.view_weights = weights[after:] * scaled_view(ones, model.view.hidden_scale).T
        self.first_bias = first.parameters["b"].astype(np.float32)
        self.hidden = [
            (d.parameters["W"].astype(np.float32), d.parameters["b"].astype(np.float32))
            for d in network.dense[1:-1]
        ]
        last = network.dense[-1]
        self.last_weights = last.parameters["W"].astype(np.float32)  # (hidden, 3)
        self.last_bias = [float(b) for b in last.parameters["b"]]  # added in Python floats

    def logits(self, image: NDArray[np.uint8], view: DigitView | None = None) -> list[float]:
        """(28, 28) uint8 [and the digit network's (h + 10,) view of it] -> the 3 logits."""
        pixels = image.reshape(-1)
        (inked,) = pixels.nonzero()
        first = pixels[inked].astype(np.float32) @ np.take(self.pixel_weights, inked, axis=0)
        first += self.first_bias
        return self.logits_after(first, image, view)

    def logits_after(
        self,
        first: NDArray[np.floating],
        image: NDArray[np.uint8],
        view: DigitView | None = None,
    ) -> list[float]:
        """The 3 logits from the pixels' part of the first layer, `pixels @ pixel_weights +
        first_bias` (hidden,), computed here or by `model.fast.shared_first_layer`, the image
        for its features, and the digit network's (h + 10,) view when the model reads it
        (ValueError if it is missing). `first` is overwritten."""
        hidden = first
        if self.features:
            values = np.array(features_one(image, self.features), dtype=np.float32)
            hidden += values @ self.feature_weights
        if self.view_weights is not None:
            if view is None:
                raise ValueError("this verdict classifier reads the digit network's view: pass it")
            # After a ReLU most hidden units are zero: only the active ones' rows are read.
            values = np.asarray(view, dtype=np.float32).reshape(-1)
            (active,) = values.nonzero()
            hidden += values[active] @ np.take(self.view_weights, active, axis=0)
        for weights, biases in self.hidden:
            np.maximum(hidden, 0, out=hidden)
            hidden = hidden @ weights
            hidden += biases
        np.maximum(hidden, 0, out=hidden)
        scores = (hidden @ self.last_weights).tolist()
        return [z + b for z, b in zip(scores, self.last_bias, strict=True)]

    def decide_logits(self, logits: Sequence[float]) -> Verdict:
        """`decide` on the softmax of the 3 logits, in Python floats: p >= t is compared as
        exp(z - top) >= t * sum, so no division is needed."""
        z_digit, z_not, z_several = logits
        top = max(z_digit, z_not, z_several)
        e_not, e_several = math.exp(z_not - top), math.exp(z_several - top)
        total = math.exp(z_digit - top) + e_not + e_several
        not_a_digit = e_not >= self.thresholds.not_a_digit * total
        several = e_several >= self.thresholds.several_digits * total
        if not_a_digit and several:
            return NOT_A_DIGIT if e_not >= e_several else SEVERAL_DIGITS
        if not_a_digit:
            return NOT_A_DIGIT
        return SEVERAL_DIGITS if several else DIGIT

    def verdict(self, image: NDArray[np.uint8], view: DigitView | None = None) -> Verdict:
        """(28, 28) uint8 [and its view] -> its verdict, by `decide`'s rule on the softmax of
        the logits."""
        return self.decide_logits(self.logits(image, view))

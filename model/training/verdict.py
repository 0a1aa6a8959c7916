"""Fit the verdict classifier and store it in a weight file: `python -m model.training.verdict`.

    python -m model.training.verdict --weights weights/mnist_mlp.npz --data DIR

1. Draw the training set from the training writers, MNIST's training set and synthetic shapes
   (`model.data.verdict_data`), in parallel.
2. Train `model.nn`'s MLP on `verdict_inputs` (grey levels and structural features) with
   softmax cross-entropy and Adam, every class weighed alike.
3. Round it to the weight file's storage precision, then choose the thresholds on a calibration
   set drawn from the held-out writers (`model.evaluation.verdict.calibrate`).
4. Measure the rates on a report set drawn afresh from the held-out writers, check the five
   known cases, and write the classifier into the weight file atomically (`save_group`): the
   digit network and its metadata stay byte for byte, so it can be re-attached to any file.

It reads the file's digit network (its view of every drawing, unless --digit-view false)
and storage precision, and replaces the file's verdict classifier if it has one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data.augment import AugmentParams, augment
from model.data.mnist import DataError, DataNotFoundError, load_mnist, resolve_data_dir
from model.data.verdict_data import KINDS, Sources, build, load_sources
from model.evaluation.verdict import (
    CALIBRATION_KINDS,
    CALIBRATION_SEED,
    REPORT_KINDS,
    REPORT_SEED,
    VerdictRates,
    calibrate,
    calibration_counts,
    check_examples,
    examples,
    format_rates,
    report_counts,
    verdict_rates,
)
from model.fast.training import train_step_gradients, use_fast_layers
from model.files import WeightFileError, read_weight_file, round_to_storage, save_group
from model.nn.mlp import MLP
from model.nn.optimizers import Adam
from model.resources import shipped_weights
from model.serving.predictor import Predictor
from model.serving.verdict import (
    DIGIT_CLASSES,
    FEATURES,
    GROUP,
    PIXELS,
    VERDICTS,
    DigitView,
    Thresholds,
    VerdictModel,
    ViewSpec,
    digit_view,
    network_checksum,
    scaled_view,
    structural_features,
    verdict_inputs,
)
from model.training.config import parse_bool

Log = Callable[[str], None]


@dataclass(frozen=True)
class VerdictConfig:
    """Every knob of a verdict fit; the fields are the command's flags."""

    weights: str = field(
        default_factory=lambda: str(shipped_weights()),
        metadata={
            "help": "the weight file to add the verdict classifier to, in place (default: the "
            "shipped weights/mnist_mlp.npz of the installed package, which `digits serve` uses "
            "unless DIGITS_WEIGHTS or --weights names another)"
        },
    )
    data: str | None = field(
        default=None,
        metadata={"help": "MNIST folder (default: $DIGITS_DATA, else the per-user cache)"},
    )
    hidden: tuple[int, ...] = field(
        default=(512,),
        metadata={
            "help": "hidden layer widths: one layer of 512 catches 1-2 points more letters "
            "and scribbles than 256 at the same refusals (measured), for about 20 us more per "
            "/api/predict"
        },
    )
    features: tuple[str, ...] = field(
        default=FEATURES, metadata={"help": "structural features after the 784 grey levels"}
    )
    digit_view: bool = field(
        default=True,
        metadata={
            "help": "also read the digit network's last hidden layer and logits (refit after "
            "retraining or fine-tuning it); false: the image alone"
        },
    )
    epochs: int = field(default=30, metadata={"help": "passes over the training set"})
    batch_size: int = field(default=128, metadata={"help": "examples per Adam step"})
    lr: float = field(default=1e-3, metadata={"help": "Adam's peak learning rate (cosine decay)"})
    l2: float = field(default=1e-5, metadata={"help": "0.5 * l2 * ||W||^2 on weights"})
    dropout: float = field(default=0.1, metadata={"help": "dropout on the hidden layers' input"})
    augment: float = field(
        default=0.3,
        metadata={"help": "share of each batch distorted afresh (mild): new hands generalise"},
    )
    unipen_variants: int = field(
        default=3, metadata={"help": "drawings of each training writer's digit"}
    )
    letter_variants: int = field(
        default=2, metadata={"help": "drawings of each training writer's letter"}
    )
    mnist_digits: int = field(default=30_000, metadata={"help": "MNIST training digits used"})
    per_kind: int = field(
        default=3_000,
        metadata={"help": "drawings of each synthetic non-digit kind (scribbles: twice as many)"},
    )
    groups: int = field(
        default=10_000,
        metadata={"help": "digit groups of each source (UNIPEN, MNIST), plus half as many pairs"},
    )
    held_out_per_kind: int = field(
        default=600,
        metadata={"help": "drawings of each synthetic kind in the calibration and report sets"},
    )
    max_refused: float = field(
        default=0.009,
        metadata={
            "help": "largest share of the calibration set's real digits refused: the 1% target "
            "less a margin for the report set, drawn afresh"
        },
    )
    seed: int = field(default=0, metadata={"help": "same seed, same classifier"})
    workers: int = field(default=0, metadata={"help": "drawing processes (0: one per core)"})

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.lr > 0, "lr must be positive"),
            (all(h >= 1 for h in self.hidden), "hidden sizes must be positive"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (0 <= self.augment <= 1, "augment must be in [0, 1]"),
            (0 < self.max_refused < 1, "max refused must be in (0, 1)"),
            (min(self.unipen_variants, self.letter_variants) >= 1, "variants must be >= 1"),
            (min(self.mnist_digits, self.per_kind, self.groups) >= 1, "counts must be positive"),
            (self.held_out_per_kind >= 1, "held-out per kind must be at least 1"),
            (self.workers >= 0, "workers must be non-negative"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    def training_counts(self, sources: Sources) -> dict[str, int]:
        """How many drawings of each kind the training set holds."""
        counts = {kind: self.per_kind for kind in KINDS if kind.startswith("not/")}
        counts.update(
            {
                "digit/unipen": len(sources.digit_records) * self.unipen_variants,
                "digit/mnist": self.mnist_digits,
                "not/letters": len(sources.letter_records) * self.letter_variants,
                "not/scribbles": 2 * self.per_kind,  # the most varied kind
                "several/unipen": self.groups,
                "several/mnist": self.groups,
                "several/unipen-pairs": self.groups // 2,
                "several/mnist-pairs": self.groups // 2,
            }
        )
        return counts


# ---------------------------------------------------------------- training


def learning_rate(peak: float, step: int, total: int) -> float:
    """Cosine decay from `peak` to zero over `total` steps."""
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(step / max(total, 1), 1.0)))


@dataclass(frozen=True)
class DigitReader:
    """The digit network's view of drawings (`digit_view`), and how its activations are scaled."""

    predictor: Predictor
    hidden_scale: float = 1.0

    def view(self, images: NDArray[np.uint8]) -> DigitView:
        """(n, 28, 28) uint8 -> (n, hidden + 10), in chunks of VIEW_CHUNK images."""
        parts = []
        for start in range(0, len(images), VIEW_CHUNK):
            logits, hidden = self.predictor.forward(images[start : start + VIEW_CHUNK])
            parts.append(digit_view(hidden[-1], logits))
        return np.concatenate(parts) if parts else np.zeros((0, self.width), np.float32)

    @property
    def width(self) -> int:
        return int(self.predictor.network.layer_sizes[-2]) + DIGIT_CLASSES

    def spec(self) -> ViewSpec:
        network = self.predictor.network
        return ViewSpec(int(network.layer_sizes[-2]), self.hidden_scale, network_checksum(network))


VIEW_CHUNK = 2048
# The last hidden layer's activations are divided by this percentile of the training set's
# positive ones, so most inputs lie in 0..1 like the grey levels.
HIDDEN_PERCENTILE = 99.0


def hidden_scale(view: DigitView) -> float:
    """The HIDDEN_PERCENTILE-th percentile of the positive hidden activations of a view."""
    hidden = view[:, :-DIGIT_CLASSES]
    positive = hidden[hidden > 0]
    return float(np.percentile(positive, HIDDEN_PERCENTILE)) if positive.size else 1.0


def train_network(
    config: VerdictConfig,
    images: NDArray[np.uint8],
    labels: NDArray[np.int64],
    log: Log,
    reader: DigitReader | None = None,
    views: DigitView | None = None,
) -> MLP:
    """Fit the MLP on images (n, 28, 28) uint8 -> labels (n,) in VERDICTS order.

    Each class is sampled equally often (a batch draws its examples class by class), so the
    largest source does not set the boundary. A share `config.augment` of each batch is
    distorted afresh (`model.data.augment`, mild: shift, turn, scale, shear, elastic, width)
    before its inputs are computed: the held-out writers are new hands, and distortions
    narrow the gap between the training writers and them.
    """
    rng = np.random.default_rng(config.seed)
    width = PIXELS + len(config.features) + (reader.width if reader else 0)
    sizes = [width, *config.hidden, len(VERDICTS)]
    network = use_fast_layers(
        MLP(sizes, dropout=(0.0, *[config.dropout] * len(config.hidden)), rng=rng)
    )
    optimizer = Adam(config.lr)
    by_class = [np.flatnonzero(labels == c) for c in range(len(VERDICTS))]
    steps_per_epoch = len(labels) // config.batch_size
    total = steps_per_epoch * config.epochs
    parameters, gradients = network.parameters(), network.gradients()
    features = structural_features(images, config.features)  # (n, k), once: they cost more
    for epoch in range(config.epochs):
        started, losses, right = time.perf_counter(), [], 0
        for _ in range(steps_per_epoch):
            picks = rng.integers(len(VERDICTS), size=config.batch_size)
            batch = np.array([c[rng.integers(len(c))] for c in (by_class[p] for p in picks)])
            x = batch_inputs(
                images[batch],
                features[batch],
                rng,
                config,
                reader,
                None if views is None else views[batch],
            )
            optimizer.lr = learning_rate(config.lr, optimizer.steps, total)
            loss, probabilities = train_step_gradients(network, x, labels[batch], l2=config.l2)
            optimizer.step(parameters, gradients)
            losses.append(loss)
            right += int((probabilities.argmax(axis=1) == labels[batch]).sum())
        log(
            f"epoch {epoch + 1:>2}/{config.epochs}  loss {np.mean(losses):.4f}  "
            f"train accuracy {right / (steps_per_epoch * config.batch_size):.2%}  "
            f"{time.perf_counter() - started:.1f}s"
        )
    return network


# Milder than the digit network's defaults: a verdict must survive them (a turned dash is
# still a dash, but a 1 turned 45 degrees starts to look like one).
MILD = AugmentParams(
    max_shift=1.0,
    max_rotation=8.0,
    max_scale=0.08,
    max_shear=0.1,
    elastic_alpha=0.8,
    elastic_sigma=4.0,
    thickness_prob=0.3,
)


def batch_inputs(
    images: NDArray[np.uint8],
    features: NDArray[np.float32],
    rng: np.random.Generator,
    config: VerdictConfig,
    reader: DigitReader | None = None,
    views: DigitView | None = None,
) -> NDArray[np.float32]:
    """`verdict_inputs` of a batch (n, 28, 28) whose features (n, k) and, with a `reader`,
    digit views are known, with a random share `config.augment` of the images distorted by
    MILD (their features and views computed afresh)."""
    pixels = images.reshape(len(images), PIXELS).astype(np.float32) / np.float32(255.0)
    parts = [pixels, features]
    if reader is not None and views is not None:
        parts.append(scaled_view(views, reader.hidden_scale))
    x = np.concatenate(parts, axis=1, dtype=np.float32)
    chosen = np.flatnonzero(rng.random(len(images)) < config.augment)
    if len(chosen):
        moved = augment(pixels[chosen].reshape(-1, 28, 28), rng, MILD)
        again = np.rint(np.clip(moved, 0.0, 1.0) * 255.0).astype(np.uint8)
        view = reader.view(again) if reader is not None and views is not None else None
        scale = reader.hidden_scale if reader is not None else 1.0
        x[chosen] = verdict_inputs(again, config.features, view, scale)
    return x


# ---------------------------------------------------------------- the whole fit


@dataclass(frozen=True)
class VerdictFit:
    """A fitted classifier with what was measured on the held-out writers."""

    model: VerdictModel
    rates: VerdictRates
    examples: dict[str, dict[str, Any]]
    seconds: dict[str, float]


def fit(
    config: VerdictConfig, storage_dtype: str, log: Log, digit: Predictor | None = None
) -> VerdictFit:
    """Draw the data, train, calibrate and measure; nothing is written. With `digit` (the
    weight file's digit network, no verdict), the classifier reads its view too."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    data_dir = resolve_data_dir(config.data)
    train_sources = load_sources("train", load_mnist(data_dir, "train"))
    held_sources = load_sources("held_out", load_mnist(data_dir, "test"))
    counts = config.training_counts(train_sources)
    log(f"drawing {sum(counts.values()):,} training examples ...")
    training = build(counts, train_sources, config.seed, config.workers)
    calibration = build(
        calibration_counts(held_sources, config.held_out_per_kind),
        held_sources,
        CALIBRATION_SEED,
        config.workers,
        kinds=CALIBRATION_KINDS,
    )
    report = build(
        report_counts(held_sources, config.held_out_per_kind),
        held_sources,
        REPORT_SEED,
        config.workers,
        kinds=REPORT_KINDS,
    )
    seconds["drawing"] = time.perf_counter() - clock
    log(
        f"drew {len(training.images):,} training, {len(calibration.images):,} calibration and "
        f"{len(report.images):,} report examples in {seconds['drawing']:.0f}s"
    )

    clock = time.perf_counter()
    reader = views = None
    if digit is not None:
        views = DigitReader(digit).view(training.images)
        reader = DigitReader(digit, hidden_scale(views))
        log(f"the digit network's view: {views.shape[1]} values, scale {reader.hidden_scale:.3f}")
    network = train_network(config, training.images, training.labels, log, reader, views)
    seconds["training"] = time.perf_counter() - clock

    round_to_storage(network, storage_dtype)  # calibrate the network the file will hold
    spec = reader.spec() if reader else None

    def view_of(images: NDArray[np.uint8]) -> DigitView | None:
        return reader.view(images) if reader else None

    untuned = VerdictModel(network, config.features, Thresholds(1.0, 1.0), spec)
    probabilities = untuned.probabilities(calibration.images, view_of(calibration.images))
    thresholds = calibrate(probabilities, calibration, config.max_refused)
    model = VerdictModel(network, config.features, thresholds, spec)
    rates = verdict_rates(model.verdicts(report.images, view_of(report.images)), report)
    cases = examples()
    case_images = np.stack([image for image, _ in cases.values()])
    given = model.verdicts(case_images, view_of(case_images))
    checked = check_examples(dict(zip(cases, given, strict=True)))
    return VerdictFit(model, rates, checked, seconds)


def warnings(result: VerdictFit, config: VerdictConfig) -> list[str]:
    """What a user should know before serving this classifier: real digits refused beyond the
    1% budget on the report set, known cases given the wrong verdict (a quick fit with small
    settings gives both)."""
    found = [
        f"{share:.2%} of {kind} refused (the budget is 1%)"
        for kind, share in result.rates.refused.items()
        if share > 0.01
    ]
    wrong = [name for name, case in result.examples.items() if not case["right"]]
    if wrong:
        found.append(f"the known cases {', '.join(wrong)} get the wrong verdict")
    return found


def description(result: VerdictFit, config: VerdictConfig) -> dict[str, Any]:
    """metadata["verdict"]: the model's own fields plus what was measured and how."""
    return {
        **result.model.metadata(),
        "rates": result.rates.to_dict(),
        "examples": result.examples,
        "config": config.to_dict(),
        "seconds": {k: round(v, 1) for k, v in result.seconds.items()},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(config: VerdictConfig, log: Log = print) -> int:
    """Fit and write into `config.weights`; 0 on success, 2 when a file is missing or bad."""
    log("verdict config:\n" + "\n".join(f"  {k:<18} {v}" for k, v in config.to_dict().items()))
    started = time.perf_counter()
    try:
        loaded = read_weight_file(Path(config.weights))
        storage_dtype = str(loaded.metadata.get("storage_dtype", "float32"))
        digit = None
        if config.digit_view:  # the digit network alone: the file's old classifier is replaced
            digit = Predictor(loaded.network, loaded.metadata, Path(config.weights), "")
        result = fit(config, storage_dtype, log, digit)
    except (WeightFileError, DataError, DataNotFoundError) as error:
        print(f"verdict: {error}", file=sys.stderr)
        return 2
    thresholds = result.model.thresholds
    log(
        f"thresholds: not_a_digit {thresholds.not_a_digit:.4f}, "
        f"several_digits {thresholds.several_digits:.4f}"
    )
    log("held-out rates:\n" + format_rates(result.rates))
    log("the five known cases: " + json.dumps(result.examples))
    for warning in warnings(result, config):
        print(f"verdict: WARNING: {warning}; writing it all the same", file=sys.stderr)
    arrays = {
        f"dense{i}.{name}": value
        for i, dense in enumerate(result.model.network.dense)
        for name, value in dense.parameters.items()
    }
    save_group(Path(config.weights), GROUP, arrays, description(result, config), storage_dtype)
    elapsed = time.perf_counter() - started
    log(f"wrote the verdict classifier into {config.weights} ({elapsed:.0f}s in all)")
    return 0


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """One flag per VerdictConfig field (`batch_size` -> `--batch-size`)."""
    parser = argparse.ArgumentParser(
        prog="python -m model.training.verdict", description=(__doc__ or "").splitlines()[0]
    )
    hints = typing.get_type_hints(VerdictConfig)
    for f in dataclasses.fields(VerdictConfig):
        hint = hints[f.name]
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if typing.get_origin(hint) is tuple:
            kwargs.update(type=_comma_list(typing.get_args(hint)[0]), metavar="A,B,...")
        elif hint in (int, float):
            kwargs["type"] = hint
        elif hint is bool:
            kwargs.update(type=parse_bool, metavar="BOOL")
        else:
            kwargs.update(type=str, metavar="PATH")
        help_text = f.metadata["help"].replace("%", "%%")
        parser.add_argument("--" + f.name.replace("_", "-"), help=help_text, **kwargs)
    return parser


def _comma_list(item: type) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(item(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {item.__name__}s, got {text!r}") from None

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = VerdictConfig(**vars(args))
    except ValueError as error:
        parser.error(str(error))
    return run(config)


if __name__ == "__main__":
    raise SystemExit(main())

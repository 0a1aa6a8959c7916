"""Fine-tune a trained network on the examples people stored, without forgetting MNIST.

    digits finetune --out tuned.npz [--weights W] [--database URL] [--epochs 2] [--mix 0.25]

1. A hash of each example's profile holds a share `holdout` of the profiles out, whole, to
   score on (`model.training.finetune_data`: the data side of all this).
2. The other examples join the network's own training data: the MNIST training digits less
   the base run's validation split, with the examples repeated until they make up `mix` of
   each epoch, so of each batch on average.
3. The base run's own loop trains on them (`model.training.train.train_epoch`), with the recipe
   its weight file records (augmentation, dropout, L2, optimizer, batch size), at a small peak
   learning rate, a short warm-up and cosine decay to zero.
4. MNIST test and validation accuracy, and accuracy on the held-out and trained-on examples,
   are measured before and after (after: on the weights as stored, rounded to the file's
   precision). If MNIST test accuracy fell by more than MAX_TEST_DROP, nothing is written
   unless `force`.
5. The new file keeps the base file's metadata and optional groups (the verdict classifier,
   which reads the base network's view: the command says how to refit it) byte for byte; its
   metrics, mistakes and calibration are the new weights', and a record of the run is
   appended to the list under `finetune`. One atomic write.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
import types
import typing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from model.data.mnist import DataError, DataNotFoundError, sha256_file
from model.evaluation.calibration import calibrate
from model.evaluation.metrics import evaluate, predict_in_batches
from model.fast.training import use_fast_layers
from model.files import WeightFileError, round_to_storage, save_weights
from model.nn.mlp import MLP
from model.nn.optimizers import make_optimizer
from model.resources import shipped_weights
from model.serving.verdict import GROUP as VERDICT_GROUP
from model.training.checkpoint import TrainingState
from model.training.config import TrainConfig
from model.training.dataset import Dataset, add_stroke_drawings, pen_versions
from model.training.finetune_data import (
    Base,
    Examples,
    FinetuneError,
    Log,
    Mnist,
    StoredSet,
    accuracy,
    check_out,
    example_rows,
    load_base,
    load_mnist_split,
    split_examples,
    with_examples,
)
from model.training.progress import ProgressBar
from model.training.train import TrainingDivergedError, robustness_if_asked, train_epoch

# What `digits finetune --help` says the command does.
DESCRIPTION = (
    "Continue training a weight file on the examples in the example store, mixed with its "
    "MNIST training digits so it forgets nothing; the new weight file is written only if MNIST "
    "test accuracy drops by at most 0.1 point (or with --force). Exit status: 0 written, "
    "1 an error, 2 a bad flag or --out, 3 refused (MNIST accuracy dropped)."
)
MAX_TEST_DROP = 0.001  # 0.1 point of MNIST test accuracy (10 of the 10,000 test digits)
# A tenth of an epoch of linear warm-up: the base run ended at a learning rate near zero, and a
# fresh momentum buffer at full rate would first push the weights away from where they settled.
WARMUP_EPOCHS = 0.1
RECORD = "finetune"  # the metadata key: a list, one entry per fine-tuning run, oldest first
REFUSED = 3  # exit status when MNIST test accuracy dropped too far and nothing was written
# The base run's settings fine-tuning trains with, recorded with each run.
RECIPE_FIELDS = ("optimizer", "momentum", "nesterov", "batch_size", "l2", "dropout", "augment")


@dataclass(frozen=True)
class FinetuneConfig:
    """Every knob of a fine-tuning run; the fields are `digits finetune`'s flags."""

    out: str = field(metadata={"help": "the weight file to write (atomically)"})
    weights: str | None = field(
        default=None,
        metadata={
            "help": "the weight file to start from "
            "(default: $DIGITS_WEIGHTS, else the shipped weights)"
        },
    )
    data: str | None = field(
        default=None,
        metadata={
            "help": "MNIST folder (default: $DIGITS_DATA, else the per-user cache)",
            "metavar": "DIR",
        },
    )
    epochs: int = field(
        default=2, metadata={"help": "passes over the MNIST training digits and the examples"}
    )
    lr: float = field(
        default=0.001,
        metadata={
            "help": "peak learning rate of the base run's optimizer: a fiftieth of a momentum "
            "run's peak, so MNIST is kept (for an adam run, try a tenth of this)"
        },
    )
    mix: float = field(
        default=0.25,
        metadata={"help": "share of each batch taken from the stored examples, repeated as needed"},
    )
    holdout: float = field(
        default=0.2,
        metadata={
            "help": "share of the profiles held out, whole and chosen by a hash of their id, to "
            "score the examples before and after"
        },
    )
    seed: int = field(default=0, metadata={"help": "same seed, same fine-tuned weights"})
    limit: int = field(
        default=0,
        metadata={"help": "use only this many MNIST training digits, for quick runs; 0 for all"},
    )
    robustness: bool = field(
        default=False,
        metadata={
            "help": "also score the robustness conditions before and after, and store the new "
            "ones (slow: `digits evaluate --robustness`, twice); without it the file keeps "
            "none: the base file's describe other weights"
        },
    )
    force: bool = field(
        default=False,
        metadata={
            "help": "write the file even if MNIST test accuracy drops by more than 0.1 point"
        },
    )

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.lr > 0, "--lr must be positive"),
            (0 < self.mix < 1, "--mix is a share of each batch in (0, 1)"),
            (0 <= self.holdout < 1, "--holdout is a share of the profiles in [0, 1)"),
            (self.limit >= 0, "--limit must be non-negative"),
            # NumPy's generators take no negative seed, and would say so without the flag.
            (self.seed >= 0, "--seed must be non-negative"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        """The knobs that shape the weights, for the record (the files are recorded apart)."""
        files = {"out", "weights", "data"}
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in files
        }


@dataclass(frozen=True)
class Scores:
    """Accuracies of one network; `held_out` is None when no example is held out."""

    mnist_test: float
    validation: float
    held_out: float | None
    trained_on: float | None


@dataclass(frozen=True)
class Outcome:
    """What a run measured, and whether it wrote the file."""

    before: Scores
    after: Scores
    written: bool
    record: dict[str, Any]


def recipe(metadata: dict[str, Any], config: FinetuneConfig) -> TrainConfig:
    """The base run's TrainConfig (augmentation, dropout, L2, optimizer, batch size, seed of the
    validation split) with this run's data, epochs, learning rate and schedule. A file without
    a config gets the defaults, with its own layer sizes and dropout."""
    sizes = metadata["layer_sizes"]
    try:
        base = TrainConfig.from_dict(metadata.get("config") or {})
    except (TypeError, ValueError):
        base = TrainConfig()
    return replace(
        base,
        hidden=tuple(sizes[1:-1]),
        activation=metadata["activation"],
        dropout=tuple(metadata.get("dropout") or (0.0,) * (len(sizes) - 1)),
        data=config.data,
        epochs=config.epochs,
        lr=config.lr,
        schedule="cosine",
        warmup_epochs=WARMUP_EPOCHS,
        limit=config.limit,
        resume=None,
        plot=None,
    )


def score(network: MLP, base: Base, mnist: Mnist, examples: Examples) -> Scores:
    """MNIST test and validation accuracy, and accuracy on each side of the examples."""
    mean, std = base.mean, base.std
    validation = (predict_in_batches(network, mnist.x_val).argmax(axis=1) == mnist.y_val).mean()
    return Scores(
        mnist_test=accuracy(network, mnist.test_images, mnist.test_labels, mean, std) or 0.0,
        validation=float(validation),
        held_out=accuracy(network, examples.held_images, examples.held_labels, mean, std),
        trained_on=accuracy(network, examples.learn_images, examples.learn_labels, mean, std),
    )


# ------------------------------------------------------------------------------ training
def train(
    state: TrainingState,
    train_config: TrainConfig,
    config: FinetuneConfig,
    base: Base,
    mnist: Mnist,
    examples: Examples,
    log: Log,
) -> list[dict[str, Any]]:
    """`config.epochs` passes of the base run's loop over MNIST plus example rows (drawn afresh
    every epoch, `example_rows`); returns each epoch's history row."""
    data = Dataset(
        x_train=np.empty((0, 784), np.float32),
        images_train=mnist.train_images,
        pen_train=pen_versions(train_config, mnist.train_images, log),
        y_train=mnist.train_labels,
        x_val=mnist.x_val,
        y_val=mnist.y_val,
        mean=base.mean,
        std=base.std,
        data_dir=mnist.data_dir,
        checksums=mnist.checksums,
    )
    if train_config.strokes > 0:
        add_stroke_drawings(train_config, data, log)
    pen = pen_versions(train_config, examples.learn_images, lambda _: None)
    # Example rows per epoch: `mix` of MNIST digits + example rows.
    wanted = max(1, round(len(mnist.train_labels) * config.mix / (1 - config.mix)))
    history = []
    for epoch in range(config.epochs):
        clock = time.perf_counter()
        rows = example_rows(len(examples.learn_labels), wanted, state.rng)
        epoch_data = with_examples(data, examples, pen, rows, train_config.augment)
        progress = ProgressBar(len(epoch_data.y_train), f"epoch {epoch + 1}/{config.epochs}")
        row = train_epoch(train_config, state, epoch_data, progress)
        state.epoch += 1
        now = score(state.network, base, mnist, examples)
        row.update(val_accuracy=now.validation, held_out_accuracy=now.held_out)
        row["seconds"] = round(time.perf_counter() - clock, 1)
        history.append(row)
        note = f"  val {_percent(now.validation)}  held-out examples {_percent(now.held_out)}"
        progress.close(len(epoch_data.y_train), row["train_loss"], row["train_accuracy"], note)
    return history


# ------------------------------------------------------------------------------ the run
def finetune(config: FinetuneConfig, stored: StoredSet, log: Log = print) -> Outcome:
    """Fine-tune `config.weights` on `stored` and MNIST; write `config.out` unless refused.

    Raises FinetuneError, WeightFileError, DataError, DataNotFoundError, TrainingDivergedError
    or OSError (the write itself) with a one-line message; a failed write leaves no file.
    """
    started = time.perf_counter()
    out = Path(config.out)
    check_out(out)
    base = load_base(Path(config.weights) if config.weights else shipped_weights())
    train_config = recipe(base.metadata, config)
    examples = split_examples(stored, config.holdout, log)
    mnist = load_mnist_split(train_config, base, log)
    rng = np.random.default_rng(config.seed)  # dropout, shuffling, augmentation, example rows
    network = use_fast_layers(
        MLP(base.network.layer_sizes, train_config.activation, train_config.dropout, rng=rng)
    )
    network.load_parameters(dict(base.network.parameters()))
    optimizer = make_optimizer(
        train_config.optimizer, config.lr, train_config.momentum, train_config.nesterov
    )
    before = score(network, base, mnist, examples)
    robustness_before = _robustness(network, base, mnist, config)

    state = TrainingState(network=network, optimizer=optimizer, rng=rng)
    history = train(state, train_config, config, base, mnist, examples, log)
    storage_dtype = str(base.metadata.get("storage_dtype", "float32"))
    round_to_storage(network, storage_dtype)  # score exactly what the file will hold
    after = score(network, base, mnist, examples)
    log(_table(before, after, examples.counts))

    drop = before.mnist_test - after.mnist_test
    too_far = drop > MAX_TEST_DROP + 1e-12  # the margin: float differences of exact counts
    record = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": {
            "file": base.path.name,
            "sha256": sha256_file(base.path),
            "created": base.metadata.get("created"),
        },
        "database": stored.source,
        "examples": examples.counts,
        "mnist_training_digits": len(mnist.train_labels),
        "config": config.to_dict(),
        "recipe": {name: getattr(train_config, name) for name in RECIPE_FIELDS},
        "history": history,
        "before": dataclasses.asdict(before),
        "after": dataclasses.asdict(after),
        "data_sha256": mnist.checksums,
        "forced": too_far,
    }
    if too_far:
        warning = (
            f"MNIST test accuracy dropped by {drop * 100:.2f} points "
            f"({before.mnist_test * 100:.2f}% -> {after.mnist_test * 100:.2f}%), more than "
            f"the {MAX_TEST_DROP * 100:.1f} allowed"
        )
        if not config.force:
            print(
                f"digits finetune: REFUSED: {warning}; {out} was not written "
                "(try a smaller --lr or --mix, or fewer --epochs; --force writes it anyway)",
                file=sys.stderr,
            )
            return Outcome(before, after, False, record)
        print(f"digits finetune: WARNING: {warning}; writing anyway (--force)", file=sys.stderr)

    metadata = new_metadata(network, base, mnist, after)
    if config.robustness:
        metadata["robustness"] = _robustness(network, base, mnist, config)
        record["robustness"] = {"before": robustness_before, "after": metadata["robustness"]}
        log(_robustness_table(robustness_before or {}, metadata["robustness"]))
    record["seconds"] = round(time.perf_counter() - started, 1)
    metadata[RECORD] = [*(metadata.get(RECORD) or []), record]
    save_weights(out, network, metadata, storage_dtype, groups=base.groups)
    temperature = metadata["calibration"]["temperature"]
    log(f"wrote     {out} (temperature {temperature:.3f}; {record['seconds']:.0f} s in all)")
    if (metadata.get(VERDICT_GROUP) or {}).get("digit_view"):
        log(
            "the verdict classifier reads the network it was fitted on; refit it for the new "
            f"weights: python -m model.training.verdict --weights {out}"
        )
    return Outcome(before, after, True, record)


def new_metadata(network: MLP, base: Base, mnist: Mnist, after: Scores) -> dict[str, Any]:
    """The base file's metadata with what describes the weights measured anew: MNIST test
    metrics and mistakes, validation accuracy, the calibration (on the validation split). The
    base's robustness figures describe other weights and go."""
    report = evaluate(network, mnist.test_images, mnist.test_labels, base.mean, base.std)
    metadata = copy.deepcopy(base.metadata)
    metadata["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    metadata["metrics"] = {
        **(metadata.get("metrics") or {}),
        "val_accuracy": after.validation,
        "test_accuracy": report["accuracy"],
        "per_class": report["per_class"],
        "confusion": report["confusion"],
        "most_confused": report["most_confused"],
    }
    metadata["mistakes"] = report["mistakes"]
    metadata["calibration"] = calibrate(network.forward(mnist.x_val), mnist.y_val)
    metadata.pop("robustness", None)
    return metadata


def run(config: FinetuneConfig, stored: StoredSet, log: Log = print) -> int:
    """Fine-tune with the command line's exit codes: 0 written, 1 an error (one line),
    REFUSED when MNIST test accuracy dropped too far, 130 on Ctrl-C (nothing written)."""
    try:
        outcome = finetune(config, stored, log)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {config.out} was not written", file=sys.stderr)
        return 130
    except (
        FinetuneError,
        WeightFileError,
        DataError,
        DataNotFoundError,
        TrainingDivergedError,
    ) as error:
        print(f"digits finetune: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the write: disk full, folder gone; an old file is untouched
        print(f"digits finetune: cannot write {config.out}: {error.strerror}", file=sys.stderr)
        return 1
    return 0 if outcome.written else REFUSED


# ------------------------------------------------------------------------------ printing
def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _robustness(
    network: MLP, base: Base, mnist: Mnist, config: FinetuneConfig
) -> dict[str, float] | None:
    return robustness_if_asked(
        config.robustness,
        network,
        mnist.test_images,
        mnist.test_labels,
        base.mean,
        base.std,
        config.seed,
    )


def _table(before: Scores, after: Scores, counts: dict[str, int]) -> str:
    """Before and after, one line per score."""
    lines = [f"{'':<32} {'before':>8} {'after':>8}"]
    rows = [
        ("MNIST test", before.mnist_test, after.mnist_test),
        ("MNIST validation", before.validation, after.validation),
        (f"held-out examples ({counts['held_out']:,})", before.held_out, after.held_out),
        (f"trained-on examples ({counts['trained_on']:,})", before.trained_on, after.trained_on),
    ]
    for name, old, new in rows:
        change = "" if old is None or new is None else f"  ({(new - old) * 100:+.2f})"
        lines.append(f"{name:<32} {_percent(old):>8} {_percent(new):>8}{change}")
    return "\n".join(lines)


def _robustness_table(before: dict[str, float], after: dict[str, float]) -> str:
    lines = [f"{'robustness (MNIST test, through the recipe)':<44} {'before':>8} {'after':>8}"]
    for name, value in after.items():
        lines.append(f"  {name:<42} {_percent(before.get(name)):>8} {_percent(value):>8}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ CLI flags
def add_finetune_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per FinetuneConfig field (`holdout` -> `--holdout`), typed by the field; a
    field without a default is a required flag, a bool one a switch."""
    hints = typing.get_type_hints(FinetuneConfig)
    for f in dataclasses.fields(FinetuneConfig):
        hint = hints[f.name]
        help_text = f.metadata["help"].replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": f.name}
        if f.default is dataclasses.MISSING:
            kwargs.update(required=True, metavar="PATH")
        elif hint is bool:
            kwargs["action"] = "store_true"
        elif typing.get_origin(hint) in (types.UnionType, typing.Union):
            kwargs.update(default=f.default, metavar=f.metadata.get("metavar", "PATH"))
        else:
            kwargs.update(type=hint, default=f.default)
            help_text += " (default: %(default)s)"
        parser.add_argument("--" + f.name.replace("_", "-"), help=help_text, **kwargs)


def config_from_args(args: argparse.Namespace) -> FinetuneConfig:
    """The config for the flags `add_finetune_flags` parsed; ValueError for a bad value."""
    fields = dataclasses.fields(FinetuneConfig)
    return FinetuneConfig(**{f.name: getattr(args, f.name) for f in fields})

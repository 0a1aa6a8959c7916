"""Train the MLP on MNIST: `digits train [flags]` or `python -m model.train [flags]`.

One entry point, one frozen `TrainConfig`. A validation split held out from the training set
picks the best epoch; the test set is scored once, on the finished model. Every epoch writes
a checkpoint atomically, and `--resume` continues bit-identically to an uninterrupted run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data.augment import augment
from model.data.mnist import (
    DataError,
    DataNotFoundError,
    data_files,
    load_mnist,
    resolve_data_dir,
    sha256_file,
)
from model.data.styles import add_style_strokes
from model.evaluation.calibration import calibrate
from model.evaluation.metrics import evaluate, predict_in_batches
from model.evaluation.robustness import format_table, robustness_report
from model.fast.training import train_step_gradients
from model.files import (
    UnwritableError,
    WeightFileError,
    prepare_file,
    prepare_folder,
    remove_empty_folders,
    round_to_storage,
    save_weights,
)
from model.nn.mlp import MLP
from model.serving.preprocess import normalize
from model.training.checkpoint import (
    TrainingState,
    load_checkpoint,
    new_state,
    save_checkpoint,
)
from model.training.config import (
    RESUMABLE_OVERRIDES,
    TrainConfig,
    add_config_flags,
    config_from_args,
    flag,
    format_config,
)
from model.training.dataset import Dataset, Log, load_dataset
from model.training.plots import write_training_plots
from model.training.progress import ProgressBar

# What `digits train --help` and `python -m model.train --help` say the command does.
DESCRIPTION = "Train the network on MNIST and write a weight file."

# Gradient norms are a diagnostic: every 8th batch estimates the epoch's mean well, and
# reading every weight gradient once more per batch cost about 1% of a training step.
GRAD_NORM_EVERY = 8


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint and weights are untouched."""


# ------------------------------------------------------------------------------ schedule
def learning_rate(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Peak lr with linear warm-up, then cosine decay to zero, step decay, or constant.

    `config.schedule` is one of `model.training.config.SCHEDULES`, the choices of --schedule.
    """
    epoch_float = step / steps_per_epoch
    warmup_steps = config.warmup_epochs * steps_per_epoch
    if step < warmup_steps:
        return config.lr * (step + 1) / warmup_steps
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        progress = (step - warmup_steps) / max(total - warmup_steps, 1)
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    if config.schedule == "step":
        return config.lr * config.step_gamma ** int(epoch_float // config.step_every)
    return config.lr


# ------------------------------------------------------------------------------ loop
def training_batch(
    config: TrainConfig, state: TrainingState, data: Dataset, batch: NDArray[np.intp]
) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """The network's input and labels for the training rows `batch`: (n, 784) normalised, (n,).

    Without augmentation or strokes, rows of the pre-normalised set. Otherwise a share
    `strokes` of the rows is swapped for real pen-tablet drawings, and with augmentation each
    digit is distorted afresh (optionally first re-drawn with a constant pen, or given a
    European style stroke).
    """
    y = data.y_train[batch]
    if not config.augment and data.stroke_images is None:
        return data.x_train[batch], y
    source = data.images_train[batch]
    if data.pen_train is not None:
        use_pen = state.rng.random(len(batch)) < config.aug_pen
        source = np.where(use_pen[:, None, None], data.pen_train[batch], source)
    if data.stroke_images is not None and data.stroke_labels is not None:
        swap = np.flatnonzero(state.rng.random(len(batch)) < config.strokes)
        picks = state.rng.integers(0, len(data.stroke_labels), len(swap))
        source, y = source.copy(), y.copy()
        source[swap], y[swap] = data.stroke_images[picks], data.stroke_labels[picks]
    if not config.augment:
        return normalize(source.reshape(len(batch), -1), data.mean, data.std), y
    if config.aug_style > 0:
        source = add_style_strokes(source, y, state.rng, config.aug_style)
    distorted = augment(source * np.float32(1 / 255), state.rng, config.augment_params)
    x = normalize(distorted.reshape(len(batch), -1) * np.float32(255), data.mean, data.std)
    return x, y


def train_epoch(
    config: TrainConfig, state: TrainingState, data: Dataset, progress: ProgressBar
) -> dict[str, Any]:
    """One shuffled pass over the training set; returns this epoch's history row."""
    network, optimizer = state.network, state.optimizer
    n = len(data.y_train)
    steps_per_epoch = math.ceil(n / config.batch_size)
    order = state.rng.permutation(n)
    parameters, gradients = network.parameters(), network.gradients()
    weight_grads = [d.gradients["W"] for d in network.dense]
    loss_sum, correct, seen = 0.0, 0, 0
    grad_norm_sum, norm_samples = np.zeros(len(weight_grads)), 0
    for step in range(steps_per_epoch):
        batch = order[step * config.batch_size : (step + 1) * config.batch_size]
        x, y = training_batch(config, state, data, batch)
        optimizer.lr = learning_rate(config, state.epoch * steps_per_epoch + step, steps_per_epoch)
        # The textbook steps: forward, loss, backward, update.
        loss, probabilities = train_step_gradients(network, x, y, config.l2, config.label_smoothing)
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"loss became {loss} at epoch {state.epoch + 1}, step {step + 1} "
                f"(lr {optimizer.lr:.3g}); try a smaller --lr. Nothing was overwritten."
            )
        optimizer.step(parameters, gradients)
        if config.max_norm > 0:
            network.apply_max_norm(config.max_norm)
        loss_sum += loss * len(batch)
        correct += int((probabilities.argmax(axis=1) == y).sum())
        seen += len(batch)
        if step % GRAD_NORM_EVERY == 0:
            grad_norm_sum += [math.sqrt(float(np.vdot(g, g))) for g in weight_grads]
            norm_samples += 1
        progress.update(seen, loss_sum / seen, correct / seen)
    return {
        "epoch": state.epoch + 1,
        "train_loss": loss_sum / seen,
        "train_accuracy": correct / seen,
        "lr_end": optimizer.lr,
        "grad_norms": [float(g) for g in grad_norm_sum / norm_samples],
    }


def fit(config: TrainConfig, state: TrainingState, data: Dataset, log: Log) -> None:
    """Train from `state.epoch` to `config.epochs`, checkpointing after every epoch."""
    checkpoint = Path(config.checkpoint_path)
    if state.epoch == 0:
        save_checkpoint(checkpoint, config, state, data)  # so even epoch 1 can be resumed
    while state.epoch < config.epochs:
        started = time.perf_counter()
        progress = ProgressBar(len(data.y_train), f"epoch {state.epoch + 1}/{config.epochs}")
        row = train_epoch(config, state, data, progress)
        predicted = predict_in_batches(state.network, data.x_val).argmax(axis=1)
        row["val_accuracy"] = float((predicted == data.y_val).mean())
        strokes_note = ""
        if data.stroke_val_x is not None:
            # Watched, never used to pick the epoch: the held-out writers stay unseen.
            read = predict_in_batches(state.network, data.stroke_val_x).argmax(axis=1)
            row["strokes_val_accuracy"] = float((read == data.stroke_val_y).mean())
            strokes_note = f"  held-out writers {row['strokes_val_accuracy'] * 100:.2f}%"
        row["seconds"] = round(time.perf_counter() - started, 3)
        state.epoch += 1
        state.history.append(row)
        marker = ""
        if row["val_accuracy"] > state.best_val_accuracy:
            state.best_val_accuracy = row["val_accuracy"]
            state.best_epoch = state.epoch
            state.best_parameters = {k: v.copy() for k, v in state.network.parameters().items()}
            marker = "  *best"
        progress.close(
            len(data.y_train),
            row["train_loss"],
            row["train_accuracy"],
            f"  val {row['val_accuracy'] * 100:.2f}%{strokes_note}{marker}",
        )
        save_checkpoint(checkpoint, config, state, data)


def finish(config: TrainConfig, state: TrainingState, data: Dataset, log: Log) -> dict[str, Any]:
    """Restore the best epoch, score the test set once, write the weight file."""
    network = state.network
    network.load_parameters(dict(state.best_parameters))
    if config.weights_dtype != "float32":
        round_to_storage(network, config.weights_dtype)  # score exactly what ships
        log(f"weights   rounded to {config.weights_dtype} for storage")
    test_images, test_labels = load_mnist(data.data_dir, "test")
    report = evaluate(network, test_images, test_labels, data.mean, data.std)
    checksums = dict(data.checksums)
    checksums.update({p.name: sha256_file(p) for p in data_files(data.data_dir, "test")})
    metadata = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "normalization": {"mean": data.mean, "std": data.std},
        "config": config.to_dict(),
        "history": state.history,
        "best_epoch": state.best_epoch,
        "metrics": {
            "val_accuracy": state.best_val_accuracy,
            "test_accuracy": report["accuracy"],
            "per_class": report["per_class"],
            "confusion": report["confusion"],
            "most_confused": report["most_confused"],
        },
        "mistakes": report["mistakes"],
        "data_sha256": checksums,
        "training_seconds": round(sum(row["seconds"] for row in state.history), 1),
    }
    robustness = robustness_if_asked(
        config.robustness, network, test_images, test_labels, data.mean, data.std, config.seed
    )
    if robustness is not None:
        metadata["robustness"] = robustness
        log("robustness on the test set (each through the serving recipe):")
        log(format_table(robustness))
    metadata["calibration"] = calibrate(network.forward(data.x_val), data.y_val)
    calibration = metadata["calibration"]
    log(
        f"calibration: temperature {calibration['temperature']:.3f}, "
        f"ECE {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}"
    )
    written = save_weights(Path(config.out), network, metadata, config.weights_dtype)
    log(
        f"best epoch {state.best_epoch}: validation {state.best_val_accuracy * 100:.2f}%, "
        f"test {report['accuracy'] * 100:.2f}%  ->  {config.out}"
    )
    if config.plot:
        for path in write_training_plots(state.history, Path(config.plot)):
            log(f"plot      {path}")
    return written


def robustness_if_asked(
    asked: bool,
    network: MLP,
    images: NDArray[np.uint8],
    labels: NDArray[np.integer],
    mean: float,
    std: float,
    seed: int,
) -> dict[str, float] | None:
    """The robustness report of `network` on the test digits, or None when not asked: the
    `--robustness` of `digits train` (on by default) and `digits finetune` (off by default).
    On MNIST's 10,000 test digits it takes over a minute of one core, more than the default
    training itself, so a quick run can skip it. The run's seed draws the conditions: the
    same run reports the same figures."""
    if not asked:
        return None
    return robustness_report(network, images, labels, mean, std, seed=seed)


def train(config: TrainConfig, log: Log = print) -> dict[str, Any]:
    """Run a whole training from a config; returns the metadata written to `config.out`."""
    if config.resume:
        saved_config, state = load_checkpoint(Path(config.resume))
        config = replace(saved_config, **{k: getattr(config, k) for k in RESUMABLE_OVERRIDES})
        log(f"resuming  {config.resume} after epoch {state.epoch}")
    else:
        state = new_state(config)
    # Missing data is said before the long config listing, not after it.
    for split in ("train", "test"):
        data_files(resolve_data_dir(config.data), split)
    log("config\n" + format_config(config))
    data = load_dataset(config, log)
    fit(config, state, data, log)
    return finish(config, state, data, log)


def parse_args(argv: Sequence[str] | None) -> TrainConfig:
    """The config for `python -m model.train` flags; with --resume, only flags that keep the
    run identical (the same parser and rule as `digits train`, app/cli.py)."""
    parser = argparse.ArgumentParser(prog="digits train", description=DESCRIPTION)
    add_config_flags(parser)
    args = parser.parse_args(argv)
    try:
        return config_from_args(args)
    except ValueError as error:
        parser.error(str(error))


def prepare_outputs(config: TrainConfig) -> list[tuple[str, Path]]:
    """Check, before any training, that the weight file, the checkpoint and the curves can be
    written where asked (`prepare_file`, `prepare_folder`): a typo costs seconds, not a run.
    Missing folders are created, as users expect of `--out runs/a.npz`; returns each created
    folder, outermost first, with the flag that asked for it. UnwritableError naming the flag
    otherwise, having removed the folders it created."""
    targets = [("out", config.out), ("checkpoint", config.checkpoint_path)]
    if config.plot:
        targets.append(("plot", config.plot))
    created: list[tuple[str, Path]] = []
    for name, target in targets:
        prepare = prepare_folder if name == "plot" else prepare_file
        try:
            created += [(flag(name), folder) for folder in prepare(Path(target))]
        except UnwritableError as error:
            remove_empty_folders([folder for _, folder in created])
            raise UnwritableError(f"cannot write {flag(name)} {target}: {error}") from None
    return created


def run(config: TrainConfig) -> int:
    """Train, with the command line's exit codes: 0; 1 after a one-line error; 2, before any
    training, when an output cannot be written (a bad flag, as argparse's usage errors); 130 on
    Ctrl-C. A failed run removes the folders it created if they are still empty."""
    try:
        created = prepare_outputs(config)
    except UnwritableError as error:
        print(f"digits train: {error}", file=sys.stderr)
        return 2
    # One line per flag that made folders, naming the innermost (it names the others too).
    for name, folder in dict(created).items():
        print(f"digits train: created the folder {folder} for {name}", file=sys.stderr)
    code = _train_with_exit_code(config)
    if code != 0:
        remove_empty_folders([folder for _, folder in created])
    return code


def _train_with_exit_code(config: TrainConfig) -> int:
    try:
        train(config)
    except KeyboardInterrupt:
        checkpoint = config.checkpoint_path
        if Path(checkpoint).is_file():  # written before the first epoch, then after each
            saved = f"the run so far (up to the last finished epoch) is saved in {checkpoint}"
            print(f"\ninterrupted: {saved}; continue with --resume {checkpoint}", file=sys.stderr)
        else:
            print("\ninterrupted before training began: nothing was saved", file=sys.stderr)
        return 130
    except (DataError, DataNotFoundError, WeightFileError, TrainingDivergedError, ValueError) as e:
        print(f"digits train: {e}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. a write after the check: the disk full, a folder removed
        where = f"{error.filename}: " if error.filename else ""
        print(f"digits train: {where}{error.strerror or error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

"""What fine-tuning reads: the base weight file, the stored examples split by profile, and MNIST
split as the base run split it. `model.training.finetune` trains on them.

The stored examples arrive from the command line (app/cli.py reads the example store) as a
`StoredSet`: images, labels, and one group key each, the profile (or, for an example without
one, a key of its own). `held_out` keeps a profile's examples together on one side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data.mnist import SPLITS, data_files, load_mnist, resolve_data_dir, sha256_file
from model.evaluation.metrics import predict_in_batches
from model.files import (
    METADATA_KEY,
    UnwritableError,
    prepare_file,
    read_npz,
    read_weight_file,
    split_groups,
)
from model.nn.mlp import MLP
from model.serving.preprocess import normalize
from model.training.config import TrainConfig
from model.training.dataset import Dataset, train_validation_split

Log = Callable[[str], None]
MIN_HELD_OUT = 30  # below this many held-out examples one example moves the score 3+ points


class FinetuneError(Exception):
    """Fine-tuning cannot go on; the message says why in one line."""


def check_out(path: Path) -> list[Path]:
    """FinetuneError unless a weight file can be written at `path` (`prepare_file`: its folder
    created if missing, and tried), checked before any work; returns the folders created."""
    try:
        return prepare_file(path)
    except UnwritableError as error:
        raise FinetuneError(f"cannot write --out {path}: {error}") from None


# ------------------------------------------------------------------------------ the base file
@dataclass(frozen=True)
class Base:
    """The weight file fine-tuning starts from: its network (float32, no dropout), metadata,
    normalisation, and optional groups exactly as stored (carried over byte for byte)."""

    path: Path
    network: MLP
    metadata: dict[str, Any]
    groups: dict[str, dict[str, NDArray[Any]]]
    mean: float
    std: float


def load_base(path: Path) -> Base:
    """The checked weight file at `path`; FinetuneError if it records no normalisation."""
    loaded = read_weight_file(path)
    stored = read_npz(path)
    stored.pop(METADATA_KEY)
    _, groups = split_groups(stored)
    norm = loaded.metadata.get("normalization") or {}
    if "mean" not in norm or "std" not in norm:
        raise FinetuneError(f"{path} records no normalisation mean and std")
    return Base(path, loaded.network, loaded.metadata, groups, norm["mean"], norm["std"])


# ------------------------------------------------------------------------------ stored examples
@dataclass(frozen=True)
class StoredSet:
    """Stored examples: images (n, 28, 28) uint8, the inputs the network saw; labels (n,);
    groups (n,), the key that keeps examples on one side of the held-out split; source, where
    they came from, without any password."""

    images: NDArray[np.uint8]
    labels: NDArray[np.uint8]
    groups: tuple[str, ...]
    source: str

    @classmethod
    def of(
        cls,
        images: Sequence[NDArray[np.uint8]],
        labels: Sequence[int],
        groups: Sequence[str],
        source: str,
    ) -> StoredSet:
        """From one (28, 28) uint8 image, label and group key per example (none is fine)."""
        if not len(images) == len(labels) == len(groups):
            raise ValueError(f"{len(images)} images, {len(labels)} labels, {len(groups)} groups")
        stacked = np.stack(images) if len(images) else np.zeros((0, 28, 28), np.uint8)
        return cls(stacked.astype(np.uint8), np.asarray(labels, np.uint8), tuple(groups), source)


def held_out(groups: Sequence[str], share: float) -> NDArray[np.bool_]:
    """(n,) True for the examples held out: those whose group key hashes below `share`.

    SHA-256 of the key, read as a number in [0, 1): a key always lands on the same side,
    whatever else the store holds, and all of a profile's examples land together.
    """
    place = [int.from_bytes(hashlib.sha256(g.encode()).digest()[:8], "big") / 2**64 for g in groups]
    return np.asarray(place, dtype=np.float64) < share


@dataclass(frozen=True)
class Examples:
    """The stored examples on each side of the held-out split: (n, 28, 28) uint8, (n,)."""

    learn_images: NDArray[np.uint8]
    learn_labels: NDArray[np.uint8]
    held_images: NDArray[np.uint8]
    held_labels: NDArray[np.uint8]
    counts: dict[str, int]  # examples and profiles on each side


def split_examples(stored: StoredSet, share: float, log: Log) -> Examples:
    """Hold out whole profiles (`held_out`); FinetuneError when nothing is left to learn."""
    if not len(stored.labels):
        raise FinetuneError(f"{stored.source} holds no examples: nothing to fine-tune on")
    held = held_out(stored.groups, share)
    groups = np.asarray(stored.groups, dtype=object)
    counts = {
        "total": len(stored.labels),
        "trained_on": int((~held).sum()),
        "held_out": int(held.sum()),
        "trained_on_groups": len(set(groups[~held])),
        "held_out_groups": len(set(groups[held])),
    }
    if not counts["trained_on"]:
        raise FinetuneError(
            f"all {counts['held_out']} examples ({counts['held_out_groups']} profiles) fall in "
            "the held-out part: too few to fine-tune on; store more, or lower --holdout"
        )
    log(
        f"examples  {stored.source}: {counts['total']:,}; trained on "
        f"{counts['trained_on']:,} ({counts['trained_on_groups']:,} profiles), held out "
        f"{counts['held_out']:,} ({counts['held_out_groups']:,} profiles)"
    )
    if counts["held_out"] == 0:
        log("note      no example is held out: the examples are scored only on themselves")
    elif counts["held_out"] < MIN_HELD_OUT:
        log(
            f"note      only {counts['held_out']} held-out examples: too few for a reliable "
            f"score (one example moves it {100 / counts['held_out']:.1f} points)"
        )
    learn, images, labels = ~held, stored.images, stored.labels
    return Examples(images[learn], labels[learn], images[held], labels[held], counts)


def example_rows(count: int, wanted: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """`wanted` row numbers of `count` examples, shuffled: each example wanted // count times,
    and a random few once more (so all equally often, give or take one)."""
    full, extra = divmod(wanted, count)
    rows = np.concatenate(
        [np.tile(np.arange(count), full), rng.choice(count, extra, replace=False)]
    )
    return rng.permutation(rows)


# ------------------------------------------------------------------------------ MNIST
@dataclass(frozen=True)
class Mnist:
    """MNIST as the base run split it: training digits (n, 28, 28) and labels, the validation
    split normalised (v, 784) with labels, the test set (t, 28, 28), the files' checksums."""

    train_images: NDArray[np.uint8]
    train_labels: NDArray[np.uint8]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.uint8]
    test_images: NDArray[np.uint8]
    test_labels: NDArray[np.uint8]
    data_dir: Path
    checksums: dict[str, str]


def load_mnist_split(train_config: TrainConfig, base: Base, log: Log) -> Mnist:
    """The base run's training digits less its validation split (same seed, same size; a
    fifth of a smaller set), at most `limit` of them; that validation split; the test set."""
    data_dir = resolve_data_dir(train_config.data)
    images, labels = load_mnist(data_dir, "train")
    val_size = min(train_config.val_size, len(labels) // 5)
    train_idx, val_idx = train_validation_split(len(labels), train_config.seed, val_size)
    if train_config.limit:
        train_idx = train_idx[: train_config.limit]
    test_images, test_labels = load_mnist(data_dir, "test")
    counts = f"{len(train_idx):,} training, {len(val_idx):,} validation, {len(test_labels):,} test"
    log(f"mnist     {counts}")
    return Mnist(
        images[train_idx],
        labels[train_idx],
        normalize(images[val_idx].reshape(len(val_idx), -1), base.mean, base.std),
        labels[val_idx],
        test_images,
        test_labels,
        data_dir,
        {p.name: sha256_file(p) for split in SPLITS for p in data_files(data_dir, split)},
    )


def with_examples(
    data: Dataset,
    examples: Examples,
    pen: NDArray[np.uint8] | None,
    rows: NDArray[np.intp],
    augment: bool,
) -> Dataset:
    """`data` (MNIST) with the example `rows` after its digits: (m + len(rows), 28, 28), and
    their pen re-drawn versions when the recipe uses them."""
    images = np.concatenate([data.images_train, examples.learn_images[rows]])
    pen_train = None
    if pen is not None and data.pen_train is not None:
        pen_train = np.concatenate([data.pen_train, pen[rows]])
    return replace(
        data,
        images_train=images,
        pen_train=pen_train,
        y_train=np.concatenate([data.y_train, examples.learn_labels[rows]]),
        # Without augmentation the loop reads normalised rows: made once per epoch.
        x_train=data.x_train
        if augment
        else normalize(images.reshape(len(images), -1), data.mean, data.std),
    )


def accuracy(
    network: MLP, images: NDArray[np.uint8], labels: NDArray[np.integer], mean: float, std: float
) -> float | None:
    """Share of images (n, 28, 28) read as their labels (n,); None for no images."""
    if not len(labels):
        return None
    x = normalize(images.reshape(len(images), -1), mean, std)  # (n, 784)
    return float((predict_in_batches(network, x).argmax(axis=1) == labels).mean())

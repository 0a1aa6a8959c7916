"""The training data: MNIST split into train and validation by a seeded permutation, normalised.

The validation split is held out from the training set to pick the best epoch; the test set is
read only by `finish`, once, for the finished model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from model.data import canvas, unipen
from model.data.mnist import data_files, load_mnist, resolve_data_dir, sha256_file
from model.data.pen import pen_redraw_dataset
from model.serving.preprocess import ink_map, normalize, to_mnist
from model.training.config import TrainConfig

Log = Callable[[str], None]


@dataclass
class Dataset:
    """Normalised training and validation arrays, (n, 784) float32 and (n,) labels."""

    x_train: NDArray[np.float32]  # normalised, for training without augmentation
    images_train: NDArray[np.uint8]  # (n, 28, 28) raw, for augmentation
    pen_train: NDArray[np.uint8] | None  # the same digits re-drawn with a constant pen
    y_train: NDArray[np.uint8]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.uint8]
    mean: float
    std: float
    data_dir: Path
    checksums: dict[str, str]
    # Real pen-tablet digits drawn as canvas drawings, through the recipe (None without
    # --strokes): the training writers' (n, 28, 28) with labels, and one drawing of each
    # held-out writer's digit, normalised (m, 784), to watch during training.
    stroke_images: NDArray[np.uint8] | None = None
    stroke_labels: NDArray[np.uint8] | None = None
    stroke_val_x: NDArray[np.float32] | None = None
    stroke_val_y: NDArray[np.uint8] | None = None


def load_dataset(config: TrainConfig, log: Log) -> Dataset:
    """Split the MNIST training set into train/validation and normalise both."""
    data_dir = resolve_data_dir(config.data)
    images, labels = load_mnist(data_dir, "train")
    if config.val_size >= len(labels):
        raise ValueError(f"--val-size {config.val_size} leaves no training data ({len(labels)})")
    train_idx, val_idx = train_validation_split(len(labels), config.seed, config.val_size)
    if config.limit:
        train_idx = train_idx[: config.limit]
    train_images = images[train_idx].reshape(len(train_idx), -1)
    val_images = images[val_idx].reshape(len(val_idx), -1)
    mean, std = pixel_statistics(train_images)
    log(f"data      {data_dir}: {len(train_idx):,} train, {len(val_idx):,} validation")
    log(f"normalise mean {mean:.4f}  std {std:.4f}")
    dataset = Dataset(
        # Augmented runs normalise each distorted batch instead of the whole set up front.
        x_train=np.empty((0, 784), np.float32)
        if config.augment
        else normalize(train_images, mean, std),
        images_train=images[train_idx],
        pen_train=pen_versions(config, images[train_idx], log),
        y_train=labels[train_idx],
        x_val=normalize(val_images, mean, std),
        y_val=labels[val_idx],
        mean=mean,
        std=std,
        data_dir=data_dir,
        checksums={p.name: sha256_file(p) for p in data_files(data_dir, "train")},
    )
    if config.strokes > 0:
        add_stroke_drawings(config, dataset, log)
    return dataset


def train_validation_split(
    count: int, seed: int, val_size: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row numbers of the training and validation parts of `count` training digits.

    Its own stream, so the split does not depend on how many numbers the model drew; fine-tuning
    (model/training/finetune.py) holds the same digits out again.
    """
    order = np.random.default_rng([seed, 7]).permutation(count)
    return order[val_size:], order[:val_size]


def pixel_statistics(images: NDArray[np.uint8]) -> tuple[float, float]:
    """Global mean and std of the pixels scaled to [0, 1] (about 0.1307 and 0.3081 on MNIST).

    Computed from the 256-bin histogram: exact, and without a float copy of the whole set.
    """
    counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256) / 255.0
    total = counts.sum()
    mean = float(counts @ levels / total)
    std = float(np.sqrt(counts @ (levels - mean) ** 2 / total))
    return mean, std


def pen_versions(
    config: TrainConfig, images: NDArray[np.uint8], log: Log
) -> NDArray[np.uint8] | None:
    """Pen re-drawn copies of the training digits, made once, when `aug_pen` asks for them."""
    if not (config.augment and config.aug_pen > 0):
        return None
    started = time.perf_counter()
    redrawn = pen_redraw_dataset(images, np.random.default_rng([config.seed, 11]))
    log(f"pen       re-drew {len(images):,} digits in {time.perf_counter() - started:.0f} s")
    return redrawn


def add_stroke_drawings(config: TrainConfig, data: Dataset, log: Log) -> None:
    """Draw the UNIPEN digits as canvas drawings and put them through the recipe, once.

    The training writers' digits, `stroke_variants` drawings each (random size, place and
    brush, as people choose them on the pad), become `data.stroke_images`; one drawing of
    every held-out writer's digit becomes `data.stroke_val_x`. Writers are held out whole
    (`model.data.unipen.split_by_writer`, the split `model.evaluation.writers` scores on).
    """
    started = time.perf_counter()
    path = Path(config.stroke_data) if config.stroke_data else unipen.DIGITS_FILE
    strokes = unipen.load_strokes(path)
    train_records, val_records = unipen.split_by_writer(strokes)
    rng = np.random.default_rng([config.seed, 13])
    if config.limit:  # a quick run draws no more pen digits than it takes MNIST digits
        keep = max(1, config.limit // config.stroke_variants)
        train_records = np.sort(rng.choice(train_records, min(keep, len(train_records)), False))
        val_records = np.sort(rng.choice(val_records, min(config.limit, len(val_records)), False))
    records = np.repeat(train_records, config.stroke_variants)
    data.stroke_images = drawings_to_mnist(strokes, records, rng)
    data.stroke_labels = strokes.labels[records].astype(np.uint8)
    val_images = drawings_to_mnist(strokes, val_records, rng)
    data.stroke_val_x = normalize(val_images.reshape(len(val_records), -1), data.mean, data.std)
    data.stroke_val_y = strokes.labels[val_records].astype(np.uint8)
    data.checksums[path.name] = sha256_file(path)
    log(
        f"strokes   {len(records):,} drawings of {len(train_records):,} digits, "
        f"{len(val_records):,} held-out writers' digits, in {time.perf_counter() - started:.0f} s"
    )


def drawings_to_mnist(
    strokes: unipen.StrokeSet, records: NDArray[np.intp], rng: np.random.Generator
) -> NDArray[np.uint8]:
    """Each record drawn once on the page's canvas (`canvas.random_drawing_params`) and put
    through the serving recipe: (len(records), 28, 28) uint8."""
    out = np.empty((len(records), 28, 28), dtype=np.uint8)
    for i, record in enumerate(records):
        digit = strokes.strokes(int(record))
        drawing = canvas.draw(digit, canvas.random_drawing_params(rng, digit))
        out[i] = to_mnist(ink_map(drawing))
    return out

"""The training data: real pen strokes drawn as canvas drawings, from the training writers only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.data import unipen
from model.training import dataset
from model.training.config import TrainConfig
from model.training.dataset import Dataset, add_stroke_drawings


def empty_dataset() -> Dataset:
    return Dataset(
        x_train=np.empty((0, 784), np.float32),
        images_train=np.empty((0, 28, 28), np.uint8),
        pen_train=None,
        y_train=np.empty(0, np.uint8),
        x_val=np.empty((0, 784), np.float32),
        y_val=np.empty(0, np.uint8),
        mean=0.13,
        std=0.31,
        data_dir=Path("."),
        checksums={},
    )


def test_a_quick_run_draws_no_more_pen_digits_than_it_is_limited_to() -> None:
    config = TrainConfig(strokes=0.3, stroke_variants=6, limit=30)
    data = empty_dataset()
    add_stroke_drawings(config, data, lambda line: None)
    assert data.stroke_images is not None
    assert data.stroke_labels is not None
    assert data.stroke_val_x is not None
    assert data.stroke_images.shape == (30, 28, 28)  # 5 records, 6 drawings each
    assert data.stroke_val_x.shape == (30, 784)
    # Each drawing is inked and labelled with a digit, six drawings per record in a row.
    assert (data.stroke_images.reshape(30, -1).max(axis=1) == 255).all()
    assert set(data.stroke_labels.tolist()) <= set(range(10))
    assert all(len(set(data.stroke_labels[i : i + 6].tolist())) == 1 for i in range(0, 30, 6))
    assert unipen.DIGITS_FILE.name in data.checksums


def test_the_held_out_writers_are_never_drawn_for_training(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[np.ndarray] = []

    def record_calls(strokes: unipen.StrokeSet, records: np.ndarray, rng: object) -> np.ndarray:
        drawn.append(np.asarray(records))
        return np.zeros((len(records), 28, 28), np.uint8)

    monkeypatch.setattr(dataset, "drawings_to_mnist", record_calls)
    add_stroke_drawings(TrainConfig(strokes=0.3, limit=60, seed=3), empty_dataset(), print)
    strokes = unipen.load_strokes()
    train_records, val_records = unipen.split_by_writer(strokes)
    writers = strokes.writer_of()
    training, watched = drawn
    assert set(training.tolist()) <= set(train_records.tolist())
    assert set(watched.tolist()) <= set(val_records.tolist())
    assert not set(writers[training]) & set(writers[val_records])

"""The training state, and the checkpoint that holds it after every epoch.

A checkpoint holds the network's parameters, the best epoch's parameters, the optimizer's
state, the generator's state and the history, so `--resume` continues bit-identically to an
uninterrupted run. The file format itself is `model.files`'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model import files
from model.fast.training import use_fast_layers
from model.files import WeightFileError
from model.nn.mlp import MLP
from model.nn.optimizers import Optimizer, make_optimizer
from model.training.config import TrainConfig
from model.training.dataset import Dataset


@dataclass
class TrainingState:
    """Everything that changes during training, and so everything a checkpoint holds."""

    network: MLP
    optimizer: Optimizer
    rng: np.random.Generator
    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_accuracy: float = -1.0
    best_parameters: dict[str, NDArray[np.float32]] = field(default_factory=dict)


def new_state(config: TrainConfig) -> TrainingState:
    """A fresh network (with the fast layers), optimizer and generator, seeded by the config."""
    rng = np.random.default_rng(config.seed)
    network = use_fast_layers(
        MLP((784, *config.hidden, 10), config.activation, config.dropout, rng=rng)
    )
    optimizer = make_optimizer(config.optimizer, config.lr, config.momentum, config.nesterov)
    return TrainingState(network=network, optimizer=optimizer, rng=rng)


def save_checkpoint(path: Path, config: TrainConfig, state: TrainingState, data: Dataset) -> None:
    """Everything needed to continue exactly where this epoch ended, written atomically."""
    arrays: dict[str, NDArray[Any]] = {}
    arrays.update({f"param/{k}": v for k, v in state.network.parameters().items()})
    arrays.update({f"best/{k}": v for k, v in state.best_parameters.items()})
    arrays.update({f"opt/{k}": v for k, v in state.optimizer.state_dict().items()})
    metadata = {
        "config": config.to_dict(),
        "epoch": state.epoch,
        "history": state.history,
        "best_epoch": state.best_epoch,
        "best_val_accuracy": state.best_val_accuracy,
        "optimizer_steps": state.optimizer.steps,
        "rng_state": state.rng.bit_generator.state,
        "normalization": {"mean": data.mean, "std": data.std},
        "data_sha256": data.checksums,
    }
    files.save_checkpoint(path, arrays, metadata)


def load_checkpoint(path: Path) -> tuple[TrainConfig, TrainingState]:
    """Rebuild the config and training state a checkpoint was written from."""
    arrays, metadata = files.load_checkpoint(path)

    def group(prefix: str) -> dict[str, NDArray[Any]]:
        return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

    try:
        config = TrainConfig.from_dict(metadata["config"])
        state = new_state(config)
        state.network.load_parameters(group("param/"))
        state.optimizer.load_state_dict(group("opt/"), steps=metadata["optimizer_steps"])
        state.best_parameters = group("best/")
        # Restore the generator in place: the dropout layers hold a reference to it.
        state.rng.bit_generator.state = metadata["rng_state"]
        state.epoch = metadata["epoch"]
        state.history = metadata["history"]
        state.best_epoch = metadata["best_epoch"]
        state.best_val_accuracy = metadata["best_val_accuracy"]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise WeightFileError(f"{path}: damaged checkpoint ({error})") from None
    return config, state

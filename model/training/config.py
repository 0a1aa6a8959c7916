"""The one training configuration: a frozen dataclass whose fields are also the CLI flags.

Each field carries its help text (the reason for its default) in its metadata, and a field
with a fixed set of values names them, taken from where they live, under "choices".
`add_config_flags` turns the fields into flags for `digits train` and `python -m model.train`.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.data.augment import AugmentParams
from model.files import STORAGE_DTYPES, WeightFileError, checkpoint_metadata
from model.nn.activations import ACTIVATIONS
from model.nn.optimizers import OPTIMIZERS

# The learning-rate schedules `model.training.train.learning_rate` implements.
SCHEDULES = ("cosine", "step", "constant")

# On resume these may differ from the checkpoint's config; anything else would change the run.
RESUMABLE_OVERRIDES = (
    "out",
    "checkpoint",
    "plot",
    "data",
    "stroke_data",
    "resume",
    "weights_dtype",
    "robustness",
)


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run. Defaults train the shipped 784-512-256-10 model."""

    data: str | None = field(
        default=None,
        metadata={"help": "MNIST folder (default: $DIGITS_DATA, else the per-user cache)"},
    )
    out: str = field(
        default="mnist_mlp.npz",
        metadata={"help": "the weight file to write, from the best validation epoch"},
    )
    hidden: tuple[int, ...] = field(default=(512, 256), metadata={"help": "hidden layer widths"})
    activation: str = field(
        default="relu",
        metadata={"help": "hidden-layer nonlinearity", "choices": tuple(ACTIVATIONS)},
    )
    epochs: int = field(
        default=20,
        metadata={"help": "passes over the training set; this size stops improving near 20"},
    )
    batch_size: int = field(
        default=128,
        metadata={"help": "examples per step: small for useful noise, big for fast GEMMs"},
    )
    optimizer: str = field(
        default="momentum", metadata={"help": "update rule", "choices": tuple(OPTIMIZERS)}
    )
    lr: float = field(default=0.05, metadata={"help": "peak learning rate; 0.001 suits adam"})
    momentum: float = field(
        default=0.9, metadata={"help": "velocity decay of the momentum optimizer"}
    )
    nesterov: bool = field(
        default=True, metadata={"help": "look-ahead momentum: slightly better, never worse here"}
    )
    schedule: str = field(
        default="cosine",
        metadata={
            "help": "cosine decay to zero, step decay, or constant",
            "choices": SCHEDULES,
        },
    )
    warmup_epochs: float = field(
        default=0.5,
        metadata={"help": "linear warm-up keeps the first steps from overshooting"},
    )
    step_every: int = field(
        default=8,
        metadata={"help": "step schedule: multiply lr by step_gamma every this many epochs"},
    )
    step_gamma: float = field(
        default=0.1,
        metadata={"help": "step schedule: the factor applied every step_every epochs"},
    )
    dropout: tuple[float, ...] = field(
        default=(0.2, 0.3, 0.2),
        metadata={
            "help": "one rate per dense layer input, or one for all; for another --hidden, "
            "0.2 on the input, 0.3 between hidden layers, 0.2 before the output unless given"
        },
    )
    l2: float = field(default=1e-5, metadata={"help": "0.5 * l2 * ||W||^2 on weights, not biases"})
    label_smoothing: float = field(
        default=0.0, metadata={"help": "spread this much target mass over all classes"}
    )
    augment: bool = field(
        default=False,
        metadata={"help": "distort every training batch afresh, see model/data/augment.py"},
    )
    aug_shift: float = field(default=2.0, metadata={"help": "augmentation: max shift in pixels"})
    aug_rotation: float = field(
        default=12.0, metadata={"help": "augmentation: max rotation in degrees"}
    )
    aug_scale: float = field(
        default=0.12, metadata={"help": "augmentation: max relative scale change"}
    )
    aug_shear: float = field(default=0.15, metadata={"help": "augmentation: max shear, a slant"})
    aug_elastic: float = field(
        default=1.2,
        metadata={"help": "augmentation: elastic displacement in pixels, 0 for none"},
    )
    aug_elastic_sigma: float = field(
        default=4.0,
        metadata={"help": "augmentation: smoothness of the elastic field, pixels"},
    )
    aug_thickness: float = field(
        default=0.3, metadata={"help": "augmentation: chance of thicker or thinner strokes"}
    )
    aug_pen: float = field(
        default=0.0,
        metadata={
            "help": "augmentation: chance to train on the digit re-drawn with a constant pen"
        },
    )
    aug_style: float = field(
        default=0.0,
        metadata={"help": "augmentation: chance to give a 7 a cross-bar, a 1 a lead-in flag"},
    )
    strokes: float = field(
        default=0.0,
        metadata={
            "help": "share of each batch taken from real pen-tablet digits (UNIPEN, training "
            "writers only), drawn as canvas drawings and put through the serving recipe"
        },
    )
    stroke_variants: int = field(
        default=6,
        metadata={
            "help": "canvas drawings made of each pen-tablet digit before training, each with "
            "its own size, place and brush"
        },
    )
    stroke_data: str | None = field(
        default=None,
        metadata={"help": "the compact UNIPEN stroke file (default: the one the package ships)"},
    )
    max_norm: float = field(
        default=0.0,
        metadata={"help": "cap each hidden unit's incoming weight norm, 0 for no cap"},
    )
    weights_dtype: str = field(
        default="float32",
        metadata={
            "help": "what the weight file stores; float16 halves it, the math stays float32",
            "choices": STORAGE_DTYPES,
        },
    )
    seed: int = field(
        default=0,
        metadata={"help": "same seed, same model, bit for bit (with the same BLAS thread count)"},
    )
    val_size: int = field(
        default=5000,
        metadata={"help": "held out from the TRAINING set to pick the best epoch"},
    )
    limit: int = field(
        default=0,
        metadata={
            "help": "use only this many training examples (and at most as many pen-stroke "
            "drawings), for quick runs; 0 for all"
        },
    )
    resume: str | None = field(
        default=None,
        metadata={"help": "continue from this checkpoint (default: start afresh)"},
    )
    checkpoint: str | None = field(
        default=None,
        metadata={"help": "where to save per-epoch checkpoints (default: OUT.ckpt.npz)"},
    )
    plot: str | None = field(
        default=None,
        metadata={
            "help": "write loss, accuracy, gradient-norm and learning-rate curves (SVG) into "
            "this folder (default: no curves)"
        },
    )
    robustness: bool = field(
        default=True,
        metadata={
            "help": "score the finished network on shifted, scaled, rotated, thickened, thinned, "
            "re-drawn and photographed test digits and store the figures in the weight file "
            "(slow: the work of `digits evaluate --robustness`; false for quick runs)"
        },
    )

    def __post_init__(self) -> None:
        if len(self.dropout) == 1 and self.hidden:
            # One rate given: use it on every layer input (frozen, hence object.__setattr__).
            object.__setattr__(self, "dropout", self.dropout * (len(self.hidden) + 1))
        # Each message names the flag: the fields are the command line's flags.
        checks = [
            (
                getattr(self, f.name) in f.metadata["choices"],
                f"{flag(f.name)} must be one of {f.metadata['choices']}",
            )
            for f in dataclasses.fields(self)
            if "choices" in f.metadata
        ]
        checks += [
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.lr > 0, "--lr must be positive"),
            # Before the dropout count: with no hidden layer the default rates are one too
            # many, and that message would hide the real mistake.
            (len(self.hidden) >= 1, "--hidden needs at least one size"),
            (all(h >= 1 for h in self.hidden), "--hidden sizes must be positive"),
            (
                len(self.dropout) == len(self.hidden) + 1,
                f"give {len(self.hidden) + 1} --dropout rates, one per dense layer input "
                f"(got {len(self.dropout)})",
            ),
            (all(0 <= r < 1 for r in self.dropout), "--dropout rates must be in [0, 1)"),
            (self.l2 >= 0, "--l2 must be non-negative"),
            (0 <= self.label_smoothing < 1, "--label-smoothing must be in [0, 1)"),
            (self.val_size >= 1, "--val-size must be at least 1"),
            (self.limit >= 0, "--limit must be non-negative"),
            (self.warmup_epochs >= 0, "--warmup-epochs must be non-negative"),
            (self.max_norm >= 0, "--max-norm must be non-negative"),
            (0 <= self.aug_thickness <= 1, "--aug-thickness is a probability in [0, 1]"),
            (0 <= self.aug_pen <= 1, "--aug-pen is a probability in [0, 1]"),
            (0 <= self.aug_style <= 1, "--aug-style is a probability in [0, 1]"),
            (0 <= self.strokes < 1, "--strokes is a share of each batch in [0, 1)"),
            (self.stroke_variants >= 1, "--stroke-variants must be at least 1"),
            (self.aug_elastic_sigma > 0, "--aug-elastic-sigma must be positive"),
            # NumPy's generators take no negative seed, and would say so without the flag.
            (self.seed >= 0, "--seed must be non-negative"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def augment_params(self) -> AugmentParams:
        return AugmentParams(
            max_shift=self.aug_shift,
            max_rotation=self.aug_rotation,
            max_scale=self.aug_scale,
            max_shear=self.aug_shear,
            elastic_alpha=self.aug_elastic,
            elastic_sigma=self.aug_elastic_sigma,
            thickness_prob=self.aug_thickness,
        )

    @property
    def checkpoint_path(self) -> str:
        if self.checkpoint:
            return self.checkpoint
        stem = self.out[: -len(".npz")] if self.out.endswith(".npz") else self.out
        return f"{stem}.ckpt.npz"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in known
        }
        return cls(**kwargs)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------------------- CLI flags
def flag(name: str) -> str:
    """The command-line flag of a config field: `batch_size` -> `--batch-size`."""
    return "--" + name.replace("_", "-")


def _parse_tuple(item_type: type) -> Any:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(item_type(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {item_type.__name__}s, got {text!r}"
            ) from None

    return parse


def parse_bool(text: str) -> bool:
    """A flag's true or false (1/0, yes/no, on/off); argparse's error for anything else."""
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field (`batch_size` -> `--batch-size`), typed by the field.

    tuple -> comma list (A,B,...), bool -> true/false, optional str -> PATH, else the type
    itself. Help comes from the field's metadata, with its default added unless the field is
    optional (the help then says what happens without it). A flag not given is absent from
    the namespace, so `config_from_args` can tell which ones the user set.
    """
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        hint = hints[f.name]
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        help_text = f.metadata["help"].replace("%", "%%")  # argparse %-formats help
        if typing.get_origin(hint) is tuple:
            item_type = typing.get_args(hint)[0]
            kwargs.update(type=_parse_tuple(item_type), metavar="A,B,...")
            default = typing.cast(tuple[Any, ...], f.default)
            help_text += f" (default: {','.join(str(v) for v in default)})"
        elif typing.get_origin(hint) in (types.UnionType, typing.Union):
            kwargs.update(type=str, metavar="PATH")
        elif hint is bool:
            kwargs.update(type=parse_bool, metavar="BOOL")
            help_text += f" (default: {str(f.default).lower()})"
        else:
            kwargs["type"] = hint
            help_text += f" (default: {f.default})"
        parser.add_argument(flag(f.name), help=help_text, **kwargs)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config for the flags `add_config_flags` parsed; the fields' defaults fill the rest
    (--hidden without --dropout gets `default_dropout` for its number of layers).

    Raises ValueError for an invalid value, and when resuming for a flag whose value differs
    from the checkpoint's config (only RESUMABLE_OVERRIDES may).
    """
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {name: value for name, value in vars(args).items() if name in names}
    changed = sorted(set(given) - set(RESUMABLE_OVERRIDES))
    if "hidden" in given and "dropout" not in given:
        given["dropout"] = default_dropout(len(given["hidden"]))
    config = TrainConfig(**given)
    if config.resume and changed:
        # The same command line with --resume added is fine: only a value that differs from
        # the checkpoint's would change the run. An unreadable checkpoint is train()'s to report.
        saved = _saved_config(Path(config.resume))
        if saved is not None:
            changed = [name for name in changed if getattr(saved, name) != getattr(config, name)]
    if config.resume and changed:
        flags = ", ".join(flag(name) for name in changed)
        raise ValueError(f"{flags} cannot change when resuming: the checkpoint's config is used")
    return config


def format_config(config: TrainConfig) -> str:
    """One line per field, for printing at the start of training."""
    values = config.to_dict()
    width = max(map(len, values))
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in values.items())


def default_dropout(hidden_layers: int) -> tuple[float, ...]:
    """The default rates stretched to `hidden_layers` hidden layers: 0.2 on the input, 0.3
    between hidden layers, 0.2 before the output ((0.2, 0.3, 0.2) for the default two)."""
    return (0.2, *[0.3] * (hidden_layers - 1), 0.2) if hidden_layers >= 1 else (0.2,)


def _saved_config(path: Path) -> TrainConfig | None:
    """The config a checkpoint was written with (its metadata only: train() reads the arrays
    later), or None if it cannot be read."""
    try:
        return TrainConfig.from_dict(checkpoint_metadata(path)["config"])
    except (OSError, WeightFileError, KeyError, TypeError, ValueError):
        return None

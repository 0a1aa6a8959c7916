"""The one training configuration: a frozen dataclass whose fields are also the CLI flags."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from model.data.augment import AugmentParams

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("cosine", "step", "constant")
STORAGE_DTYPES = ("float32", "float16")
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run. Defaults train the shipped 784-512-256-10 model."""

    data: str | None = None  # MNIST folder; else $DIGITS_DATA, else the per-user cache
    out: str = "mnist_mlp.npz"  # final weights (best validation epoch)
    hidden: tuple[int, ...] = (512, 256)  # hidden layer widths
    activation: str = "relu"  # hidden-layer nonlinearity
    epochs: int = 20  # passes over the training set; this size stops improving near 20
    batch_size: int = 128  # examples per step: small for useful noise, big for fast GEMMs
    optimizer: str = "momentum"  # update rule
    lr: float = 0.05  # peak learning rate (0.001 suits adam)
    momentum: float = 0.9  # velocity decay of the momentum optimizer
    nesterov: bool = True  # look-ahead momentum: slightly better, never worse here
    schedule: str = "cosine"  # cosine decay to zero, step decay, or constant
    warmup_epochs: float = 0.5  # linear warm-up keeps the first steps from overshooting
    step_every: int = 8  # step schedule: multiply lr by step_gamma every this many epochs
    step_gamma: float = 0.1  # step schedule: the factor applied every step_every epochs
    dropout: tuple[float, ...] = (0.2, 0.3, 0.2)  # one rate per dense layer input, or one for all
    l2: float = 1e-5  # 0.5 * l2 * ||W||^2 on weights, not biases
    label_smoothing: float = 0.0  # spread this much target mass over all classes
    augment: bool = False  # distort every training batch afresh (model/augment.py)
    aug_shift: float = 2.0  # augmentation: max shift in pixels
    aug_rotation: float = 12.0  # augmentation: max rotation in degrees
    aug_scale: float = 0.12  # augmentation: max relative scale change
    aug_shear: float = 0.15  # augmentation: max shear (slant)
    aug_elastic: float = 1.2  # augmentation: elastic displacement in pixels (0 = off)
    aug_elastic_sigma: float = 4.0  # augmentation: smoothness of the elastic field, pixels
    aug_thickness: float = 0.3  # augmentation: chance of thicker or thinner strokes
    aug_pen: float = 0.0  # augmentation: chance to train on the digit re-drawn with a constant pen
    aug_style: float = 0.0  # augmentation: chance to give a 7 a cross-bar, a 1 a lead-in flag
    max_norm: float = 0.0  # cap each hidden unit's incoming weight norm (0 = off)
    weights_dtype: str = (
        "float32"  # what the weight file stores; float16 halves it (math stays float32)
    )
    seed: int = 0  # same seed, same model, bit for bit
    val_size: int = 5000  # held out from the TRAINING set to pick the best epoch
    limit: int = 0  # use only this many training examples (0 = all); for quick runs
    resume: str | None = None  # continue from this checkpoint
    checkpoint: str | None = None  # where to save per-epoch checkpoints (default OUT.ckpt.npz)
    plot: str | None = None  # write loss/accuracy and gradient-norm curves (SVG) here

    def __post_init__(self) -> None:
        if len(self.dropout) == 1 and self.hidden:
            # One rate given: use it on every layer input (frozen, hence object.__setattr__).
            object.__setattr__(self, "dropout", self.dropout * (len(self.hidden) + 1))
        checks = [
            (self.activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.lr > 0, "lr must be positive"),
            (all(h >= 1 for h in self.hidden), "hidden sizes must be positive"),
            (
                len(self.dropout) == len(self.hidden) + 1,
                f"give {len(self.hidden) + 1} dropout rates, one per dense layer input "
                f"(got {len(self.dropout)})",
            ),
            (all(0 <= r < 1 for r in self.dropout), "dropout rates must be in [0, 1)"),
            (self.l2 >= 0, "l2 must be non-negative"),
            (0 <= self.label_smoothing < 1, "label smoothing must be in [0, 1)"),
            (self.val_size >= 1, "val size must be at least 1"),
            (self.limit >= 0, "limit must be non-negative"),
            (self.warmup_epochs >= 0, "warmup epochs must be non-negative"),
            (self.max_norm >= 0, "max norm must be non-negative"),
            (
                self.weights_dtype in STORAGE_DTYPES,
                f"weights dtype must be one of {STORAGE_DTYPES}",
            ),
            (0 <= self.aug_thickness <= 1, "aug thickness is a probability in [0, 1]"),
            (0 <= self.aug_pen <= 1, "aug pen is a probability in [0, 1]"),
            (0 <= self.aug_style <= 1, "aug style is a probability in [0, 1]"),
            (self.aug_elastic_sigma > 0, "aug elastic sigma must be positive"),
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
def _parse_tuple(item_type: type) -> Any:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(item_type(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {item_type.__name__}s, got {text!r}"
            ) from None

    return parse


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_config_flags(parser: argparse.ArgumentParser, suppress_defaults: bool = False) -> None:
    """One flag per TrainConfig field (`batch_size` -> `--batch-size`), help from its comment.

    With `suppress_defaults`, flags not given are absent from the parsed namespace, which
    tells which ones the user set.
    """
    hints = typing.get_type_hints(TrainConfig)
    comments = _field_comments()
    for field in dataclasses.fields(TrainConfig):
        hint = hints[field.name]
        flag = "--" + field.name.replace("_", "-")
        default = argparse.SUPPRESS if suppress_defaults else field.default
        kwargs: dict[str, Any] = {"default": default, "dest": field.name}
        origin = typing.get_origin(hint)
        if origin is tuple:
            item = typing.get_args(hint)[0]
            kwargs["type"] = _parse_tuple(item)
            kwargs["metavar"] = "A,B,..."
            shown = ",".join(str(v) for v in typing.cast(tuple[Any, ...], field.default))
        elif origin in (types.UnionType, typing.Union):
            kwargs["type"] = str
            kwargs["metavar"] = "PATH"
            shown = "none"
        elif hint is bool:
            kwargs["type"] = _parse_bool
            kwargs["metavar"] = "BOOL"
            shown = str(field.default).lower()
        else:
            kwargs["type"] = hint
            shown = str(field.default)
        choices = {
            "activation": ACTIVATIONS,
            "optimizer": OPTIMIZERS,
            "schedule": SCHEDULES,
            "weights_dtype": STORAGE_DTYPES,
        }
        if field.name in choices:
            kwargs["choices"] = choices[field.name]
        kwargs["help"] = f"{comments.get(field.name, '')} (default: {shown})".strip()
        parser.add_argument(flag, **kwargs)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})


def _field_comments() -> dict[str, str]:
    """The `# ...` comment beside each field, so the CLI help and the code never disagree."""
    import inspect

    comments: dict[str, str] = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        stripped = line.strip()
        if ":" in stripped and "#" in stripped and not stripped.startswith(("#", "def", '"')):
            name = stripped.split(":", 1)[0].strip()
            comments[name] = stripped.split("#", 1)[1].strip()
    return comments


def format_config(config: TrainConfig) -> str:
    """One line per field, for printing at the start of training."""
    values = config.to_dict()
    width = max(map(len, values))
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in values.items())


def parse_config(argv: Sequence[str] | None, prog: str = "digits train") -> TrainConfig:
    parser = argparse.ArgumentParser(prog=prog, description="Train the MLP on MNIST.")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    try:
        return config_from_args(args)
    except ValueError as error:
        parser.error(str(error))

"""One settings object for the server, with `DIGITS_*` environment overrides.

A variable is read by its field's type: a path (`~` expanded), text, or a positive integer
(every integer setting is a size, a count or a limit). A new field of another type needs a
reader in `ENV_READERS`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.store import StoreLimits, check_database
from model.resources import shipped_weights
from model.serving.preprocess import ImageLimits

ENV_PREFIX = "DIGITS_"


def _read_path(variable: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _read_text(variable: str, raw: str) -> str:
    return raw


def _read_positive_int(variable: str, raw: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"{variable} must be an integer, got {raw!r}") from None
    if number < 1:
        raise ValueError(f"{variable} must be positive, got {number}")
    return number


# How to read a DIGITS_* variable, by the type of the field it sets; a bad value raises
# ValueError naming the variable.
ENV_READERS: dict[type, Callable[[str, str], object]] = {
    Path: _read_path,
    str: _read_text,
    int: _read_positive_int,
}


def _at_most_255(value: object) -> None:
    if isinstance(value, int) and value > 255:
        raise ValueError(f"at most 255 (a pixel's whole range), got {value}")


# Checks beyond the type's reader, by field name.
FIELD_CHECKS: dict[str, Callable[[object], None]] = {
    "database": lambda value: check_database(str(value)),
    "max_attack_epsilon": _at_most_255,
}


# DIGITS_* variables that are not server settings: the MNIST folder of the CLI and training
# (model/data/mnist.py), and the PostgreSQL server of the store's tests.
OTHER_VARIABLES = frozenset({"DIGITS_DATA", "DIGITS_TEST_POSTGRES"})


def unknown_variables(environ: typing.Mapping[str, str] | None = None) -> list[str]:
    """One line for each DIGITS_* variable that sets nothing (a typo is otherwise silent),
    naming the setting it most looks like, if any."""
    environ = os.environ if environ is None else environ
    known = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)} | OTHER_VARIABLES
    lines = []
    # Compared without the shared prefix, which would make every name look alike.
    suffixes = sorted(name.removeprefix(ENV_PREFIX) for name in known)
    for name in sorted(v for v in environ if v.startswith(ENV_PREFIX) and v not in known):
        close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), suffixes, n=1, cutoff=0.75)
        hint = f" (did you mean {ENV_PREFIX}{close[0]}?)" if close else ""
        lines.append(f"{name} is not a setting{hint}; it is ignored")
    return lines


def default_database() -> str:
    """`digits/digits.sqlite3` in the user's data folder ($XDG_DATA_HOME, else ~/.local/share)."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return str(base / "digits" / "digits.sqlite3")


@dataclass(frozen=True)
class Settings:
    """Server configuration; each field can be set as DIGITS_<FIELD>, e.g. DIGITS_MAX_BODY_BYTES."""

    weights: Path = field(default_factory=shipped_weights)  # the weight file to serve
    max_body_bytes: int = 2 * 1024 * 1024  # one prediction request
    max_batch_body_bytes: int = 32 * 1024 * 1024  # one batch request
    max_batch_items: int = 2000  # images in one batch request
    # Pixels decoded for one batch request, all its images together (each header is read
    # first): 2,000 canvas drawings hold 157M, sixteen 4096x4096 images 268M.
    max_batch_pixels: int = 256 * 1024 * 1024
    max_image_side: int = 4096  # width or height, read from the header before decoding
    max_image_pixels: int = 4096 * 4096  # width * height
    max_attack_epsilon: int = 128  # /api/adversarial: largest allowed change of one pixel (0..255)
    max_attack_steps: int = 50  # /api/adversarial: gradient steps; each is a forward + backward
    # NumPy (OpenBLAS) threads in each `digits serve` process: requests already run side by side,
    # and idle BLAS threads spin on the cores they need (app/main.py).
    blas_threads: int = 1
    # The example store (app/store/): a SQLite file, created on first use, or a PostgreSQL URL
    # (postgresql://..., needs the `postgres` extra).
    database: str = field(default_factory=default_database)
    max_profile_examples: int = 2000  # examples in one profile; more get 429
    max_database_mb: int = 512  # the database's size; over it, new examples get 403

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_batch_body_bytes,
            max_side=self.max_image_side,
            max_pixels=self.max_image_pixels,
        )

    @property
    def store_limits(self) -> StoreLimits:
        return StoreLimits(
            max_profile_examples=self.max_profile_examples,
            max_database_bytes=self.max_database_mb * 1024 * 1024,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Defaults overridden by DIGITS_* variables; a bad value raises ValueError naming it."""
        environ = dict(os.environ) if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            read = ENV_READERS[hints[f.name]]  # a KeyError here: a field type with no reader
            variable = ENV_PREFIX + f.name.upper()
            raw = environ.get(variable)
            if raw is None or raw == "":
                continue
            values[f.name] = read(variable, raw)
            check = FIELD_CHECKS.get(f.name)
            if check is not None:
                try:
                    check(values[f.name])
                except ValueError as error:
                    raise ValueError(f"{variable}: {error}") from None
        return cls(**values)  # type: ignore[arg-type]

"""Read MNIST from IDX files (gzip or raw) or Kaggle-style CSV, and find the folder that holds it.

Everything returns uint8 arrays, batch-first: images (n, 28, 28), labels (n,). Scaling and
normalisation belong to the preprocessing module, not here. `model/data/download.py` fills the cache
folder that `resolve_data_dir` falls back to.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784
NUM_CLASSES = 10
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (n, rows, cols)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (n,)
UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"
DATA_ENV_VAR = "DIGITS_DATA"

# File-name prefix of each split in the canonical distribution.
_IDX_PREFIX: dict[Split, str] = {"train": "train", "test": "t10k"}
# Kaggle CSVs in order of preference; the second name is only used if it has a label column.
_CSV_NAMES: dict[Split, tuple[str, str]] = {
    "train": ("mnist_train.csv", "train.csv"),
    "test": ("mnist_test.csv", "test.csv"),
}
_CSV_CHUNK_ROWS = 4096  # parse this many rows at a time: bounded memory, exact error lines


class DataError(ValueError):
    """A data file exists but is corrupt or not MNIST; the message names the file."""


class DataNotFoundError(FileNotFoundError):
    """No MNIST files where we looked; the message says how to get them."""


# --- IDX ---------------------------------------------------------------------------------------


def read_idx(path: Path) -> NDArray[np.uint8]:
    """Read one IDX file, gzipped or raw: images -> (n, 28, 28), labels (checked 0-9) -> (n,)."""
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes, too short to be an IDX file")
    magic = int.from_bytes(data[:4], "big")
    dtype_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (magic number {magic:#010x})")
    if dtype_code != UBYTE:
        raise DataError(f"{path}: IDX data type {dtype_code:#04x}, expected {UBYTE:#04x} (ubyte)")
    if ndim not in (1, 3):
        raise DataError(
            f"{path}: magic number {magic}, expected {IMAGES_MAGIC} (images) "
            f"or {LABELS_MAGIC} (labels)"
        )

    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header_size} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    if ndim == 3 and dims[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{path}: images are {dims[1]}x{dims[2]}, expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )

    expected = int(np.prod(dims))
    actual = len(data) - header_size
    if actual < expected:
        raise DataError(
            f"{path}: truncated: header declares {dims[0]} records ({expected} bytes), "
            f"only {actual} bytes follow"
        )
    if actual > expected:
        raise DataError(
            f"{path}: {actual - expected} unexpected trailing bytes after the "
            f"{dims[0]} records the header declares"
        )

    # frombuffer views the immutable bytes; copy so callers own a writable array.
    array = np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims).copy()
    if ndim == 1 and (i := _first_bad_label(array)) is not None:
        raise DataError(f"{path}: label {array[i]} at index {i} is not a digit 0-9")
    return array


def _read_maybe_gzip(path: Path) -> bytes:
    """File contents, inflated if they start with the gzip magic (whatever the file is called)."""
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt gzip data ({error})") from error


def _first_bad_label(labels: NDArray[np.integer]) -> int | None:
    """Index of the first label outside 0-9, or None if all are digits."""
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    return int(bad[0]) if bad.size else None


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(path: Path) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Read a Kaggle-style CSV (header, then label + 784 pixels per row): (n, 28, 28), (n,).

    The header row is recognised by containing letters, so a header-less file also works.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")  # -sig: tolerate a byte-order mark
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not a text CSV file ({error})") from error
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # a final blank line is harmless
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty file, expected a header row and data rows")

    has_header = any(char.isalpha() for char in lines[0])  # "label,pixel0,..." or "label,1x1,..."
    if has_header:
        header_columns = lines[0].count(",") + 1
        if header_columns != PIXELS + 1:
            raise DataError(
                f"{path}: line 1: header has {header_columns} columns, expected {PIXELS + 1} "
                f"(label + {PIXELS} pixels); an unlabelled file cannot be used"
            )
    rows = lines[1:] if has_header else lines
    first_line = 2 if has_header else 1  # file line number of rows[0]
    if not rows:
        raise DataError(f"{path}: no data rows after the header")

    # Column counts first: cheap, and it rules out blank lines, so row i is line first_line + i.
    commas = np.fromiter((row.count(",") for row in rows), dtype=np.int64, count=len(rows))
    wrong = np.flatnonzero(commas != PIXELS)
    if wrong.size:
        i = int(wrong[0])
        problem = (
            "empty line"
            if not rows[i].strip()
            else f"{commas[i] + 1} columns, expected {PIXELS + 1} (label + {PIXELS} pixels)"
        )
        raise DataError(f"{path}: line {first_line + i}: {problem}")

    values = np.empty((len(rows), PIXELS + 1), dtype=np.uint8)
    for start in range(0, len(rows), _CSV_CHUNK_ROWS):
        chunk = rows[start : start + _CSV_CHUNK_ROWS]
        line0 = first_line + start
        try:
            # int16 holds every valid value and any plausible mistake (-1, 256) for range checks.
            parsed = np.loadtxt(chunk, delimiter=",", dtype=np.int16, comments=None, ndmin=2)
        except ValueError as error:
            raise DataError(
                _locate_csv_problem(path, chunk, line0) or f"{path}: {error}"
            ) from error
        if (row := _first_bad_label(parsed[:, 0])) is not None:
            raise DataError(
                f"{path}: line {line0 + row}: label {parsed[row, 0]} is not a digit 0-9"
            )
        bad = np.argwhere((parsed < 0) | (parsed > 255))
        if bad.size:
            row, column = (int(v) for v in bad[0])  # column 0 is the label, already checked
            raise DataError(
                f"{path}: line {line0 + row}, column {column + 1}: pixel {parsed[row, column]} "
                "outside 0-255"
            )
        values[start : start + len(chunk)] = parsed

    # Contiguous copies, like read_idx returns: a strided view would slow every later reshape.
    images = np.ascontiguousarray(values[:, 1:]).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)  # (n, 28, 28)
    return images, values[:, 0].copy()


def _locate_csv_problem(path: Path, rows: list[str], first_line: int) -> str | None:
    """Slow path after a parse failure: describe the first field that is not a small integer."""
    for offset, row in enumerate(rows):
        where = f"{path}: line {first_line + offset}"
        for column, field in enumerate(row.split(","), start=1):
            try:
                value = int(field)
            except ValueError:
                return f"{where}, column {column}: {field!r} is not an integer"
            if not 0 <= value <= 255:  # too big for the int16 parse, so surely not a pixel
                return f"{where}, column {column}: {value} outside 0-255"
    return None


# --- finding the files -------------------------------------------------------------------------


def load_mnist(data_dir: Path, split: Split) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load one split from `data_dir`: images (n, 28, 28) uint8 and labels (n,) uint8."""
    files = data_files(data_dir, split)
    if len(files) == 1:
        return read_csv(files[0])
    images_path, labels_path = files
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: holds labels, expected images (magic {IMAGES_MAGIC})")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: holds images, expected labels (magic {LABELS_MAGIC})")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    return images, labels


def data_files(data_dir: Path, split: Split) -> list[Path]:
    """The files `load_mnist` reads for `split`: [images, labels] IDX files or [one CSV]."""
    data_dir = Path(data_dir)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    images, labels = _find_idx(data_dir, split, "images"), _find_idx(data_dir, split, "labels")
    if images and labels:
        return [images, labels]
    csv = _find_csv(data_dir, split)
    if csv:
        return [csv]
    if images or labels:
        missing = _idx_name(split, "labels" if images else "images")
        raise DataNotFoundError(
            f"found {images or labels} but no {missing}[.gz] in {data_dir}. " + _how_to_get_data()
        )
    raise DataNotFoundError(
        f"no MNIST {split} data in {data_dir}: expected {_expected_names(split)}. "
        + _how_to_get_data()
    )


def _idx_name(split: Split, kind: Literal["images", "labels"]) -> str:
    dims = 3 if kind == "images" else 1
    return f"{_IDX_PREFIX[split]}-{kind}-idx{dims}-ubyte"


def _find_idx(data_dir: Path, split: Split, kind: Literal["images", "labels"]) -> Path | None:
    """First existing file among the canonical name and the dotted variant, .gz or raw."""
    canonical = _idx_name(split, kind)
    dotted = canonical.replace(f"-{kind}-", f"-{kind}.")  # train-images.idx3-ubyte
    for name in (canonical + ".gz", canonical, dotted + ".gz", dotted):
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def _find_csv(data_dir: Path, split: Split) -> Path | None:
    """The split's Kaggle CSV; the generic name only if it has a label column (785 columns)."""
    specific, generic = _CSV_NAMES[split]
    if (data_dir / specific).is_file():
        return data_dir / specific
    path = data_dir / generic
    if path.is_file():
        # Kaggle's competition test.csv has 784 columns and no labels: useless for evaluation.
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            if f.readline().count(",") == PIXELS:
                return path
    return None


def _expected_names(split: Split) -> str:
    images, labels = _idx_name(split, "images"), _idx_name(split, "labels")
    specific, generic = _CSV_NAMES[split]
    return f"{images}[.gz] and {labels}[.gz], or {specific} (or {generic} with a label column)"


def _how_to_get_data() -> str:
    return (
        f"Run `digits download` to fetch MNIST into {default_cache_dir()}, "
        f"or pass `--data DIR` / set {DATA_ENV_VAR}=DIR to use a folder holding the MNIST files."
    )


def default_cache_dir() -> Path:
    """Where `digits download` puts MNIST: $XDG_CACHE_HOME/digits/mnist or ~/.cache/digits/mnist."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative path.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "digits" / "mnist"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """Pick the MNIST folder: `--data DIR` if given, else $DIGITS_DATA, else the download cache."""
    if explicit is not None:
        data_dir, source = Path(explicit).expanduser(), "--data"
    elif os.environ.get(DATA_ENV_VAR):
        data_dir, source = Path(os.environ[DATA_ENV_VAR]).expanduser(), f"${DATA_ENV_VAR}"
    else:
        data_dir, source = default_cache_dir(), "default cache"
    if not data_dir.is_dir():
        raise DataNotFoundError(f"{data_dir} ({source}) is not a directory. " + _how_to_get_data())
    if not any(_has_split(data_dir, split) for split in SPLITS):
        raise DataNotFoundError(
            f"no MNIST files in {data_dir} ({source}): expected {_expected_names('train')}; "
            f"or {_expected_names('test')}. " + _how_to_get_data()
        )
    return data_dir


def _has_split(data_dir: Path, split: Split) -> bool:
    try:
        data_files(data_dir, split)
    except DataNotFoundError:
        return False
    return True


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes as stored (compressed or not), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

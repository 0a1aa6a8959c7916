"""The project's two file formats: weight files and training checkpoints, one scheme for both.

Each is one uncompressed `.npz`: named arrays plus `metadata`, a uint8 array holding UTF-8 JSON
with the format's name and version and a SHA-256 over the arrays.
- A weight file ("digits-mlp") holds `dense{i}.W`, `dense{i}.b` and metadata describing the
  network (layer sizes, activation, normalisation mean/std, config, history, metrics, data
  checksums, creation time); `load_weights` rebuilds the network from it alone.
  It may also hold optional models beside the network, each a *group* of arrays named
  `group/name` (e.g. `verdict/dense0.W`, model/serving/verdict.py) with its description under
  metadata[group]. They are listed in `shapes` and covered by the checksum like the network's
  arrays; a file without them loads as before. `save_group` adds or replaces one.
- A checkpoint ("digits-checkpoint") holds whatever `model.training.checkpoint` needs to
  continue a run exactly where it stopped.
Loading never unpickles (`allow_pickle=False`) and checks shapes and the checksum, so a
truncated, corrupted or foreign file is refused with a message instead of serving garbage:
"not a digits weight file: PATH (REASON)" for anything that is not one (text, an image, random
bytes, an .npz of pickled objects or of other arrays).
Writes are atomic: a temporary file in the same folder, fsync, then rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.nn.mlp import MLP

FORMAT = "digits-mlp"
FORMAT_VERSION = 1
CHECKPOINT_FORMAT = "digits-checkpoint"
# Version 1 added the version and the checksum; files from before (no version) still load.
CHECKPOINT_VERSION = 1
METADATA_KEY = "metadata"
# What a weight file may store its arrays as; loading casts them back to float32.
STORAGE_DTYPES = ("float32", "float16")
# `group/name`: an array of an optional model stored beside the network (not a network array).
GROUP_SEPARATOR = "/"
# How an .npz starts: a zip archive holding files, or an empty one.
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
NPY_SUFFIX = ".npy"  # np.savez stores each array as `name.npy`
# What a file that is not an .npz is, told by its first bytes, for the refusal's reason.
FILE_SIGNATURES = (
    (b"\x93NUMPY", "a single NumPy array (.npy)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (WebP, WAV, ...)"),
    (b"\x1f\x8b", "a gzip file"),
    (b"%PDF", "a PDF document"),
)


class WeightFileError(ValueError):
    """The file is missing, unreadable, or not a valid digits weight file or checkpoint."""


def arrays_checksum(arrays: Mapping[str, NDArray[Any]]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def atomic_write_npz(path: Path, arrays: Mapping[str, NDArray[Any]]) -> None:
    """Write an uncompressed .npz so that `path` is always either the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    # Make the rename itself durable, where the platform allows opening a directory.
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def encode_metadata(metadata: Mapping[str, Any]) -> NDArray[np.uint8]:
    return np.frombuffer(json.dumps(metadata, sort_keys=True).encode("utf-8"), dtype=np.uint8)


class _NotAnNpzError(Exception):
    """Why a file is not an .npz of plain arrays (read_npz turns it into a WeightFileError)."""


def read_npz(
    path: Path, what: str = "weight file", only: Collection[str] | None = None
) -> dict[str, NDArray[Any]]:
    """Every array in an .npz (or those named in `only`), never unpickling; anything else is a
    WeightFileError saying "not a digits {what}: PATH (why)".

    The archive is read array by array with NumPy's .npy reader, each header checked before
    any data: a pickled (object) array is refused by its dtype. NumPy's own messages are not
    passed on (they suggest loading the file unsafely).
    """
    path = Path(path)
    if not path.exists():
        raise WeightFileError(f"{what} not found: {path}")
    try:
        with path.open("rb") as handle:
            start = handle.read(512)
        if not start.startswith(ZIP_SIGNATURES):
            kind = _kind_of_file(start)
            raise _NotAnNpzError(f"not an .npz archive: {kind}" if kind else "not an .npz archive")
        with zipfile.ZipFile(path) as archive:
            return {
                info.filename.removesuffix(NPY_SUFFIX): _read_array(archive, info)
                for info in archive.infolist()
                if only is None or info.filename.removesuffix(NPY_SUFFIX) in only
            }
    except IsADirectoryError:
        raise WeightFileError(f"not a digits {what}: {path} (a folder)") from None
    except PermissionError as error:
        raise WeightFileError(f"cannot read the {what} {path}: {error.strerror}") from None
    except _NotAnNpzError as error:
        raise WeightFileError(f"not a digits {what}: {path} ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        unreadable = f"not a readable .npz archive: {error}"
        raise WeightFileError(f"not a digits {what}: {path} ({unreadable})") from None


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> NDArray[Any]:
    """One `name.npy` of an .npz: its header checked first, then its data, never unpickled."""
    if not info.filename.endswith(NPY_SUFFIX):
        raise _NotAnNpzError(f"{info.filename!r} in it is not a NumPy array")
    name = info.filename.removesuffix(NPY_SUFFIX)
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                _, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise _NotAnNpzError(f"array {name!r} is in .npy version {version}, not 1.0 or 2.0")
        if dtype.hasobject:
            raise _NotAnNpzError(
                f"array {name!r} holds pickled Python objects, which are never loaded"
            )
        with archive.open(info) as member:
            array: NDArray[Any] = np.lib.format.read_array(member, allow_pickle=False)
    except (_NotAnNpzError, zipfile.BadZipFile, OSError, EOFError):
        raise  # read_npz words these
    except Exception:  # a damaged header or data: NumPy raises ValueError, SyntaxError,
        # tokenize's TokenError, ..., with words not meant for users
        raise _NotAnNpzError(f"not a readable .npz archive: array {name!r} is damaged") from None
    return array


def _kind_of_file(start: bytes) -> str | None:
    """What a file whose first bytes are `start` seems to be, in a few words (None: no idea)."""
    if not start:
        return "the file is empty"
    for signature, kind in FILE_SIGNATURES:
        if start.startswith(signature):
            return f"it is {kind}"
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError:  # cut inside a character at the end, or not text at all
        text = start[:-3].decode("utf-8", errors="replace")
    if "\ufffd" not in text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "it is text"
    return None


def decode_metadata(
    path: Path, arrays: Mapping[str, NDArray[Any]], expected_format: str = FORMAT
) -> dict[str, Any]:
    """The JSON metadata of a weight file (or of a checkpoint, with CHECKPOINT_FORMAT)."""
    what = "weight file" if expected_format == FORMAT else "training checkpoint"
    raw = arrays.get(METADATA_KEY)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise WeightFileError(f"not a digits {what}: {path} (no metadata)")
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightFileError(f"{path}: corrupted metadata ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != expected_format:
        raise WeightFileError(f"not a digits {what}: {path} (format is not {expected_format!r})")
    if expected_format == FORMAT and metadata.get("format_version") != FORMAT_VERSION:
        raise WeightFileError(
            f"{path}: weight format version {metadata.get('format_version')!r} is not supported "
            f"(this version of digits reads {FORMAT_VERSION})"
        )
    if expected_format == CHECKPOINT_FORMAT and metadata.get("format_version") not in (
        None,
        CHECKPOINT_VERSION,
    ):
        raise WeightFileError(
            f"{path}: checkpoint version {metadata.get('format_version')!r} is not supported "
            f"(this version of digits reads {CHECKPOINT_VERSION})"
        )
    return metadata


def save_checkpoint(
    path: Path, arrays: Mapping[str, NDArray[Any]], metadata: Mapping[str, Any]
) -> None:
    """Write a training checkpoint atomically: `arrays` plus `metadata` (JSON-ready)."""
    full = dict(metadata)
    full.update(
        format=CHECKPOINT_FORMAT,
        format_version=CHECKPOINT_VERSION,
        arrays_sha256=arrays_checksum(arrays),
    )
    atomic_write_npz(Path(path), {**arrays, METADATA_KEY: encode_metadata(full)})


def load_checkpoint(path: Path) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
    """(arrays, metadata) of a training checkpoint, checksum verified; else WeightFileError."""
    path = Path(path)
    arrays = read_npz(path, "training checkpoint")
    metadata = decode_metadata(path, arrays, CHECKPOINT_FORMAT)
    arrays.pop(METADATA_KEY)
    if "arrays_sha256" in metadata and arrays_checksum(arrays) != metadata["arrays_sha256"]:
        raise WeightFileError(f"{path}: checksum mismatch, the checkpoint is corrupted")
    return arrays, metadata


def checkpoint_metadata(path: Path) -> dict[str, Any]:
    """The metadata of a training checkpoint (its config, epoch, ...), read without its
    arrays; WeightFileError if it is not one."""
    path = Path(path)
    metadata_only = read_npz(path, "training checkpoint", only={METADATA_KEY})
    return decode_metadata(path, metadata_only, CHECKPOINT_FORMAT)


def round_to_storage(network: MLP, storage_dtype: str) -> None:
    """Round the network's parameters, in place, to what a file of `storage_dtype` holds.

    Scoring the rounded network before saving makes the recorded metrics those of the shipped
    file, and saving it afterwards loses nothing more.
    """
    for array in network.parameters().values():
        array[...] = array.astype(storage_dtype)


def save_weights(
    path: Path,
    network: MLP,
    metadata: Mapping[str, Any],
    storage_dtype: str | None = None,
    groups: Mapping[str, Mapping[str, NDArray[Any]]] | None = None,
) -> dict[str, Any]:
    """Write `network` and `metadata` (plus the fields that describe the arrays) atomically.

    `storage_dtype` ("float16") stores the arrays at lower precision; loading casts them back to
    the network's float32. `groups` ({group: {name: array}}, as `split_groups` returns them from
    another file) are stored as they are, byte for byte, in the same write; their descriptions
    are whatever `metadata[group]` holds. Returns the metadata as written.
    """
    dtype = np.dtype(storage_dtype or network.dtype)
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
        arrays: dict[str, NDArray[Any]] = {
            name: np.ascontiguousarray(value, dtype=dtype)
            for name, value in network.parameters().items()
        }
    for name, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise WeightFileError(f"{name} does not fit in {dtype} (too large a value)")
    for group, members in (groups or {}).items():
        if not group or GROUP_SEPARATOR in group or group in _PROTECTED:
            raise WeightFileError(f"{group!r} cannot name a group of arrays")
        for name, array in members.items():
            arrays[f"{group}{GROUP_SEPARATOR}{name}"] = np.ascontiguousarray(array)
    full = dict(metadata)
    full.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        layer_sizes=list(network.layer_sizes),
        activation=network.activation,
        dropout=list(network.dropout),
        shapes={name: list(a.shape) for name, a in arrays.items()},
        dtype=str(network.dtype),
        storage_dtype=str(dtype),
        arrays_sha256=arrays_checksum(arrays),
    )
    atomic_write_npz(Path(path), {**arrays, METADATA_KEY: encode_metadata(full)})
    return full


# The metadata fields that describe the arrays: only writing the arrays may change them.
_PROTECTED = frozenset(
    {"format", "format_version", "layer_sizes", "shapes", "dtype", "storage_dtype", "arrays_sha256"}
)


class UnwritableError(Exception):
    """A file or folder cannot be written where asked; the message says why, in one line."""


def make_folders(folder: Path) -> list[Path]:
    """Create `folder` and any missing parents; returns the ones created, outermost first."""
    folder = Path(folder)
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def remove_empty_folders(folders: Sequence[Path]) -> None:
    """Remove, innermost first, those of `folders` (as `make_folders` returned them) that are
    still empty: a run that failed leaves no empty folder it made behind."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):  # not empty, or gone: leave it be
            folder.rmdir()


def prepare_folder(folder: Path) -> list[Path]:
    """Make sure new files can be written into `folder`, before any long work needs to: create
    it (and missing parents), then create and remove a temporary file in it, the way
    `atomic_write_npz` will. Asking the folder itself is the only sure test: permission bits
    say nothing for root, a read-only mount or /proc. Returns the folders created, outermost
    first; UnwritableError otherwise, having removed any folder it created."""
    folder = Path(folder)
    existing = next((f for f in (folder, *folder.parents) if f.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UnwritableError(f"{existing} is a file, not a folder")
    try:
        created = make_folders(folder)
    except OSError as error:
        raise UnwritableError(f"cannot create the folder {folder} ({error.strerror})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".digits-probe.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        remove_empty_folders(created)
        raise UnwritableError(
            f"the folder {folder} does not accept new files ({error.strerror})"
        ) from None
    return created


def prepare_file(path: Path) -> list[Path]:
    """`prepare_folder` for the folder of the file `path`, which must not be a folder or a
    device: an atomic write replaces whatever is at `path` with a new regular file."""
    path = Path(path)
    if path.is_dir():
        raise UnwritableError(f"{path} is a folder; name the file to write")
    if path.exists() and not path.is_file():
        raise UnwritableError(f"{path} is not a regular file")
    return prepare_folder(path.parent)


def update_metadata(path: Path, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Add or replace metadata `fields` of a weight file, atomically; the arrays stay as they are.

    For facts learned after training, such as an ablation the shipped run was chosen from.
    The fields that describe the arrays cannot be changed this way.
    """
    path = Path(path)
    arrays = read_npz(path)
    metadata = decode_metadata(path, arrays)
    if _PROTECTED & set(fields):
        raise WeightFileError(f"{path}: cannot change {sorted(_PROTECTED & set(fields))}")
    metadata.update(fields)
    arrays[METADATA_KEY] = encode_metadata(metadata)
    atomic_write_npz(path, arrays)
    return metadata


@dataclass(frozen=True)
class WeightFile:
    """A loaded weight file: the network, its metadata, and any optional groups of arrays
    (`groups["verdict"]["dense0.W"]` for the array `verdict/dense0.W`), as float32."""

    network: MLP
    metadata: dict[str, Any]
    groups: dict[str, dict[str, NDArray[np.float32]]]


def split_groups(
    arrays: Mapping[str, NDArray[Any]],
) -> tuple[dict[str, NDArray[Any]], dict[str, dict[str, NDArray[Any]]]]:
    """(the network's arrays, {group: {name: array}}) from a weight file's arrays."""
    network: dict[str, NDArray[Any]] = {}
    groups: dict[str, dict[str, NDArray[Any]]] = {}
    for key, array in arrays.items():
        group, separator, name = key.partition(GROUP_SEPARATOR)
        if separator:
            groups.setdefault(group, {})[name] = array
        else:
            network[key] = array
    return network, groups


def load_weights(path: Path) -> tuple[MLP, dict[str, Any]]:
    """Rebuild the network a weight file describes, after checking it end to end."""
    loaded = read_weight_file(path)
    return loaded.network, loaded.metadata


def read_weight_file(path: Path) -> WeightFile:
    """The network, metadata and optional groups of a weight file, checked end to end."""
    path = Path(path)
    arrays = read_npz(path)
    metadata = decode_metadata(path, arrays)
    arrays.pop(METADATA_KEY)
    try:
        network = MLP(
            metadata["layer_sizes"],
            activation=metadata["activation"],
            dtype=np.float32,
        )
        expected = {name: tuple(shape) for name, shape in metadata["shapes"].items()}
        checksum = metadata["arrays_sha256"]
    except (KeyError, TypeError, ValueError) as error:
        raise WeightFileError(f"{path}: metadata does not describe a network ({error})") from None
    actual = {name: a.shape for name, a in arrays.items()}
    if actual != expected:
        raise WeightFileError(f"{path}: array shapes {actual} differ from metadata {expected}")
    if any(a.dtype not in (np.float16, np.float32, np.float64) for a in arrays.values()):
        found = sorted({str(a.dtype) for a in arrays.values()})
        raise WeightFileError(f"{path}: weights must be floating point, found {found}")
    if arrays_checksum(arrays) != checksum:
        raise WeightFileError(f"{path}: checksum mismatch, the weights are corrupted")
    network_arrays, groups = split_groups(arrays)
    try:
        network.load_parameters(network_arrays)
    except ValueError as error:
        raise WeightFileError(f"{path}: {error}") from None
    loaded = {
        group: {name: a.astype(np.float32) for name, a in members.items()}
        for group, members in groups.items()
    }
    every = [*network.parameters().items()]
    every += [(f"{g}{GROUP_SEPARATOR}{n}", a) for g, m in loaded.items() for n, a in m.items()]
    for name, array in every:
        if not np.all(np.isfinite(array)):
            raise WeightFileError(f"{path}: {name} holds NaN or infinite values")
    return WeightFile(network, metadata, loaded)


def save_group(
    path: Path,
    group: str,
    arrays: Mapping[str, NDArray[Any]],
    description: Mapping[str, Any],
    storage_dtype: str | None = None,
) -> dict[str, Any]:
    """Add (or replace) an optional group of arrays in a weight file, atomically.

    The file is checked first (`read_weight_file`); the group's old arrays go, the new ones are
    stored as `group/name` (in `storage_dtype`, default: the file's own), `description` becomes
    metadata[group], and `shapes` and the checksum are rewritten to cover them. The network's
    arrays and the rest of the metadata are kept byte for byte. Returns the new metadata.
    """
    path = Path(path)
    if not group or GROUP_SEPARATOR in group or group in _PROTECTED:
        raise WeightFileError(f"{group!r} cannot name a group of arrays")
    metadata = read_weight_file(path).metadata  # refuses a damaged file before writing
    stored = read_npz(path)
    stored.pop(METADATA_KEY)
    network_arrays, groups = split_groups(stored)
    groups.pop(group, None)
    dtype = np.dtype(storage_dtype or metadata.get("storage_dtype", "float32"))
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
        new = {name: np.ascontiguousarray(value, dtype=dtype) for name, value in arrays.items()}
    for name, array in new.items():
        if GROUP_SEPARATOR in name or not np.all(np.isfinite(array)):
            raise WeightFileError(f"{group}{GROUP_SEPARATOR}{name}: bad name, or not finite")
    groups[group] = new
    every = dict(network_arrays)
    every.update(
        {f"{g}{GROUP_SEPARATOR}{n}": a for g, members in groups.items() for n, a in members.items()}
    )
    metadata[group] = dict(description)
    metadata["shapes"] = {name: list(a.shape) for name, a in every.items()}
    metadata["arrays_sha256"] = arrays_checksum(every)
    atomic_write_npz(path, {**every, METADATA_KEY: encode_metadata(metadata)})
    return metadata

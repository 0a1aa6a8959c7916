"""Fetch the four MNIST files into the cache folder, verified, atomically (`digits download`).

Each file is tried on every mirror in turn; a download only replaces the target after its
uncompressed MD5 matches the known value, so a half-written or tampered file never lands.
`model/data/mnist.py` reads what this writes (`default_cache_dir`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import httpx

from model.data.mnist import GZIP_MAGIC, default_cache_dir
from model.files import make_folders, remove_empty_folders

# Public mirrors, most reliable first. Plain HTTP is acceptable because every file is checked
# against the MD5 below before it is used.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# MD5 of the UNCOMPRESSED contents: identical for every mirror, whatever gzip settings it used.
CHECKSUMS: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

_BLOCK = 1 << 16


class DownloadError(RuntimeError):
    """Every mirror failed for some file; the one-line message says what and how to work around."""


class _ChecksumMismatchError(Exception):
    """Downloaded bytes are not the expected file."""


def download_mnist(
    dest: Path | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    checksums: Mapping[str, str] = CHECKSUMS,
    timeout: float = 30.0,
    log: Callable[[str], object] = print,
) -> Path:
    """Make sure `dest` (default: the cache folder) holds every file in `checksums`, verified.

    `timeout` (seconds) bounds connecting and each read, not the whole download.
    """
    dest = Path(dest) if dest is not None else default_cache_dir()
    created = make_folders(dest)
    try:
        # Ask for and keep the bytes exactly as the mirror stores them (no transfer
        # compression), follow redirects (mirrors move), and reuse one connection per mirror.
        with httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"Accept-Encoding": "identity"}
        ) as client:
            for name, md5 in checksums.items():
                target = dest / name
                if target.is_file():
                    if _uncompressed_md5(target) == md5:
                        log(f"{name}: already present and verified")
                        continue
                    log(f"{name}: present but fails its checksum, downloading again")
                _fetch(client, name, md5, dest, mirrors, log)
    except BaseException:
        # A failed download leaves no empty folder it made; files it did fetch stay, with
        # their folder, for the next try.
        remove_empty_folders(created)
        raise
    return dest


def verify_file(path: Path, checksums: Mapping[str, str] = CHECKSUMS) -> bool:
    """True if `path` is a known MNIST file (by name) whose uncompressed MD5 matches."""
    path = Path(path)
    expected = checksums.get(path.name)
    return expected is not None and path.is_file() and _uncompressed_md5(path) == expected


def _uncompressed_md5(path: Path) -> str | None:
    """MD5 of the content after gunzip (raw files hashed as-is); None if the gzip is corrupt."""
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == GZIP_MAGIC
    digest = hashlib.md5()
    try:
        with gzip.open(path, "rb") if is_gzip else path.open("rb") as f:
            for block in iter(lambda: f.read(_BLOCK), b""):
                digest.update(block)
    except (OSError, EOFError, zlib.error):  # truncated or corrupt gzip
        return None
    return digest.hexdigest()


def _fetch(
    client: httpx.Client,
    name: str,
    md5: str,
    dest: Path,
    mirrors: Sequence[str],
    log: Callable[[str], object],
) -> None:
    """Download `name` from the first mirror that serves it intact, then move it into place."""
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        log(f"{name}: downloading {url}")
        # Same folder as the target, so os.replace is an atomic rename on one filesystem.
        fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                size = _stream(client, url, out)
                out.flush()
                os.fsync(out.fileno())  # the bytes reach disk before the rename makes them visible
            if _uncompressed_md5(tmp) != md5:
                raise _ChecksumMismatchError(f"checksum mismatch (expected md5 {md5})")
            os.replace(tmp, dest / name)
            log(f"{name}: ok, {size / 1e6:.1f} MB")
            return
        except (OSError, httpx.HTTPError, httpx.InvalidURL, _ChecksumMismatchError) as error:
            # HTTPError: refused connections, timeouts, error statuses; OSError: the disk.
            reason = _describe(error)
            log(f"{name}: {url} failed: {reason}")
            failures.append(f"{url}: {reason}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {name} ({'; '.join(failures) or 'no mirrors given'}). "
        "Copy the MNIST files into a folder by hand and pass --data DIR."
    )


def _stream(client: httpx.Client, url: str, out: BinaryIO) -> int:
    """Copy the body at `url` into `out` block by block (never all in memory); return its size."""
    size = 0
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for block in response.iter_raw(_BLOCK):
            out.write(block)
            size += len(block)
    return size


def _describe(error: BaseException) -> str:
    """A short, single-line reason for a failed attempt."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return " ".join(str(error).split()) or type(error).__name__

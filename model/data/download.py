"""`digits download`: fetch the four MNIST files into the cache folder, verified, atomically.

Each file is tried on every mirror in turn; a download only replaces the target after its
uncompressed MD5 matches the known value, so a half-written or tampered file never lands.
`model/data.py` reads what this writes (`default_cache_dir`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from model.data.mnist import GZIP_MAGIC, default_cache_dir

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
    """Make sure `dest` (default: the cache folder) holds every file in `checksums`, verified."""
    dest = Path(dest) if dest is not None else default_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name, md5 in checksums.items():
        target = dest / name
        if target.is_file():
            if _uncompressed_md5(target) == md5:
                log(f"{name}: already present and verified")
                continue
            log(f"{name}: present but fails its checksum, downloading again")
        _fetch(name, md5, dest, mirrors, timeout, log)
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
    name: str,
    md5: str,
    dest: Path,
    mirrors: Sequence[str],
    timeout: float,
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
                size = _stream(url, out, timeout)
                out.flush()
                os.fsync(out.fileno())  # the bytes reach disk before the rename makes them visible
            if _uncompressed_md5(tmp) != md5:
                raise _ChecksumMismatchError(f"checksum mismatch (expected md5 {md5})")
            os.replace(tmp, dest / name)
            log(f"{name}: ok, {size / 1e6:.1f} MB")
            return
        except (OSError, ValueError, http.client.HTTPException, _ChecksumMismatchError) as error:
            # URLError and timeouts are OSErrors; ValueError is a malformed mirror URL.
            reason = _describe(error)
            log(f"{name}: {url} failed: {reason}")
            failures.append(f"{url}: {reason}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {name} ({'; '.join(failures) or 'no mirrors given'}). "
        "Copy the MNIST files into a folder by hand and pass --data DIR."
    )


def _stream(url: str, out: BinaryIO, timeout: float) -> int:
    """Copy the body at `url` into `out` block by block (never all in memory); return its size."""
    size = 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        for block in iter(lambda: response.read(_BLOCK), b""):
            out.write(block)
            size += len(block)
    return size


def _describe(error: BaseException) -> str:
    """A short, single-line reason for a failed attempt."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `digits download`: 0 on success, 1 with a one-line message on failure."""
    parser = argparse.ArgumentParser(
        prog="digits download", description="Fetch MNIST from public mirrors and verify it."
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where to put the files (default: {default_cache_dir()})",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds")
    args = parser.parse_args(argv)
    try:
        # Module globals read at call time, so tests can point these at a local server.
        dest = download_mnist(args.dir, mirrors=MIRRORS, checksums=CHECKSUMS, timeout=args.timeout)
    except (DownloadError, OSError) as error:  # OSError: e.g. cannot create the folder
        print(f"digits download: error: {error}", file=sys.stderr)
        return 1
    print(f"MNIST is ready in {dest}")
    return 0

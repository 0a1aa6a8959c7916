"""model/data/download.py against a local HTTP server: mirrors, fallback, checksums.

`digits download` itself is tested in tests/app/test_cli.py, with the helpers defined here.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model.data import download
from model.data.download import DownloadError, download_mnist, verify_file
from model.data.mnist import load_mnist

NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def idx_bytes(array: np.ndarray[Any, Any]) -> bytes:
    return struct.pack(f">I{array.ndim}I", 0x0800 + array.ndim, *array.shape) + array.tobytes()


def fixture_contents() -> dict[str, bytes]:
    """Uncompressed contents of four tiny, valid MNIST-format files (3 train, 2 test)."""
    rng = np.random.default_rng(0)
    contents = {}
    for prefix, n in (("train", 3), ("t10k", 2)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        contents[f"{prefix}-images-idx3-ubyte.gz"] = idx_bytes(images)
        contents[f"{prefix}-labels-idx1-ubyte.gz"] = idx_bytes(labels)
    return contents


CONTENTS = fixture_contents()
CHECKSUMS = {name: hashlib.md5(raw).hexdigest() for name, raw in CONTENTS.items()}


class QuietHandler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/moved/"):  # a mirror that has moved: 301 to /good/
            self.send_response(301)
            self.send_header("Location", "/good/" + self.path.removeprefix("/moved/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@contextlib.contextmanager
def mirror_server(root: Path) -> Iterator[str]:
    """Base URL of a local server with /good/ (intact), /bad/ (corrupted), /empty/ (404s)
    and /moved/ (redirects to /good/)."""
    for folder in ("good", "bad", "empty"):
        (root / folder).mkdir()
    for name, raw in CONTENTS.items():
        # Different gzip settings than the checksums were made with: only the content counts.
        (root / "good" / name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=12345))
        (root / "bad" / name).write_bytes(gzip.compress(raw + b"\x00"))
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def unreachable_mirror() -> str:
    """A URL on a local port nothing listens on: connection refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mirror_server(tmp_path_factory.mktemp("mirror")) as url:
        yield url


@pytest.fixture
def dead_mirror() -> str:
    return unreachable_mirror()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the environment must not intercept requests to the local server."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def fetch(dest: Path, mirrors: list[str], logs: list[str] | None = None) -> Path:
    return download_mnist(
        dest,
        mirrors=mirrors,
        checksums=CHECKSUMS,
        timeout=5.0,
        log=(logs if logs is not None else []).append,
    )


def assert_complete(dest: Path) -> None:
    """All four files present, verified, and no temporary files left behind."""
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)
    for name in NAMES:
        assert gzip.decompress((dest / name).read_bytes()) == CONTENTS[name]


def test_download_fetches_and_verifies_every_file(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "mnist"  # created, parents included
    assert fetch(dest, [f"{server}/good/"]) == dest
    assert_complete(dest)
    assert all(verify_file(dest / name, CHECKSUMS) for name in NAMES)
    images, labels = load_mnist(dest, "train")  # what we wrote is what the reader expects
    assert images.shape == (3, 28, 28)
    assert labels.shape == (3,)


def test_download_falls_back_when_first_mirror_is_unreachable(
    server: str, dead_mirror: str, tmp_path: Path
) -> None:
    logs: list[str] = []
    fetch(tmp_path, [dead_mirror, f"{server}/good"], logs)
    assert_complete(tmp_path)
    assert any(dead_mirror in line and "failed" in line for line in logs)


def test_download_falls_back_when_first_mirror_returns_404(server: str, tmp_path: Path) -> None:
    logs: list[str] = []
    fetch(tmp_path, [f"{server}/empty/", f"{server}/good/"], logs)
    assert_complete(tmp_path)
    assert sum("HTTP 404" in line for line in logs) == len(NAMES)


def test_download_falls_back_on_checksum_mismatch(server: str, tmp_path: Path) -> None:
    logs: list[str] = []
    fetch(tmp_path, [f"{server}/bad/", f"{server}/good/"], logs)
    assert_complete(tmp_path)  # the corrupted copies never landed
    assert sum("checksum mismatch" in line for line in logs) == len(NAMES)


def test_download_follows_a_redirect(server: str, tmp_path: Path) -> None:
    fetch(tmp_path, [f"{server}/moved/"])
    assert_complete(tmp_path)


def test_download_gives_up_on_a_silent_mirror_after_the_timeout(
    server: str, tmp_path: Path
) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent_mirror = f"http://127.0.0.1:{silent.getsockname()[1]}/mnist/"
        logs: list[str] = []
        started = time.monotonic()
        download_mnist(
            tmp_path,
            mirrors=[silent_mirror, f"{server}/good/"],
            checksums={NAMES[0]: CHECKSUMS[NAMES[0]]},
            timeout=0.3,
            log=logs.append,
        )
    assert time.monotonic() - started < 5
    assert any(silent_mirror in line and "timed out" in line for line in logs)
    assert gzip.decompress((tmp_path / NAMES[0]).read_bytes()) == CONTENTS[NAMES[0]]


def test_download_raises_one_line_error_when_every_mirror_fails(
    server: str, dead_mirror: str, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError) as info:
        fetch(tmp_path, [dead_mirror, f"{server}/empty/", f"{server}/bad/"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("could not download train-images-idx3-ubyte.gz")
    assert "HTTP 404" in message
    assert "checksum mismatch" in message
    assert "--data DIR" in message
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file left


def test_download_skips_files_already_present_and_verified(
    server: str, dead_mirror: str, tmp_path: Path
) -> None:
    fetch(tmp_path, [f"{server}/good/"])
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in NAMES}
    logs: list[str] = []
    fetch(tmp_path, [dead_mirror], logs)  # would fail if it tried the network
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in NAMES} == before
    assert sum("already present and verified" in line for line in logs) == len(NAMES)


def test_download_replaces_an_existing_corrupt_file(server: str, tmp_path: Path) -> None:
    (tmp_path / NAMES[0]).write_bytes(b"\x1f\x8b half a gzip")
    logs: list[str] = []
    fetch(tmp_path, [f"{server}/good/"], logs)
    assert_complete(tmp_path)
    assert any("fails its checksum" in line for line in logs)


def test_download_defaults_to_the_cache_folder(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    dest = download_mnist(mirrors=[f"{server}/good/"], checksums=CHECKSUMS, log=lambda _: None)
    assert dest == tmp_path / "digits" / "mnist"
    assert_complete(dest)


def test_verify_file_checks_uncompressed_content(tmp_path: Path) -> None:
    name = NAMES[1]
    good = tmp_path / "good" / name
    good.parent.mkdir()
    good.write_bytes(gzip.compress(CONTENTS[name], mtime=999))
    assert verify_file(good, CHECKSUMS)

    uncompressed = tmp_path / "raw" / name  # same content, never gzipped: hashed as-is
    uncompressed.parent.mkdir()
    uncompressed.write_bytes(CONTENTS[name])
    assert verify_file(uncompressed, CHECKSUMS)

    wrong = tmp_path / "wrong" / name
    wrong.parent.mkdir()
    wrong.write_bytes(gzip.compress(CONTENTS[name] + b"\x00"))
    assert not verify_file(wrong, CHECKSUMS)

    truncated = tmp_path / "truncated" / name
    truncated.parent.mkdir()
    truncated.write_bytes(good.read_bytes()[:-10])
    assert not verify_file(truncated, CHECKSUMS)

    assert not verify_file(tmp_path / "missing" / name, CHECKSUMS)
    unknown = tmp_path / "notes.gz"
    unknown.write_bytes(gzip.compress(b"x"))
    assert not verify_file(unknown, CHECKSUMS)


def test_verify_file_defaults_to_the_real_mnist_checksums(tmp_path: Path) -> None:
    path = tmp_path / NAMES[0]
    path.write_bytes(gzip.compress(CONTENTS[NAMES[0]]))  # a fixture, not the real file
    assert not verify_file(path)
    assert download.CHECKSUMS["t10k-labels-idx1-ubyte.gz"] == "27ae3e4e09519cfbb04c329615203637"

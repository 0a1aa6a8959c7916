"""Real `digits serve` processes on loopback sharing one database (SQLite file or PostgreSQL):
two servers written to at once lose nothing, a restart keeps everything, and a broken database
is reported at start-up while prediction goes on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.store import StoreLimits, open_store
from model.data.mnist import load_mnist
from tests.conftest import ROOT, SAMPLE_DIR, SHIPPED_WEIGHTS

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.process = process
        self.stderr = ""


@contextmanager
def serving(database: str) -> Iterator[Server]:
    """`digits serve` in a child process on a free loopback port, stopped afterwards; its
    standard error is in `.stderr` once it has stopped."""
    port = free_port()
    env = {**os.environ, "DIGITS_DATABASE": database, "DIGITS_WEIGHTS": str(SHIPPED_WEIGHTS)}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("digits serve did not start")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            server.stderr = process.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            process.kill()
            server.stderr = process.communicate()[1]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist(SAMPLE_DIR, "test")
    return images[:100], labels[:100]


def test_two_servers_lose_nothing_and_a_restart_keeps_everything(
    database: str, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = digits
    threads_count, per_thread = 4, 20
    responses: list[httpx.Response] = []
    with serving(database) as first, serving(database) as second:
        profile = httpx.post(f"{first.url}/api/profiles").json()["profile"]

        def post(thread: int) -> None:
            with httpx.Client(timeout=30) as client:
                for n in range(per_thread):
                    index = thread * per_thread + n
                    server = (first, second)[index % 2]
                    body = {"pixels": images[index].tolist(), "label": int(labels[index])}
                    if n % 2 == 0:
                        body["profile"] = profile
                    responses.append(client.post(f"{server.url}/api/examples", json=body))

        threads = [threading.Thread(target=post, args=(t,)) for t in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen_by_second = httpx.get(f"{second.url}/api/profiles/{profile}").json()

    total = threads_count * per_thread
    assert [r.status_code for r in responses] == [201] * total
    assert len({r.json()["id"] for r in responses}) == total
    in_profile = [r.json()["examples"] for r in responses if r.json()["profile"] == profile]
    assert sorted(in_profile) == list(range(1, total // 2 + 1))
    expected = np.bincount(labels[:total][::2], minlength=10).tolist()  # every other example
    assert seen_by_second == {"profile": profile, "examples": total // 2, "per_digit": expected}

    with serving(database) as restarted:  # everything is still there after a restart
        after = httpx.get(f"{restarted.url}/api/profiles/{profile}").json()
        one_more = httpx.post(
            f"{restarted.url}/api/examples",
            json={"pixels": images[0].tolist(), "label": 1, "profile": profile},
        ).json()
    assert after == seen_by_second
    assert one_more["examples"] == total // 2 + 1
    assert one_more["id"] > max(r.json()["id"] for r in responses)
    store = open_store(database, StoreLimits())
    stored = list(store.all_examples())
    store.close()
    assert len(stored) == total + 1
    # Each stored input is one that was sent, byte for byte, and each was stored once.
    sent = sorted(images[i].tobytes() for i in range(total))
    assert sorted(example.pixels.tobytes() for example in stored[:-1]) == sent


def test_a_broken_database_is_reported_at_start_up_and_prediction_goes_on(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = digits
    database = tmp_path / "digits.sqlite3"
    database.write_bytes(b"garbage, not a database\n" * 200)
    with serving(str(database)) as server:
        predicted = httpx.post(f"{server.url}/api/predict", json={"pixels": images[0].tolist()})
        stored = httpx.post(f"{server.url}/api/profiles")
    assert predicted.status_code == 200
    assert stored.status_code == 503
    reason = "the database file is not a SQLite database (corrupt?)"
    assert stored.json() == {"detail": reason, "code": "store_unavailable"}
    lines = [line for line in server.stderr.splitlines() if "example store" in line]
    assert lines == [
        f"digits serve: the example store at {database} is unavailable: {reason}; "
        "prediction works, /api/profiles and /api/examples answer 503"
    ]
    assert "Traceback" not in server.stderr

"""The SQLite store on its own: the file, deletion down to the bytes, processes sharing the file,
and every way the file can fail (each a StoreUnavailableError saying what is wrong)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from app.settings import Settings, default_database
from app.store import (
    Store,
    StoreLimits,
    StoreUnavailableError,
    describe_database,
    open_store,
)
from app.store.sqlite import SQLiteStore
from tests.app.store.conftest import SHA256, query, random_pixels
from tests.conftest import ROOT


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "digits.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = open_store(str(path), StoreLimits())
    yield opened
    opened.close()


def add(store: Store, profile: str | None = None) -> int:
    return store.add_example(random_pixels(0), 1, 1, SHA256, profile)[0]


def file_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


# ------------------------------------------------------------------------------ the file
def test_the_default_database_is_in_the_users_data_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert default_database() == "/srv/data/digits/digits.sqlite3"
    assert Settings().database == "/srv/data/digits/digits.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", "/home/someone")
    assert default_database() == "/home/someone/.local/share/digits/digits.sqlite3"
    assert Settings.from_env({"DIGITS_DATABASE": "/x/y.db"}).database == "/x/y.db"


def test_the_file_is_created_on_first_use_in_a_private_folder(store: Store, path: Path) -> None:
    store.check()  # a look: the file is not created by it
    assert not path.parent.exists()
    add(store)
    assert path.is_file()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert query(str(path), "PRAGMA journal_mode") == [("wal",)]


def test_an_empty_file_is_migrated(path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(b"")
    store = open_store(str(path), StoreLimits())
    store.check()
    assert add(store) == 1
    store.close()


def test_a_tilde_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = open_store("~/digits.sqlite3", StoreLimits())
    add(store)
    store.close()
    assert (tmp_path / "digits.sqlite3").is_file()


def test_a_deleted_profile_is_gone_from_the_file_itself(store: Store, path: Path) -> None:
    """secure_delete overwrites the rows, and the checkpoint after a delete empties the log."""
    profile = store.create_profile()
    marker = b"PRIVATE-DRAWING-"
    pixels = np.frombuffer((marker * 49)[:784], dtype=np.uint8).reshape(28, 28)
    strokes = [[[12345.678, 98765.4321], [1.0, 2.0]]]
    for _ in range(20):  # more than a page of examples
        store.add_example(pixels, 4, 4, SHA256, profile, strokes)
    kept = store.create_profile()
    add(store, kept)
    before = file_bytes(path)
    assert marker in before  # the test can see the data when it is there
    assert b"12345.678" in before
    assert profile.encode() in before
    assert store.delete_profile(profile)
    after = file_bytes(path)
    assert marker not in after
    assert b"12345.678" not in after
    assert profile.encode() not in after
    assert kept.encode() in after  # the rest is still there
    assert store.profile_counts(kept) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]


# ------------------------------------------------------------------------------ processes
WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from app.store import StoreLimits, open_store

    database, profile, go, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    store = open_store(database, StoreLimits())
    store.check()
    while not go.exists():
        time.sleep(0.001)
    pixels = np.zeros((28, 28), dtype=np.uint8)
    results = [store.add_example(pixels, n % 10, 0, "ab" * 32, profile) for n in range(count)]
    store.close()
    print(json.dumps(results))
    """
)


def test_two_processes_writing_at_once_lose_nothing(store: Store, path: Path) -> None:
    profile = store.create_profile()
    go = path.parent / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), profile, str(go), "60"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # both started and waiting
    go.touch()
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0]
    results = [tuple(r) for output in outputs for r in json.loads(output)]
    assert len({example_id for example_id, _ in results}) == 120
    assert sorted(count for _, count in results) == list(range(1, 121))
    assert sum(store.profile_counts(profile) or []) == 120


# ------------------------------------------------------------------------------ failures
def assert_unavailable(store: Store, reason: str) -> None:
    """Every store call fails with StoreUnavailableError naming `reason`."""
    for call in (store.create_profile, lambda: add(store), lambda: store.profile_counts("a")):
        with pytest.raises(StoreUnavailableError, match=reason):
            call()


def test_a_sqlite_url_names_the_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLAlchemy's spelling: sqlite:////absolute/path, sqlite:///relative/path.
    absolute = open_store("sqlite:///" + str(path), StoreLimits())
    add(absolute)
    absolute.close()
    assert path.is_file()
    monkeypatch.chdir(path.parent)
    relative = open_store("sqlite:///" + path.name, StoreLimits())
    assert len(list(relative.all_examples())) == 1, "the same file"
    relative.close()
    # Start-up names the file itself, not a URL that reads as an absolute path.
    assert describe_database("sqlite:///" + path.name) == str(path)


def test_a_sqlite_url_with_options_is_refused_not_made_a_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///db.sqlite3?mode=ro", StoreLimits())
    with pytest.raises(StoreUnavailableError, match="takes no options: give a file: URI"):
        store.check()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "url", ["mysql://user:secret@db/digits", "sqlite://digits.sqlite3", "redis://x", "http://h/x"]
)
def test_another_url_is_unavailable_and_makes_no_folder(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Taken as a path, "mysql://..." would become a folder "mysql:" wherever the server runs.
    monkeypatch.chdir(tmp_path)
    store = open_store(url, StoreLimits())
    with pytest.raises(StoreUnavailableError, match="unsupported database URL scheme"):
        store.check()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="DIGITS_DATABASE: unsupported") as raised:
        Settings.from_env({"DIGITS_DATABASE": url})
    assert "secret" not in str(raised.value)


def test_a_database_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("in the way")
    store = open_store(str(tmp_path / "a-file" / "digits.sqlite3"), StoreLimits())
    with pytest.raises(StoreUnavailableError, match="cannot create the database's folder"):
        store.check()
    assert_unavailable(store, r"cannot create the database's folder \(a file is in the way\)")


def test_a_folder_where_the_file_should_be_is_unavailable(path: Path) -> None:
    path.mkdir(parents=True)
    store = open_store(str(path), StoreLimits())
    with pytest.raises(StoreUnavailableError, match="cannot open the database file"):
        store.check()


def test_a_file_that_is_not_a_database_is_unavailable_until_replaced(
    store: Store, path: Path
) -> None:
    path.parent.mkdir()
    path.write_bytes(b"these are not the pages you are looking for\n" * 100)
    with pytest.raises(StoreUnavailableError, match="not a SQLite database"):
        store.check()
    assert_unavailable(store, r"the database file is not a SQLite database \(corrupt\?\)")
    path.unlink()  # fixed (here: moved away), and the same store works again, no restart
    assert store.profile_counts(store.create_profile()) == [0] * 10


def overwrite_pages(path: Path, first: int, last: int | None, fill: bytes) -> None:
    """Pages first..last-1 (4 KiB each; None: to the end) of a closed database overwritten."""
    data = bytearray(path.read_bytes())
    end = len(data) if last is None else last * 4096
    data[first * 4096 : end] = fill * (end - first * 4096)
    path.write_bytes(bytes(data))


def test_a_database_with_corrupt_pages_is_unavailable(store: Store, path: Path) -> None:
    profile = store.create_profile()
    for _ in range(30):
        add(store, profile)
    store.close()
    overwrite_pages(path, 1, None, b"\xa5")  # every page but the first (the table list)
    with pytest.raises(StoreUnavailableError, match="the database file is corrupt"):
        store.profile_counts(profile)


def test_the_start_up_check_finds_damaged_pages_that_a_first_read_misses(
    store: Store, path: Path
) -> None:
    """Two pages of a busy table overwritten: opening and the profiles table still work, so
    only a check of every page (quick_check) can say it at start-up."""
    for _ in range(3):
        profile = store.create_profile()
        for _ in range(20):
            add(store, profile)
    store.close()
    overwrite_pages(path, 5, 7, b"\xff")
    reader = open_store(str(path), StoreLimits())
    try:
        assert reader.create_profile()  # the damage is elsewhere: this page is fine
        with pytest.raises(StoreUnavailableError, match="the database file is corrupt"):
            reader.check()
        # Found damaged, it is written to no more: every use is a 503 until the file changes.
        before = path.read_bytes()
        for use in (
            reader.create_profile,
            lambda: add(reader),
            lambda: reader.profile_counts("A" * 22),
        ):
            with pytest.raises(StoreUnavailableError, match="repair or replace it"):
                use()
        assert path.read_bytes() == before
    finally:
        reader.close()
    path.unlink()  # replaced (here: removed, so made afresh): usable again, no restart
    assert reader.profile_counts(reader.create_profile()) == [0] * 10


@contextmanager
def read_only(*targets: Path) -> Iterator[None]:
    """Files or folders made read-only, even for root (who ignores file modes, but not the
    immutable attribute)."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a file read-only")
        subprocess.run(["chattr", "+i", *map(str, targets)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, targets)], check=True)
        return
    modes = [target.stat().st_mode for target in targets]
    for target in targets:
        target.chmod(0o555 if target.is_dir() else 0o444)
    try:
        yield
    finally:
        for target, mode in zip(targets, modes, strict=True):
            target.chmod(mode)


def test_a_read_only_file_can_be_read_but_not_written(store: Store, path: Path) -> None:
    profile = store.create_profile()
    add(store, profile)
    store.close()
    with read_only(path):
        reader = open_store(str(path), StoreLimits())
        try:
            with pytest.raises(StoreUnavailableError, match="the database is read-only"):
                reader.check()  # said at start-up: reading alone would not show it
            assert reader.profile_counts(profile) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
            for write in (reader.create_profile, lambda: add(reader, profile)):
                with pytest.raises(StoreUnavailableError, match="the database is read-only"):
                    write()
        finally:
            reader.close()
    assert add(store, profile) > 0  # writable again: the same store recovers


def test_a_read_only_file_in_a_read_only_folder_is_unavailable(store: Store, path: Path) -> None:
    add(store)
    store.close()  # the last connection removes the -wal and -shm files
    with read_only(path, path.parent):
        reader = open_store(str(path), StoreLimits())
        try:
            with pytest.raises(StoreUnavailableError, match="the database is read-only"):
                reader.check()
            assert_unavailable(reader, r"the database is read-only \(its file or its folder")
        finally:
            reader.close()


def test_a_read_only_uri_is_passed_to_sqlite(store: Store, path: Path) -> None:
    profile = store.create_profile()
    store.close()
    reader = open_store(f"file:{path}?mode=ro", StoreLimits())
    with pytest.raises(StoreUnavailableError, match="the database is read-only"):
        reader.check()
    assert reader.profile_counts(profile) == [0] * 10
    with pytest.raises(StoreUnavailableError, match="the database is read-only"):
        reader.create_profile()
    reader.close()


def test_a_full_disk_is_unavailable_and_loses_nothing_stored(store: Store, path: Path) -> None:
    profile = store.create_profile()
    add(store, profile)
    assert isinstance(store, SQLiteStore)
    connection = store._connection
    assert connection is not None
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # as if the disk had no more room
    reasons = set()
    for _ in range(100):  # until the pages left in the file are used up
        try:
            add(store, profile)
        except StoreUnavailableError as error:
            reasons.add(str(error))
            break
    assert reasons == {"the database's disk is full"}
    assert store.profile_counts(profile) is not None  # a fresh connection: room again
    stored = sum(store.profile_counts(profile) or [])
    assert stored >= 1
    assert query(str(path), "SELECT COUNT(*) FROM examples") == [(stored,)]


def test_a_database_locked_too_long_is_unavailable_for_now(
    store: Store, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store)
    monkeypatch.setattr("app.store.sqlite.BUSY_SECONDS", 0.2)
    waiting = open_store(str(path), StoreLimits())
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreUnavailableError, match="busy"):
            add(waiting)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert add(waiting) > 0
    waiting.close()

"""The PostgreSQL store on its own: what it says when the server is away, read-only or restarted.

Everything else it shares with SQLite is in test_store.py, run on both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Store, StoreLimits, StoreUnavailableError, open_store
from tests.app.store.conftest import SHA256, random_pixels


@pytest.fixture
def store(postgres_database: str) -> Iterator[Store]:
    opened = open_store(postgres_database, StoreLimits())
    yield opened
    opened.close()


def add(store: Store, profile: str | None = None) -> int:
    return store.add_example(random_pixels(0), 1, 1, SHA256, profile)[0]


def test_no_server_is_unavailable_quickly(tmp_path: Path) -> None:
    store = open_store(f"postgresql://nobody@/digits?host={tmp_path}&port=1", StoreLimits())
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="cannot reach the PostgreSQL database"):
        store.check()
    with pytest.raises(StoreUnavailableError, match="cannot reach the PostgreSQL database"):
        store.create_profile()
    assert time.monotonic() - started < 5


def test_a_read_only_database_can_be_read_but_not_written(
    store: Store, postgres_database: str
) -> None:
    profile = store.create_profile()
    add(store, profile)
    # One more server option after the fixture's `options=-c search_path=...` (URL-encoded).
    read_only_url = postgres_database + "%20-c%20default_transaction_read_only%3Don"
    reader = open_store(read_only_url, StoreLimits())
    try:
        with pytest.raises(StoreUnavailableError, match="the database is read-only"):
            reader.check()
        assert reader.profile_counts(profile) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        for write in (reader.create_profile, lambda: add(reader, profile)):
            with pytest.raises(StoreUnavailableError, match="the database is read-only"):
                write()
    finally:
        reader.close()


def test_a_dropped_connection_is_opened_afresh(store: Store, postgres_server: str) -> None:
    """A server restart (here: our connection killed) costs one 503, not a server restart."""
    import psycopg

    profile = store.create_profile()
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(StoreUnavailableError, match="cannot reach the PostgreSQL database"):
        add(store, profile)
    assert add(store, profile) > 0
    assert store.profile_counts(profile) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]


def test_missing_tables_are_unavailable_not_a_crash(store: Store, postgres_database: str) -> None:
    import psycopg

    add(store)
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute("DROP TABLE examples")
    with pytest.raises(StoreUnavailableError, match="tables are missing or changed"):
        add(store)

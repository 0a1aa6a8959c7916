"""Store fixtures: a fresh, empty database of each kind, so the same tests run on both.

SQLite needs nothing. PostgreSQL needs a server named by DIGITS_TEST_POSTGRES (a postgresql://
URL; `source .ci/postgres.sh` starts a throwaway one). Without it the PostgreSQL variants are
skipped with the reason, except in CI (`CI` set), where a missing server is a failure.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from app.store import Store, StoreLimits, is_postgres_url, open_store

POSTGRES_VARIABLE = "DIGITS_TEST_POSTGRES"
BACKENDS = ["sqlite", "postgres"]
SHA256 = "ab" * 32  # a weight file's checksum, as the predictor gives it


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL tests cannot run, or None."""
    if not url:
        return (
            f"no PostgreSQL server: set {POSTGRES_VARIABLE}=postgresql://... "
            "(`source .ci/postgres.sh` starts a throwaway one)"
        )
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install -e '.[dev]'"
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as error:
        return f"cannot reach {POSTGRES_VARIABLE}: {error}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server's URL; skips (fails in CI) without one."""
    url = os.environ.get(POSTGRES_VARIABLE, "")
    problem = postgres_problem(url)
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the store tests on PostgreSQL too, but {problem}")
        pytest.skip(problem)
    return url


def with_search_path(url: str, schema: str) -> str:
    """`url` with every connection working in `schema`."""
    option = quote(f"-c search_path={schema}")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A URL of an empty PostgreSQL schema of its own, dropped afterwards."""
    import psycopg

    schema = "test_" + secrets.token_hex(6)
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A DIGITS_DATABASE naming a database nothing has touched: a SQLite file not yet there,
    or an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store" / "digits.sqlite3")
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def make_store(database: str) -> Iterator[Callable[..., Store]]:
    """Open stores on `database` (each its own connection), all closed afterwards."""
    stores: list[Store] = []

    def make(**limits: int) -> Store:
        store = open_store(database, StoreLimits(**limits))
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def query(database: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement (`?` placeholders) read straight from the database, not the store."""
    if is_postgres_url(database):
        import psycopg

        with psycopg.connect(database, autocommit=True) as connection:
            cursor = connection.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    connection = sqlite3.connect(database, isolation_level=None)  # autocommit
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def random_pixels(seed: int) -> np.ndarray:
    """A (28, 28) uint8 input using every byte value somewhere: a round trip must keep them all."""
    values = np.random.default_rng(seed).permutation(784) % 256
    return values.astype(np.uint8).reshape(28, 28)

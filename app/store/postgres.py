"""The store in PostgreSQL, for deployments with several servers: `DIGITS_DATABASE=postgresql://...`.

Needs psycopg 3 (`pip install 'digits[postgres]'`). The schema and the queries are the SQLite
store's (app/store/base.py); what differs is here: `%s` placeholders, identity ids, BYTEA and
TIMESTAMPTZ columns, a row lock on the profile before adding to it (SQLite locks the whole file
instead), an advisory lock around migrations, and the database's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

import psycopg
from psycopg import errors

from app.store.base import Result, Store, StoreLimits

CONNECT_SECONDS = 5  # a server that does not answer: 503 after this, not a hung request
MIGRATION_LOCK = 0x6469_6769  # "digi": one key for pg_advisory_xact_lock


class PostgresStore(Store):
    """The store in the PostgreSQL database at `url` (a libpq connection URL)."""

    types: ClassVar[dict[str, str]] = {
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "bytes": "BYTEA",
        "time": "TIMESTAMPTZ",
    }
    lock_row = " FOR UPDATE"

    def __init__(self, url: str, limits: StoreLimits) -> None:
        super().__init__(limits)
        self.url = url
        self._connection: psycopg.Connection[Any] | None = None

    def _connect(self) -> None:
        self._connection = psycopg.connect(
            self.url, autocommit=True, connect_timeout=CONNECT_SECONDS
        )

    def _disconnect(self) -> None:
        if self._connection is not None:
            with suppress(psycopg.Error):
                self._connection.close()
            self._connection = None

    def _execute(self, query: str, params: tuple[Any, ...]) -> Result:
        assert self._connection is not None
        cursor = self._connection.execute(query.replace("?", "%s"), params)
        rows = cursor.fetchall() if cursor.description is not None else []
        return Result(rows=rows, rowcount=cursor.rowcount)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        assert self._connection is not None
        with self._connection.transaction():
            yield

    def _table_exists(self, name: str) -> bool:
        # to_regclass follows search_path, as the unqualified names in our queries do.
        return bool(self._execute("SELECT to_regclass(?) IS NOT NULL", (name,)).rows[0][0])

    def _size_bytes(self) -> int:
        return int(self._execute("SELECT pg_database_size(current_database())", ()).rows[0][0])

    def _lock_for_migration(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def _reason(self, error: Exception) -> str | None:
        if isinstance(error, errors.DiskFull):
            return "the database's disk is full"
        if isinstance(error, errors.ReadOnlySqlTransaction):
            return "the database is read-only"
        if isinstance(error, errors.DataCorrupted | errors.IndexCorrupted):
            return "the database is corrupt"
        if isinstance(error, errors.InsufficientPrivilege):
            return "no permission to use the database's tables"
        if isinstance(error, errors.UndefinedTable | errors.UndefinedColumn):
            return "the database's tables are missing or changed"
        if isinstance(error, psycopg.OperationalError):
            return "cannot reach the PostgreSQL database"
        if isinstance(error, psycopg.IntegrityError | psycopg.ProgrammingError):
            return None  # a bug, not the database: a 500 with its traceback in the log
        if isinstance(error, psycopg.Error):
            return f"database error ({error.sqlstate or type(error).__name__})"
        return None

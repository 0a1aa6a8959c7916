"""The embedded store: one SQLite file through the standard library (the default).

WAL mode, so readers never wait for the writer; foreign keys on, so deleting a profile deletes
its examples; `secure_delete` on and a checkpoint after each delete, so deleted examples are
overwritten in the file, not just unlinked. Every write takes the write lock at its start
(BEGIN IMMEDIATE): several server processes can share the file, each waiting its turn for up to
BUSY_SECONDS.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from app.store.base import Result, Store, StoreLimits, StoreUnavailableError

DAMAGED = "the database file is corrupt: repair or replace it"
BUSY_SECONDS = 10.0  # how long a writer waits for another process's write to finish

# What a SQLite error means, by its primary result code; the message is safe to show a client.
REASONS = {
    sqlite3.SQLITE_FULL: "the database's disk is full",
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_CORRUPT: "the database file is corrupt",
    sqlite3.SQLITE_NOTADB: "the database file is not a SQLite database (corrupt?)",
    sqlite3.SQLITE_CANTOPEN: "cannot open the database file",
    sqlite3.SQLITE_PERM: "no permission to write the database file",
    sqlite3.SQLITE_IOERR: "input/output error on the database file",
    sqlite3.SQLITE_BUSY: "the database is busy (locked by another process); try again",
    sqlite3.SQLITE_LOCKED: "the database is busy; try again",
}


class SQLiteStore(Store):
    """The store in one SQLite file at `path`: a file path (`~` expanded), or a `file:` URI
    passed to SQLite as such (e.g. `file:/srv/digits.sqlite3?mode=ro`)."""

    types: ClassVar[dict[str, str]] = {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",  # AUTOINCREMENT: ids are never reused
        "bytes": "BLOB",
        "time": "TEXT",  # ISO 8601, UTC: SQLite has no time type
    }

    def __init__(self, path: str, limits: StoreLimits) -> None:
        super().__init__(limits)
        self.path = path
        self._connection: sqlite3.Connection | None = None
        # The file's (mtime, size) when a check found it damaged: until it changes (repaired,
        # replaced), it is not opened for use, so nothing is written into a damaged file.
        self._damaged: tuple[int, int] | None = None

    def check(self) -> None:
        """As Store.check, but a file not there yet is only checked to be creatable: it is
        created on first use, not by a look at start-up."""
        if not self._is_uri() and not self._file().exists():
            _check_creatable(self._file())
            return
        super().check()

    def _is_uri(self) -> bool:
        return self.path.startswith("file:")

    def _file(self) -> Path:
        return Path(self.path).expanduser()

    def _connect(self) -> None:
        target: str | Path = self.path
        if not self._is_uri():
            target = self._file()
            try:  # the folder only its owner can read: it holds people's drawings
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:
                _check_creatable(target)  # says which, if a file or a read-only folder is why
                raise StoreUnavailableError(
                    f"cannot create the database's folder ({error.strerror})"
                ) from error
        connection = sqlite3.connect(
            target,
            timeout=BUSY_SECONDS,
            isolation_level=None,  # transactions are ours: BEGIN IMMEDIATE ... COMMIT
            check_same_thread=False,  # used by one thread at a time, under the store's lock
            uri=self._is_uri(),
        )
        self._connection = connection
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA secure_delete = ON")
        _switch_to_wal(connection)
        if self._damaged is not None:
            if self._signature() == self._damaged:
                raise StoreUnavailableError(DAMAGED)
            self._check_pages()  # changed since it was found damaged: look again

    def _disconnect(self) -> None:
        if self._connection is not None:
            with suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def _execute(self, query: str, params: tuple[Any, ...]) -> Result:
        assert self._connection is not None
        cursor = self._connection.execute(query, params)
        rows = cursor.fetchall()
        return Result(rows=rows, rowcount=cursor.rowcount)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        assert self._connection is not None
        self._connection.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write
        try:
            yield
        except BaseException:
            if self._connection.in_transaction:
                with suppress(sqlite3.Error):  # the connection is dropped and reopened anyway
                    self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def _table_exists(self, name: str) -> bool:
        query = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self._execute(query, (name,)).rows[0][0])

    def _check_pages(self) -> None:
        # quick_check reads every page but skips the indexes' contents (0.05 s for a 124 MB
        # file in the page cache here): enough to find a damaged file at each start-up.
        try:
            found = [row[0] for row in self._execute("PRAGMA quick_check", ()).rows]
        except sqlite3.DatabaseError:
            found = ["unreadable pages"]
        if found != ["ok"]:
            self._damaged = self._signature()
            self._open = False  # so the session closes the connection: the next use reopens
            raise StoreUnavailableError(f"{DAMAGED} ({found[0]})")
        self._damaged = None

    def _signature(self) -> tuple[int, int] | None:
        """The file's (mtime in ns, size), or None for a `file:` URI or a missing file."""
        if self._is_uri():
            return None
        try:
            status = self._file().stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _size_bytes(self) -> int:
        # Pages in use: deleted rows leave free pages that new rows reuse (the file does not
        # shrink without VACUUM), so counting the file would keep a full store full for good.
        pages = self._execute("PRAGMA page_count", ()).rows[0][0]
        free = self._execute("PRAGMA freelist_count", ()).rows[0][0]
        return (int(pages) - int(free)) * int(self._execute("PRAGMA page_size", ()).rows[0][0])

    def _reason(self, error: Exception) -> str | None:
        if isinstance(error, sqlite3.IntegrityError | sqlite3.ProgrammingError):
            return None  # a bug, not the database: a 500 with its traceback in the log
        if not isinstance(error, sqlite3.Error):
            return None
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == sqlite3.SQLITE_CANTOPEN and self._read_only():
            # A WAL database needs its folder writable even to be read (for its -shm file).
            return "the database is read-only (its file or its folder cannot be written)"
        if code is not None and code & 0xFF in REASONS:
            return REASONS[code & 0xFF]
        return f"database error ({error})"

    def _read_only(self) -> bool:
        file = self._file()
        if self._is_uri() or not file.is_file():
            return False
        return not (os.access(file, os.W_OK) and os.access(file.parent, os.W_OK | os.X_OK))

    def _after_delete(self) -> None:
        # Copy the overwritten pages into the file and empty the log, so the deleted examples
        # are gone from both. Another process reading at this moment leaves the log as is until
        # a later checkpoint (SQLite's own, or the next delete's).
        self._execute("PRAGMA wal_checkpoint(TRUNCATE)", ())

    def _time(self, moment: datetime) -> Any:
        return moment.isoformat(timespec="microseconds")

    def _read_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(str(value))


def _check_creatable(file: Path) -> None:
    """StoreUnavailableError unless `file` could be created: its nearest existing ancestor is a
    folder we may write into."""
    for ancestor in file.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise StoreUnavailableError(
                    "cannot create the database's folder (a file is in the way)"
                )
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise StoreUnavailableError(
                    "cannot create the database (its folder is not writable)"
                )
            # Permissions do not tell everything (root passes them; /proc refuses anyway):
            # make a folder there and take it away again.
            try:
                os.rmdir(tempfile.mkdtemp(prefix=".digits-check-", dir=ancestor))
            except OSError as error:
                raise StoreUnavailableError(
                    f"cannot create the database's folder ({error.strerror})"
                ) from error
            return


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """`PRAGMA journal_mode = WAL`, waiting up to BUSY_SECONDS for other connections.

    Switching a new file's journal takes a lock SQLite does not wait for (the busy timeout is
    not used), so servers opening an empty database at once got "database is locked". Once the
    file is in WAL mode the pragma is a no-op that takes no lock.
    """
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)

"""The store's interface and its queries, shared by both databases; the errors it raises.

`Store` holds every query, written once in SQL that SQLite and PostgreSQL both read (with `?`
placeholders). A dialect (`app/store/sqlite.py`, `app/store/postgres.py`) only connects, runs a
statement, opens a write transaction, and says what differs: column types, row locks, the
database's size, and what a driver error means.

One connection per store, behind a lock: the store's work is a few small statements per request,
and the lock keeps one connection safe for the server's worker threads. The connection is opened
on first use (which creates and migrates the database) and dropped after any database error, so
the next call opens it afresh: a database fixed or brought back needs no restart.
"""

from __future__ import annotations

import abc
import json
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from app.store.schema import MIGRATIONS, VERSION_TABLE, steps_for

SIDE = 28  # the network's input: 28x28 grey levels, one byte each
PROFILE_ID_BYTES = 16  # secrets.token_urlsafe(16): 128 random bits in 22 characters
# Anything else cannot be a profile id: answered "unknown" without asking the database (a NUL
# byte or a megabyte of text never reaches a query).
PROFILE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_STROKES_JSON = 512 * 1024  # characters; the API's own bounds keep strokes far below this
BATCH = 500  # examples read per query by all_examples


class StoreError(Exception):
    """Something the store cannot do; `str(error)` is safe to show to any client."""


class StoreUnavailableError(StoreError):
    """The database cannot be used: missing and uncreatable, read-only, full, corrupt, down."""


class UnknownProfileError(StoreError):
    """No profile with this id (never created, or deleted)."""


class ProfileFullError(StoreError):
    """The profile holds as many examples as a profile may."""


class DatabaseFullError(StoreError):
    """The database has reached its configured size limit."""


class _TakeBackError(Exception):
    """Raised inside a transaction to roll it back: `Store.check`'s trial write."""


@dataclass(frozen=True)
class StoreLimits:
    max_profile_examples: int = 2000
    max_database_bytes: int = 512 * 1024 * 1024


@dataclass(frozen=True)
class StoredExample:
    """One stored example, as fine-tuning reads it back."""

    id: int
    pixels: NDArray[np.uint8]  # (28, 28), 0..255 ink high: the input the network saw
    label: int  # what the person said it is
    prediction: int  # what the model said
    weights_sha256: str  # which model said it
    profile: str | None
    created: datetime  # UTC
    strokes: list[Any] | None  # [[[x, y], ...], ...] as the client sent them


@dataclass(frozen=True)
class Result:
    rows: list[tuple[Any, ...]]
    rowcount: int  # rows changed by an INSERT, UPDATE or DELETE


class Store(abc.ABC):
    """Profiles and their examples in a SQL database; every method is thread-safe.

    Every write is one transaction. Failures of the database itself raise StoreUnavailableError,
    with a reason a client may read; a request the store refuses raises UnknownProfileError,
    ProfileFullError or DatabaseFullError.
    """

    # Column types of the schema (app/store/schema.py) in this dialect.
    types: ClassVar[dict[str, str]]
    # Appended to the SELECT that reads a profile before adding to it, so two writers cannot
    # both take the profile's last free place.
    lock_row = ""

    def __init__(self, limits: StoreLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._open = False

    # -------------------------------------------------------------------- the interface
    def check(self) -> None:
        """Open (create, migrate) the database now, write to it and take that back, and check
        its pages (`_check_pages`): StoreUnavailableError says what is wrong. What `digits
        serve` runs at start-up, so a read-only or damaged store is named there, not at the
        first correction."""
        with self._session():
            probe = secrets.token_urlsafe(PROFILE_ID_BYTES)
            try:
                with self._transaction():
                    self._execute(
                        "INSERT INTO profiles (id, created) VALUES (?, ?)",
                        (probe, self._time(_now())),
                    )
                    raise _TakeBackError
            except _TakeBackError:
                pass
            self._check_pages()

    def _check_pages(self) -> None:  # noqa: B027 (a hook: most databases check themselves)
        """Raise StoreUnavailableError if the database's own check finds damage; by default
        nothing to check."""

    def create_profile(self) -> str:
        """A new profile's id: 128 random bits, URL-safe."""
        profile = secrets.token_urlsafe(PROFILE_ID_BYTES)
        with self._session(), self._transaction():
            self._refuse_if_over_size()
            self._execute(
                "INSERT INTO profiles (id, created) VALUES (?, ?)", (profile, self._time(_now()))
            )
        return profile

    def profile_counts(self, profile: str) -> list[int] | None:
        """Examples per digit 0..9 in the profile, or None if there is no such profile."""
        if not PROFILE_ID.fullmatch(profile):
            return None
        with self._session():
            if not self._execute("SELECT 1 FROM profiles WHERE id = ?", (profile,)).rows:
                return None
            rows = self._execute(
                "SELECT label, COUNT(*) FROM examples WHERE profile = ? GROUP BY label",
                (profile,),
            ).rows
        counts = [0] * 10
        for label, count in rows:
            counts[int(label)] = int(count)
        return counts

    def delete_profile(self, profile: str) -> bool:
        """Delete the profile and all its examples (ON DELETE CASCADE); False if unknown."""
        if not PROFILE_ID.fullmatch(profile):
            return False
        with self._session():
            with self._transaction():
                deleted = self._execute("DELETE FROM profiles WHERE id = ?", (profile,)).rowcount
            if deleted:
                self._after_delete()
        return deleted > 0

    def add_example(
        self,
        pixels: NDArray[np.uint8],
        label: int,
        prediction: int,
        weights_sha256: str,
        profile: str | None = None,
        strokes: Sequence[Any] | None = None,
    ) -> tuple[int, int]:
        """Store one example; returns its id and the profile's example count after it (without
        a profile: the store's total).

        `pixels` is the (28, 28) uint8 input the network saw; `strokes`, if given, the drawing
        as lists of [x, y] points, stored as JSON.
        """
        blob = _pixel_bytes(pixels)
        if not (0 <= label <= 9 and 0 <= prediction <= 9):
            raise ValueError(f"label and prediction must be digits, got {label}, {prediction}")
        strokes_json = None if strokes is None else json.dumps(strokes, separators=(",", ":"))
        if strokes_json is not None and len(strokes_json) > MAX_STROKES_JSON:
            raise ValueError(f"strokes over {MAX_STROKES_JSON:,} characters of JSON")
        if profile is not None and not PROFILE_ID.fullmatch(profile):
            raise UnknownProfileError("unknown profile")
        with self._session(), self._transaction():
            count = 0
            if profile is not None:
                if not self._execute(
                    "SELECT id FROM profiles WHERE id = ?" + self.lock_row, (profile,)
                ).rows:
                    raise UnknownProfileError("unknown profile")
                count = self._count("SELECT COUNT(*) FROM examples WHERE profile = ?", (profile,))
                if count >= self.limits.max_profile_examples:
                    raise ProfileFullError(
                        f"the profile holds {count:,} examples, the most a profile may hold; "
                        "delete it to start again"
                    )
            self._refuse_if_over_size()
            inserted = self._execute(
                "INSERT INTO examples (profile, label, pixels, prediction, weights_sha256, "
                "strokes, created) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    profile,
                    label,
                    blob,
                    prediction,
                    weights_sha256,
                    strokes_json,
                    self._time(_now()),
                ),
            )
            example_id = int(inserted.rows[0][0])
            if profile is None:
                count = self._count("SELECT COUNT(*) FROM examples", ())
            else:
                count += 1
        return example_id, count

    def examples_for(self, profile: str) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
        """A profile's examples, oldest first: inputs (n, 28, 28) uint8 and labels (n,) uint8."""
        if not PROFILE_ID.fullmatch(profile):
            raise UnknownProfileError("unknown profile")
        with self._session():
            if not self._execute("SELECT 1 FROM profiles WHERE id = ?", (profile,)).rows:
                raise UnknownProfileError("unknown profile")
            rows = self._execute(
                "SELECT pixels, label FROM examples WHERE profile = ? ORDER BY id", (profile,)
            ).rows
        inputs = np.frombuffer(b"".join(bytes(p) for p, _ in rows), dtype=np.uint8)
        labels = np.array([label for _, label in rows], dtype=np.uint8)
        return inputs.reshape(len(rows), SIDE, SIDE), labels

    def all_examples(self) -> Iterator[StoredExample]:
        """Every example, oldest first, read BATCH at a time (for fine-tuning)."""
        after = 0
        while True:
            with self._session():
                rows = self._execute(
                    "SELECT id, pixels, label, prediction, weights_sha256, profile, created, "
                    f"strokes FROM examples WHERE id > ? ORDER BY id LIMIT {BATCH}",
                    (after,),
                ).rows
            for row in rows:
                yield self._example(row)
            if len(rows) < BATCH:
                return
            after = int(rows[-1][0])

    def profile_revision(self, profile: str) -> int:
        """A number that grows with every example added to the profile (0: none yet), in one
        query; UnknownProfileError if there is no such profile (never created, or deleted).
        What a reader with a profile asks on every request, so the newest example counts at
        once."""
        if not PROFILE_ID.fullmatch(profile):
            raise UnknownProfileError("unknown profile")
        with self._session():
            rows = self._execute(
                "SELECT MAX(e.id) FROM profiles p LEFT JOIN examples e ON e.profile = p.id "
                "WHERE p.id = ? GROUP BY p.id",
                (profile,),
            ).rows
        if not rows:
            raise UnknownProfileError("unknown profile")
        return int(rows[0][0] or 0)

    def close(self) -> None:
        with self._lock:
            self._open = False
            self._disconnect()

    # -------------------------------------------------------------------- the machinery
    @contextmanager
    def _session(self) -> Iterator[None]:
        """Hold the connection, opened and migrated; a database error -> StoreUnavailableError."""
        with self._lock:
            try:
                if not self._open:
                    self._connect()
                    self._migrate()
                    self._open = True
                yield
            except StoreError:
                if not self._open:
                    self._disconnect()
                raise
            except Exception as error:
                reason = self._reason(error)
                if reason is None:
                    raise
                self._open = False
                self._disconnect()
                raise StoreUnavailableError(reason) from error

    def _migrate(self) -> None:
        """Apply the steps of MIGRATIONS this database lacks, in one transaction."""
        known = len(MIGRATIONS)
        if self._table_exists("schema_version") and self._version() == known:
            return  # the usual case, read without taking the write lock
        with self._transaction():
            self._lock_for_migration()
            self._execute(VERSION_TABLE.format(**self.types), ())
            version = self._version()
            if version > known:
                raise StoreUnavailableError(
                    f"the database has schema version {version}, newer than this server's "
                    f"{known}: upgrade digits"
                )
            for number, step in enumerate(steps_for(self.types)[version:], start=version + 1):
                for statement in step:
                    self._execute(statement, ())
                self._execute(
                    "INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                    (number, self._time(_now())),
                )

    def _version(self) -> int:
        return int(self._execute("SELECT MAX(version) FROM schema_version", ()).rows[0][0] or 0)

    def _count(self, query: str, params: tuple[Any, ...]) -> int:
        return int(self._execute(query, params).rows[0][0])

    def _refuse_if_over_size(self) -> None:
        size = self._size_bytes()
        if size >= self.limits.max_database_bytes:
            limit_mb = self.limits.max_database_bytes / 1024 / 1024
            raise DatabaseFullError(
                f"the database is at its size limit ({size / 1024 / 1024:,.1f} MB of "
                f"{limit_mb:,.0f} MB): no new examples or profiles until some are deleted"
            )

    def _example(self, row: tuple[Any, ...]) -> StoredExample:
        example_id, pixels, label, prediction, sha256, profile, created, strokes = row
        return StoredExample(
            id=int(example_id),
            pixels=np.frombuffer(bytes(pixels), dtype=np.uint8).reshape(SIDE, SIDE),
            label=int(label),
            prediction=int(prediction),
            weights_sha256=str(sha256),
            profile=profile,
            created=self._read_time(created),
            strokes=None if strokes is None else json.loads(strokes),
        )

    # -------------------------------------------------------------------- what a dialect does
    @abc.abstractmethod
    def _connect(self) -> None:
        """Open the connection (creating the database if it can)."""

    @abc.abstractmethod
    def _disconnect(self) -> None:
        """Close the connection if there is one; never raises."""

    @abc.abstractmethod
    def _execute(self, query: str, params: tuple[Any, ...]) -> Result:
        """Run one statement written with `?` placeholders; every row it returns."""

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """A write transaction: committed at the end, rolled back on an exception."""

    @abc.abstractmethod
    def _table_exists(self, name: str) -> bool: ...

    @abc.abstractmethod
    def _size_bytes(self) -> int:
        """How much space the database takes."""

    @abc.abstractmethod
    def _reason(self, error: Exception) -> str | None:
        """What a driver error means, for a client; None if it is not a database error."""

    def _lock_for_migration(self) -> None:  # noqa: B027 - most dialects need nothing
        """Keep other servers from migrating at the same time (inside the transaction)."""

    def _after_delete(self) -> None:  # noqa: B027 - most dialects need nothing
        """Anything needed after a delete to have the data really gone."""

    def _time(self, moment: datetime) -> Any:
        """A UTC time as this dialect stores it."""
        return moment

    def _read_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value


class UnavailableStore(Store):
    """A store that cannot be opened at all (say, its driver is not installed): every call
    raises StoreUnavailableError with the reason."""

    types: ClassVar[dict[str, str]] = {}

    def __init__(self, reason: str, limits: StoreLimits) -> None:
        super().__init__(limits)
        self.reason = reason

    def _connect(self) -> None:
        raise StoreUnavailableError(self.reason)

    def _disconnect(self) -> None:
        pass

    def _execute(self, query: str, params: tuple[Any, ...]) -> Result:  # pragma: no cover
        raise StoreUnavailableError(self.reason)

    def _transaction(self) -> AbstractContextManager[None]:  # pragma: no cover
        raise StoreUnavailableError(self.reason)

    def _table_exists(self, name: str) -> bool:  # pragma: no cover
        raise StoreUnavailableError(self.reason)

    def _size_bytes(self) -> int:  # pragma: no cover
        raise StoreUnavailableError(self.reason)

    def _reason(self, error: Exception) -> str | None:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def _pixel_bytes(pixels: NDArray[np.uint8]) -> bytes:
    array = np.asarray(pixels)
    if array.shape != (SIDE, SIDE) or array.dtype != np.uint8:
        raise ValueError(f"pixels must be (28, 28) uint8, got {array.shape} {array.dtype}")
    return array.tobytes()  # row-major, 784 bytes

"""The example store: drawings people labelled, kept so the model can learn their handwriting.

`open_store(database, limits)` gives a `Store` (app/store/base.py: the interface, the queries,
the errors) in the database `DIGITS_DATABASE` names: a SQLite file by default
(app/store/sqlite.py; also written `sqlite:///path`), or PostgreSQL for a `postgresql://` URL
(app/store/postgres.py); any other URL scheme is refused. The
tables are in app/store/schema.py. Nothing opens the database until it is first used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.store.base import (
    DatabaseFullError,
    ProfileFullError,
    Store,
    StoredExample,
    StoreError,
    StoreLimits,
    StoreUnavailableError,
    UnavailableStore,
    UnknownProfileError,
)
from app.store.sqlite import SQLiteStore

__all__ = [
    "DatabaseFullError",
    "ProfileFullError",
    "Store",
    "StoreError",
    "StoreLimits",
    "StoreUnavailableError",
    "StoredExample",
    "UnknownProfileError",
    "check_database",
    "describe_database",
    "is_postgres_url",
    "open_store",
    "sqlite_file",
]

POSTGRES_SCHEMES = ("postgresql", "postgres")
# `scheme://...`; a bare path (even `C:\\x` or `a:b`) has no "//" after its colon.
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
SQLITE_URL = "sqlite:///"  # SQLAlchemy's spelling: sqlite:///relative.db, sqlite:////abs.db


def is_postgres_url(database: str) -> bool:
    return urlsplit(database).scheme in POSTGRES_SCHEMES


def check_database(database: str) -> None:
    """Raise ValueError unless `database` is a SQLite path, a `file:` URI, a `sqlite:///` URL
    or a PostgreSQL URL: any other `scheme://` would otherwise become a folder named after it."""
    found = URL_SCHEME.match(database)
    if found is None:
        return
    scheme = found.group(1).lower()
    if scheme in POSTGRES_SCHEMES or scheme == "file":
        return
    if scheme == "sqlite" and ("?" in database or "#" in database):
        # SQLite would take "db.sqlite3?mode=ro" for a file name, and create it.
        raise ValueError(
            "a sqlite:/// URL takes no options: give a file: URI for them "
            "(file:/path/db.sqlite3?mode=ro)"
        )
    if scheme == "sqlite" and sqlite_file(database):  # sqlite:///path, with a path
        return
    raise ValueError(
        f"unsupported database URL scheme {scheme + '://'!r}: give a SQLite file path (or "
        "sqlite:///path) or a postgresql:// URL"
    )


def sqlite_file(database: str) -> str | None:
    """The SQLite file path `database` names (a path or a `sqlite:///` URL), or None for a
    `file:` URI, a PostgreSQL URL or any other URL."""
    if database.lower().startswith(SQLITE_URL):
        return database[len(SQLITE_URL) :]
    if URL_SCHEME.match(database) or database.startswith("file:"):
        return None
    return database


def open_store(database: str, limits: StoreLimits) -> Store:
    """The store for `database` (a SQLite path, `file:` URI or `sqlite:///` URL, or a PostgreSQL
    URL); opened, created and migrated on first use, never here. Any other URL gives a store
    that is unavailable, saying why."""
    try:
        check_database(database)
    except ValueError as error:
        return UnavailableStore(str(error), limits)
    path = sqlite_file(database)
    if path is not None or not is_postgres_url(database):  # a file path, or a `file:` URI
        return SQLiteStore(database if path is None else path, limits)
    try:
        from app.store.postgres import PostgresStore  # psycopg: the optional `postgres` extra
    except ImportError:
        return UnavailableStore(
            "PostgreSQL needs psycopg, which is not installed: pip install 'digits[postgres]'",
            limits,
        )
    return PostgresStore(database, limits)


def describe_database(database: str) -> str:
    """`database` for a log line: a URL without its password; for a `sqlite:///` URL, the file
    it names (sqlite:///a.db is a.db in the working folder, SQLAlchemy's reading)."""
    if database.lower().startswith(SQLITE_URL):
        return os.path.abspath(Path(database[len(SQLITE_URL) :]).expanduser())
    if not URL_SCHEME.match(database):
        return database
    parts = urlsplit(database)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="/*")))

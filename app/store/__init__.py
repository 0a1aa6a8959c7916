"""The example store: drawings people labelled, kept so the model can learn their handwriting.

`open_store(database, limits)` gives a `Store` (app/store/base.py: the interface, the queries,
the errors) in the database `DIGITS_DATABASE` names: a SQLite file by default
(app/store/sqlite.py), or PostgreSQL for a `postgresql://` URL (app/store/postgres.py). The
tables are in app/store/schema.py. Nothing opens the database until it is first used.
"""

from __future__ import annotations

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
    "describe_database",
    "is_postgres_url",
    "open_store",
]

POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(database: str) -> bool:
    return urlsplit(database).scheme in POSTGRES_SCHEMES


def open_store(database: str, limits: StoreLimits) -> Store:
    """The store for `database` (a SQLite path or `file:` URI, or a PostgreSQL URL); opened,
    created and migrated on first use, never here."""
    if not is_postgres_url(database):
        return SQLiteStore(database, limits)
    try:
        from app.store.postgres import PostgresStore  # psycopg: the optional `postgres` extra
    except ImportError:
        return UnavailableStore(
            "PostgreSQL needs psycopg, which is not installed: pip install 'digits[postgres]'",
            limits,
        )
    return PostgresStore(database, limits)


def describe_database(database: str) -> str:
    """`database` for a log line: a URL without its password."""
    if not is_postgres_url(database):
        return database
    parts = urlsplit(database)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="/*")))

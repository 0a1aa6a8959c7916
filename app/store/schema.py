"""The store's tables, as migrations: SQL steps applied in order, each step once, each recorded.

A database remembers every step it has applied in `schema_version` (one row per step, numbered
from 1), so opening it applies only the steps it lacks. Never edit a released step: add one.

The SQL is shared by SQLite and PostgreSQL. Only the column types differ, written here as
`{id}`, `{bytes}` and `{time}` and filled in by each dialect (`app/store/sqlite.py`,
`app/store/postgres.py`).
"""

from __future__ import annotations

# Created before any step, so the steps themselves can be recorded.
VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied {time} NOT NULL
)
"""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: profiles, and the examples people drew and labelled.
    (
        """
        CREATE TABLE profiles (
            id TEXT PRIMARY KEY,  -- secrets.token_urlsafe: 128 random bits, URL-safe
            created {time} NOT NULL
        )
        """,
        """
        CREATE TABLE examples (
            id {id},
            profile TEXT REFERENCES profiles (id) ON DELETE CASCADE,  -- NULL: no profile
            label SMALLINT NOT NULL CHECK (label BETWEEN 0 AND 9),
            pixels {bytes} NOT NULL CHECK (length(pixels) = 784),  -- the 28x28 input, row-major
            prediction SMALLINT NOT NULL CHECK (prediction BETWEEN 0 AND 9),
            weights_sha256 TEXT NOT NULL CHECK (length(weights_sha256) = 64),
            strokes TEXT,  -- JSON [[[x, y], ...], ...] when the client sent them
            created {time} NOT NULL
        )
        """,
        # A profile's examples, in order: counts, the adaptation's reads, ON DELETE CASCADE.
        "CREATE INDEX examples_by_profile ON examples (profile, id)",
    ),
)


def steps_for(types: dict[str, str]) -> list[list[str]]:
    """MIGRATIONS with a dialect's column types filled in."""
    return [[statement.format(**types) for statement in step] for step in MIGRATIONS]

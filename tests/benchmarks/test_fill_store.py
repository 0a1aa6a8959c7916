"""benchmarks/fill_store.py on a small store: one profile per held-out writer, refusal when full."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from benchmarks.fill_store import main

WRITERS = 13  # the writers of `apa` and `uqb`, held out by split_by_contributor


def counts(database: Path) -> tuple[int, int, list[int]]:
    """Profiles, examples, and examples in each profile."""
    with sqlite3.connect(database) as connection:
        profiles = connection.execute("SELECT COUNT(*) FROM profiles").fetchone()[0]
        examples = connection.execute("SELECT COUNT(*) FROM examples").fetchone()[0]
        rows = connection.execute(
            "SELECT COUNT(e.id) FROM profiles p LEFT JOIN examples e ON e.profile = p.id "
            "GROUP BY p.id"
        ).fetchall()
    return profiles, examples, sorted(n for (n,) in rows)


def test_fills_refuses_and_appends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "store" / "digits.sqlite3"
    assert main(["--database", str(database), "--per-writer", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["writers"] == WRITERS
    assert report["examples"] == sum(report["per_digit"]) == 2 * WRITERS
    assert counts(database) == (WRITERS, 2 * WRITERS, [2] * WRITERS)

    assert main(["--database", str(database), "--per-writer", "2"]) == 1
    refusal = capsys.readouterr()
    assert refusal.out == ""
    assert refusal.err.count("\n") == 1
    assert f"already holds {2 * WRITERS} examples" in refusal.err
    assert "--append" in refusal.err
    assert counts(database) == (WRITERS, 2 * WRITERS, [2] * WRITERS)

    assert main(["--database", str(database), "--per-writer", "1", "--append"]) == 0
    assert counts(database) == (2 * WRITERS, 3 * WRITERS, [1] * WRITERS + [2] * WRITERS)


def test_bad_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database", "mysql://user@host/db"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database\n" * 100)
    assert main(["--database", str(not_sqlite)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "unavailable" in error

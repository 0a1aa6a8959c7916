"""How a serving process runs: its BLAS threads, set by the app factory that `digits serve` uses."""

from __future__ import annotations

import pytest

import app.main
from app.main import create_app_from_env
from tests.conftest import SHIPPED_WEIGHTS


def test_the_factory_sets_the_configured_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(app.main, "set_blas_threads", lambda n: calls.append(n) or True)
    monkeypatch.setenv("DIGITS_WEIGHTS", str(SHIPPED_WEIGHTS))
    create_app_from_env()
    monkeypatch.setenv("DIGITS_BLAS_THREADS", "3")
    create_app_from_env()
    assert calls == [1, 3]  # one thread by default

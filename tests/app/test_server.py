"""How a serving process runs: its BLAS threads, set by the app factory that `digits serve` uses."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import app.main
from app.main import create_app_from_env
from app.server import set_blas_threads
from tests.conftest import SHIPPED_WEIGHTS


def openblas_threads() -> int | None:
    """What NumPy's bundled OpenBLAS reports, or None without one (then nothing is checked)."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        library = ctypes.CDLL(str(path))
        for symbol in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"):
            if hasattr(library, symbol):
                return int(getattr(library, symbol)())
    return None


@pytest.fixture
def restore_blas_threads() -> Iterator[None]:
    before = openblas_threads()
    yield
    if before is not None:
        set_blas_threads(before)


@pytest.mark.usefixtures("restore_blas_threads")
def test_set_blas_threads_changes_numpys_openblas() -> None:
    if openblas_threads() is None:
        pytest.skip("NumPy is not built with its bundled OpenBLAS here")
    assert set_blas_threads(1)
    assert openblas_threads() == 1
    x = np.ones((64, 64), np.float32)
    assert (x @ x == 64).all()  # and BLAS still works


def test_the_factory_sets_the_configured_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(app.main, "set_blas_threads", lambda n: calls.append(n) or True)
    monkeypatch.setenv("DIGITS_WEIGHTS", str(SHIPPED_WEIGHTS))
    create_app_from_env()
    monkeypatch.setenv("DIGITS_BLAS_THREADS", "3")
    create_app_from_env()
    assert calls == [1, 3]  # one thread by default

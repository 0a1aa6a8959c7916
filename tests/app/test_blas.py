"""Reading and setting NumPy's OpenBLAS thread count at run time."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.blas import blas_threads, set_blas_threads


@pytest.fixture
def restore_blas_threads() -> Iterator[None]:
    before = blas_threads()
    yield
    if before is not None:
        set_blas_threads(before)


@pytest.mark.usefixtures("restore_blas_threads")
def test_set_blas_threads_changes_numpys_openblas() -> None:
    if blas_threads() is None:
        pytest.skip("NumPy is not built with its bundled OpenBLAS here")
    assert set_blas_threads(1)
    assert blas_threads() == 1
    x = np.ones((64, 64), np.float32)
    assert (x @ x == 64).all()  # and BLAS still works

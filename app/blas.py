"""NumPy's bundled OpenBLAS: how many threads it uses, and setting that at run time.

NumPy wheels ship OpenBLAS with prefixed symbols (a suffix for the 64-bit integer build), and
`OPENBLAS_NUM_THREADS` only counts before NumPy is imported; these calls work afterwards too.
Elsewhere (NumPy built against another BLAS) they report None or False and change nothing.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

GET_THREADS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads")
SET_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads")


def _openblas_function(names: tuple[str, ...]) -> ctypes._NamedFuncPointer | None:
    """The first of `names` in NumPy's bundled OpenBLAS (already loaded: same library, state)."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        library = ctypes.CDLL(str(path))
        for name in names:
            if hasattr(library, name):
                function: ctypes._NamedFuncPointer = getattr(library, name)
                return function
    return None


def blas_threads() -> int | None:
    """Threads NumPy's OpenBLAS uses now, or None without the bundled OpenBLAS."""
    function = _openblas_function(GET_THREADS)
    return None if function is None else int(function())


def set_blas_threads(threads: int) -> bool:
    """Use `threads` BLAS threads in this process from now on; False if that cannot be done."""
    function = _openblas_function(SET_THREADS)
    if function is None:
        return False
    function(ctypes.c_int(threads))
    return True

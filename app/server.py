"""How a `digits serve` process runs: TCP_NODELAY on every connection, and few BLAS threads.

uvicorn sets TCP_NODELAY only in its single-process path; with `--workers N` small keep-alive
responses then wait about 40 ms for the client's delayed ACK (uvicorn issue #3149). Setting it
ourselves makes one worker and many behave the same.

NumPy's OpenBLAS starts one thread per core, and its idle threads spin for a while after each
call. A server answers many small requests side by side (an event loop, worker threads, perhaps
several processes), so those spinning threads only take the cores the requests need: with
another process busy on a 2-core machine, one /api/predict request cost about 20 ms of server
CPU instead of 2 ms (benchmarks/bench_http.py).
"""

from __future__ import annotations

import asyncio
import ctypes
import socket
from pathlib import Path
from typing import cast

import numpy as np
from uvicorn.protocols.http.h11_impl import H11Protocol

# NumPy wheels bundle OpenBLAS with prefixed symbols; the 64-bit integer build adds a suffix.
SET_THREADS_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads")


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def set_blas_threads(threads: int) -> bool:
    """Ask NumPy's bundled OpenBLAS to use `threads` threads in this process from now on.

    Returns False, changing nothing, when NumPy was built against another BLAS (the
    OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS variables still apply then).
    """
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        library = ctypes.CDLL(str(path))  # already loaded by NumPy: the same library, same state
        for symbol in SET_THREADS_SYMBOLS:
            if hasattr(library, symbol):
                getattr(library, symbol)(ctypes.c_int(threads))
                return True
    return False

"""uvicorn's HTTP protocol with Nagle's algorithm switched off on every connection.

uvicorn sets TCP_NODELAY only in its single-process path; with `--workers N` small keep-alive
responses then wait about 40 ms for the client's delayed ACK (uvicorn issue #3149). Setting it
ourselves makes one worker and many behave the same.
"""

from __future__ import annotations

import asyncio
import socket
from typing import cast

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

"""HEAD is answered as GET without the body, on every path: uptime and link checkers ask with it.

FastAPI's routes answer only the methods they name, so HEAD /api/model was a 405 although GET
works. A HEAD request is routed as a GET, and the body of the answer is dropped on its way out
(its headers, Content-Length included, are the GET's, as RFC 9110 section 9.3.2 asks). A path
with no GET still answers 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Pure ASGI middleware: HEAD routed as GET, the response body dropped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)

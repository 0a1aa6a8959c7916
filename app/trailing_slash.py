"""Trailing slashes on a JSON endpoint's path are ignored: POST /api/predict/ is POST /api/predict.

Starlette would answer such a path with an empty 307 redirect to the path without the slash.
Browsers follow it, but an API client may not, or may follow it without the body. Dropping the
slashes before routing gives the same answer as the path without it, status and all. Only the JSON
API (/api/..., /healthz) is rewritten: pages keep Starlette's redirect, and /static/ keeps its
own paths.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

JSON_PREFIXES = ("/api/", "/healthz/")


def has_extra_slash(route_path: str) -> bool:
    """Whether `route_path` is a JSON endpoint's path with trailing slashes to drop."""
    return route_path.endswith("/") and route_path.startswith(JSON_PREFIXES)


class TrailingSlashMiddleware:
    """Pure ASGI middleware: drops the slashes from the request's path and raw path, then routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Behind a proxy's prefix (root_path), routes match what follows the prefix.
        if scope["type"] == "http" and has_extra_slash(
            scope["path"].removeprefix(scope.get("root_path", ""))
        ):
            scope = {**scope, "path": scope["path"].rstrip("/")}
            if isinstance(scope.get("raw_path"), bytes):
                scope["raw_path"] = scope["raw_path"].rstrip(b"/")
        await self.app(scope, receive, send)

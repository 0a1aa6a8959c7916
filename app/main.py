"""The application factory: `create_app(settings)` builds the FastAPI app around one model."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi.utils import is_body_allowed_for_status_code
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.adaptation import PrototypeCache
from app.blas import set_blas_threads
from app.errors import error_code
from app.head import HeadAsGetMiddleware
from app.inputs import single_query_values
from app.routes import api, explain, number, pages, profiles
from app.security import SecurityHeadersMiddleware, security_headers
from app.settings import Settings
from app.store import StoreError, open_store
from app.trailing_slash import TrailingSlashMiddleware
from model.resources import resource_dir
from model.serving.predictor import Predictor

APP_DIR = Path(__file__).resolve().parent
logger = logging.getLogger("digits")


def create_app(settings: Settings | None = None, predictor: Predictor | None = None) -> FastAPI:
    """Build the app. The weight file is loaded once, at start-up, unless `predictor` is given."""
    settings = settings if settings is not None else Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.predictor = predictor or Predictor.from_file(settings.weights)
        # The example store: opened (created, migrated) by its first use, not here, so a broken
        # database costs only its own endpoints (503), never prediction. Its check runs here
        # (a trial write, SQLite's check of every page), so a damaged file is known before any
        # request writes into it; what it finds is the endpoints' 503, not a failed start.
        app.state.store = open_store(settings.database, settings.store_limits)
        with suppress(StoreError):
            await run_in_threadpool(app.state.store.check)
        app.state.prototypes = PrototypeCache(app.state.store, app.state.predictor)
        yield
        app.state.store.close()

    app = FastAPI(
        title="digits",
        summary="Draw a digit; a NumPy MLP reads it.",
        version="0.1.0",
        lifespan=lifespan,
        # /docs is our own page (app/routes/pages.py), Swagger UI served from static/vendor/
        # under the strict CSP; FastAPI's would load it from a CDN. No ReDoc.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(single_query_values)],
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=resource_dir("templates", APP_DIR))
    app.state.static_dir = resource_dir("static", APP_DIR)
    app.mount("/static", StaticFiles(directory=app.state.static_dir), name="static")
    app.include_router(api.router)
    app.include_router(explain.router)
    app.include_router(number.router)
    app.include_router(profiles.router)
    app.include_router(pages.router)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(405, _method_not_allowed)
    app.add_exception_handler(Exception, _unexpected_error)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `digits serve`, also with several workers).

    It runs once in every serving process, so it also sets that process's BLAS threads. NumPy's
    OpenBLAS starts one thread per core, and idle threads spin for a while after each call. A
    server answers many small requests side by side (an event loop, worker threads, perhaps
    several processes), so those spinning threads only take the cores the requests need: with
    another process busy on a 2-core machine, one /api/predict request cost about 20 ms of server
    CPU instead of 2 ms (benchmarks/bench_http.py).
    """
    settings = Settings.from_env()
    if not set_blas_threads(settings.blas_threads):
        logger.warning("cannot find NumPy's OpenBLAS: BLAS threads left at the library default")
    return create_app(settings)


async def _http_error(request: Request, error: Exception) -> Response:
    """Every HTTP error as `{"detail": ..., "code": ...}` (app/errors.py has the codes)."""
    assert isinstance(error, StarletteHTTPException)
    headers = getattr(error, "headers", None)
    if not is_body_allowed_for_status_code(error.status_code):
        return Response(status_code=error.status_code, headers=headers)
    if error.status_code == 404 and _is_page_request(request):
        templates = request.app.state.templates
        page: Response = templates.TemplateResponse(
            request, "not_found.html", {}, status_code=404, headers=headers
        )
        return page
    body = {"detail": error.detail, "code": error_code(error)}
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _is_page_request(request: Request) -> bool:
    """A browser navigating to a page (it asks for HTML first), not a program calling the API:
    the API's and the static files' 404s stay JSON whatever the client accepts."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or request.method not in ("GET", "HEAD"):
        return False
    accept = request.headers.get("accept", "")
    return accept.split(",", 1)[0].strip().lower().startswith("text/html")


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse({"detail": detail, "code": "invalid_input"}, status_code=422)


async def _method_not_allowed(request: Request, error: Exception) -> JSONResponse:
    """405 whose `Allow` also names every method the schema documents for the path. Starlette
    names only those of the first route matching it, but GET and DELETE /api/profiles/{profile}
    are two routes."""
    original = (getattr(error, "headers", None) or {}).get("Allow", "")
    allowed = {method.strip() for method in original.split(",") if method.strip()}
    for path, operations in request.app.openapi()["paths"].items():
        if compile_path(path)[0].match(request.url.path):
            allowed |= {method.upper() for method in operations}
    headers = {"Allow": ", ".join(sorted(allowed))}
    body = {"detail": "Method Not Allowed", "code": "method_not_allowed"}
    return JSONResponse(body, status_code=405, headers=headers)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, HTTPException):  # pragma: no cover - handled by _http_error first
        body = {"detail": error.detail, "code": error_code(error)}
        return JSONResponse(body, status_code=error.status_code)
    # Logged here with the traceback; the client never sees internals.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    # This response is sent outside SecurityHeadersMiddleware, so it carries the headers itself.
    headers = {name.decode(): value.decode() for name, value in security_headers()}
    body = {"detail": "internal server error", "code": "internal_error"}
    return JSONResponse(body, status_code=500, headers=headers)

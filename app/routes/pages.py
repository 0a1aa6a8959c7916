"""HTML pages, rendered from templates/: the drawing page, the model page and the API docs;
and the site icon at /favicon.ico."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.deps import PredictorDep, SettingsDep
from app.report import model_overview, training_chart_figures
from app.schemas import DEFAULT_ATTACK_EPSILON
from model.serving.predictor import Predictor

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, predictor: PredictorDep, settings: SettingsDep) -> HTMLResponse:
    templates = request.app.state.templates
    context = {
        "model": predictor.info(),
        "attack": {"epsilon": DEFAULT_ATTACK_EPSILON, "max_epsilon": settings.max_attack_epsilon},
    }
    response: HTMLResponse = templates.TemplateResponse(request, "index.html", context)
    return response


@router.get("/model", response_class=HTMLResponse, include_in_schema=False)
def model_page(request: Request, predictor: PredictorDep) -> HTMLResponse:
    """The model page: text and training curves rendered here; the other charts are drawn by
    static/js/model-page.js from GET /api/model/report."""
    templates = request.app.state.templates
    context = {"model": model_overview(predictor), "training_charts": _training_charts(predictor)}
    response: HTMLResponse = templates.TemplateResponse(request, "model.html", context)
    return response


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request, predictor: PredictorDep) -> HTMLResponse:
    """The API docs: Swagger UI, served from static/vendor/ and started by static/js/docs.js, so
    it runs under the same strict CSP as every page (FastAPI's own /docs loads it from a CDN)."""
    templates = request.app.state.templates
    openapi_url = request.scope.get("root_path", "") + request.app.openapi_url
    context = {"model": predictor.info(), "openapi_url": openapi_url}
    response: HTMLResponse = templates.TemplateResponse(request, "docs.html", context)
    return response


@router.get("/favicon.ico", include_in_schema=False)
async def favicon(request: Request) -> FileResponse:
    """The site icon for clients that ask for /favicon.ico rather than read the page's links
    (static/favicon.ico, made from static/favicon.svg by docs/make_favicon.py)."""
    return FileResponse(request.app.state.static_dir / "favicon.ico", media_type="image/x-icon")


@functools.lru_cache(maxsize=4)
def _training_charts(predictor: Predictor) -> tuple[tuple[str, str], ...]:
    # Drawn from the loaded weights, which never change: once per model, not per request.
    return tuple(training_chart_figures(predictor))

"""HTML pages, rendered from templates/: the drawing page and the model page."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

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


@functools.lru_cache(maxsize=4)
def _training_charts(predictor: Predictor) -> tuple[tuple[str, str], ...]:
    # Drawn from the loaded weights, which never change: once per model, not per request.
    return tuple(training_chart_figures(predictor))

"""HTML pages, rendered from templates/: the drawing page and the model page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import PredictorDep, SettingsDep
from app.report import model_overview
from app.schemas import DEFAULT_ATTACK_EPSILON

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
    """The model page: text parts rendered here, charts drawn by static/js/model-page.js from
    GET /api/model/report."""
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, "model.html", {"model": model_overview(predictor)}
    )
    return response

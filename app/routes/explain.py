"""Looking inside the network: saliency and activations, a targeted attack, the model report.

The input forms and error rules are those of /api/predict (see app/inputs.py); the work is done
by model/serving/explain.py and app/report.py in a worker thread.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from numpy.typing import NDArray
from starlette.concurrency import run_in_threadpool

from app.deps import PredictorDep, PrototypesDep, SettingsDep
from app.inputs import body_or_query, check_attack_limits, image_body, read_image_input
from app.report import model_report
from app.routes.api import ProfileQuery
from app.routes.profiles import prototypes_for
from app.schemas import (
    DEFAULT_ATTACK_EPSILON,
    DEFAULT_ATTACK_STEPS,
    AttackInput,
    AttackResponse,
    ExplainResponse,
    ModelReport,
    PredictInput,
    error_responses,
)
from model.serving.explain import Attack, Explanation, explain, targeted_attack
from model.serving.predictor import Predictor

router = APIRouter()

# Gradients are tiny numbers (a pixel moves a logit by ~0.001): keep significant figures,
# not decimal places. Five are far below anything a heatmap or a gradient check can see.
SIGNIFICANT_DIGITS = 5


def rounded(values: NDArray[Any]) -> Any:
    """Nested lists of `values` at SIGNIFICANT_DIGITS significant figures (short JSON)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        return float(f"{node:.{SIGNIFICANT_DIGITS}g}")

    return walk(values.tolist())


def to_explain_response(explanation: Explanation, profile: str | None = None) -> ExplainResponse:
    return ExplainResponse(
        digit=explanation.digit,
        probabilities=explanation.probabilities,
        verdict=explanation.verdict,
        saliency=rounded(explanation.saliency),
        grad_x_input=rounded(explanation.grad_x_input),
        activations=[rounded(layer) for layer in explanation.activations],
        profile=profile,
    )


def to_attack_response(attack: Attack) -> AttackResponse:
    return AttackResponse(
        digit=attack.digit,
        probabilities=attack.probabilities,
        original_digit=attack.original_digit,
        perturbed=attack.perturbed.tolist(),
        linf=attack.linf,
        steps_taken=attack.steps_taken,
    )


@router.post(
    "/api/explain",
    response_model=ExplainResponse,
    response_model_exclude_none=True,  # "profile" only when there is one
    responses=error_responses(400, 404, 413, 415, 422, 503),
    openapi_extra=image_body(PredictInput),
    summary="Saliency, gradient x input and hidden activations for one image",
)
async def explain_image(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    cache: PrototypesDep,
    profile: ProfileQuery = None,
) -> ExplainResponse:
    """The same inputs as /api/predict: JSON `{"image": ...}` or `{"pixels": ...}`, or a raw
    image body, and optionally a `profile`. Gradients come from the network's own NumPy
    backward pass."""
    pixels, item = await read_image_input(request, settings, PredictInput)
    if item is not None:
        profile = body_or_query("profile", item.profile, profile)
    prototypes = await prototypes_for(cache, profile)
    explanation = await run_in_threadpool(explain, predictor, pixels, prototypes)
    return to_explain_response(explanation, profile)


@router.post(
    "/api/adversarial",
    response_model=AttackResponse,
    responses=error_responses(400, 413, 415, 422),
    openapi_extra=image_body(AttackInput),
    summary="Change an image, within epsilon per pixel, until the network reads `target`",
)
async def adversarial(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    target: Annotated[
        int | None,
        Query(ge=0, le=9, description="For a raw image body; with JSON, the body's `target`."),
    ] = None,
    epsilon: Annotated[
        int | None,
        Query(
            ge=0,
            le=255,
            description=f"See the JSON field (default {DEFAULT_ATTACK_EPSILON}).",
        ),
    ] = None,
    steps: Annotated[
        int | None,
        Query(ge=1, description=f"See the JSON field (default {DEFAULT_ATTACK_STEPS})."),
    ] = None,
) -> AttackResponse:
    """A targeted iterative gradient-sign attack on the 28x28 input (the image the network sees).

    JSON: an `image` or `pixels` as for /api/predict plus `target`, and optionally `epsilon` and
    `steps`. A raw image body (`image/png`, ...) takes them from the query string instead:
    `POST /api/adversarial?target=3&epsilon=48`. With JSON, a query value stands in for one the
    body leaves out (`epsilon`, `steps`), and one that differs from the body's is a 422.
    """
    pixels, item = await read_image_input(request, settings, AttackInput)
    if item is not None:
        given = item.model_fields_set
        target = body_or_query("target", item.target, target)
        epsilon = body_or_query("epsilon", item.epsilon if "epsilon" in given else None, epsilon)
        steps = body_or_query("steps", item.steps if "steps" in given else None, steps)
    if target is None:  # only a raw image body can leave it out: the JSON schema requires it
        raise HTTPException(422, "with a raw image body, give the target as ?target=0..9")
    epsilon = DEFAULT_ATTACK_EPSILON if epsilon is None else epsilon
    steps = DEFAULT_ATTACK_STEPS if steps is None else steps
    check_attack_limits(epsilon, steps, settings)
    attack = await run_in_threadpool(targeted_attack, predictor, pixels, target, epsilon, steps)
    return to_attack_response(attack)


@router.get(
    "/api/model/report",
    response_model=ModelReport,
    summary="Everything the model page shows: architecture, curves, metrics, mistakes, weights",
)
async def report(predictor: PredictorDep) -> ModelReport:
    return await run_in_threadpool(_report_for, predictor)


@functools.lru_cache(maxsize=4)
def _report_for(predictor: Predictor) -> ModelReport:
    # Built from the loaded weights, which never change: once per model, not per request.
    return ModelReport.model_validate(model_report(predictor))

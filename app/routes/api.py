"""The JSON API: predict one image or a batch, describe the model, health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from app.deps import PredictorDep, PrototypesDep, SettingsDep
from app.inputs import (
    body_or_query,
    check_not_empty,
    image_body,
    items_to_pixels,
    media_type,
    parse_json,
    read_body,
    read_image_input,
)
from app.routes.profiles import prototypes_for
from app.schemas import (
    MAX_PROFILE_ID,
    READ_PROFILE_DESCRIPTION,
    BatchInput,
    BatchResponse,
    Health,
    ModelInfo,
    PredictInput,
    PredictResponse,
    error_responses,
    inline_json_schema,
)
from model.serving.predictor import Prediction

router = APIRouter()

PREDICT_BODY = image_body(PredictInput)
# `?profile=` for a raw image body (JSON carries its own); /api/number and /api/explain share it.
ProfileQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_PROFILE_ID,
        description="For a raw image body; with JSON, the body's `profile` (the same value, if "
        "both are given). " + READ_PROFILE_DESCRIPTION,
    ),
]
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": inline_json_schema(BatchInput)}},
    }
}


def to_response(prediction: Prediction, profile: str | None = None) -> PredictResponse:
    # Built without validation: a Prediction already holds exactly these types (a digit from
    # argmax, 10 probabilities, 28x28 ints 0..255), so checking all 784 pixels on every request
    # would be wasted work. FastAPI still serialises it as PredictResponse (the same bytes).
    return PredictResponse.model_construct(
        digit=prediction.digit,
        confidence=prediction.confidence,
        probabilities=prediction.probabilities,
        verdict=prediction.verdict,
        input=prediction.pixels.tolist(),
        profile=profile,
    )


@router.post(
    "/api/predict",
    response_model=PredictResponse,
    response_model_exclude_none=True,  # "profile" only when there is one
    responses=error_responses(400, 404, 413, 415, 422, 503),
    openapi_extra=PREDICT_BODY,
    summary="Predict the digit in one image",
)
async def predict(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    cache: PrototypesDep,
    profile: ProfileQuery = None,
) -> PredictResponse:
    """JSON `{"image": ...}` or `{"pixels": ...}`, or a raw image body (`image/png`, ...);
    optionally a `profile` (JSON field, or `?profile=` with a raw image body) to read with the
    model adapted to that profile's examples."""
    # Decoding runs in a worker thread (read_image_input), so a slow image never blocks the
    # event loop; one 28x28 forward pass takes tens of microseconds, less than a thread hop.
    pixels, item = await read_image_input(request, settings, PredictInput)
    if item is not None:
        profile = body_or_query("profile", item.profile, profile)
    prototypes = await prototypes_for(cache, profile)
    return to_response(predictor.predict([pixels], prototypes)[0], profile)


@router.post(
    "/api/predict/batch",
    response_model=BatchResponse,
    response_model_exclude_none=True,  # "profile" only when there is one
    responses=error_responses(400, 404, 413, 415, 422, 503),
    openapi_extra=BATCH_BODY,
    summary="Predict many images in one request",
)
async def predict_batch(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    cache: PrototypesDep,
    profile: ProfileQuery = None,
) -> BatchResponse:
    """`{"instances": [item, ...]}`, optionally with a `"profile"` for all of them (or
    `?profile=`); answers `{"predictions": [...]}` in the same order."""
    if media_type(request) != "application/json":
        check_not_empty(request)
        raise HTTPException(415, "send the batch as application/json")
    body = await read_body(request, settings.max_batch_body_bytes)
    batch = parse_json(body, BatchInput)
    profile = body_or_query("profile", batch.profile, profile)
    if len(batch.instances) > settings.max_batch_items:
        raise HTTPException(
            413, f"{len(batch.instances)} instances; the limit is {settings.max_batch_items}"
        )
    images = await run_in_threadpool(
        items_to_pixels, batch, settings.image_limits, settings.max_batch_pixels
    )
    prototypes = await prototypes_for(cache, profile)
    predictions = await run_in_threadpool(predictor.predict, images, prototypes)
    return BatchResponse.model_construct(
        predictions=[to_response(p, profile) for p in predictions], profile=profile
    )


@router.get("/api/model", response_model=ModelInfo, summary="Describe the served model")
async def model_info(predictor: PredictorDep) -> ModelInfo:
    return ModelInfo.model_validate(predictor.info())


@router.get("/healthz", response_model=Health, summary="Liveness check")
async def healthz() -> Health:  # async: a health check should not wait for a thread
    return Health()

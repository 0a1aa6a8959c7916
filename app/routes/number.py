"""Read a whole number: every digit in one drawing, found by `model.serving.segment`.

The input forms and error rules are those of /api/predict (app/inputs.py): JSON with an
`image`, or a raw image body; JSON may add the drawing's `strokes`. The work (decoding, finding
the pieces, reading them all in one batch) runs in a worker thread: it takes milliseconds.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from app.deps import PredictorDep, PrototypesDep, SettingsDep
from app.inputs import (
    body_or_query,
    decode_base64_image,
    image_body,
    parse_json,
    read_json_or_image_body,
    status_for,
)
from app.routes.api import ProfileQuery
from app.routes.profiles import prototypes_for
from app.schemas import (
    ImageInput,
    NumberDigit,
    NumberInput,
    NumberResponse,
    error_responses,
    inline_json_schema,
)
from app.settings import Settings
from model.serving.preprocess import PreprocessError
from model.serving.segment import NumberReading, read_number_image

router = APIRouter()


def _number_body() -> dict[str, Any]:
    """`openapi_extra`: what /api/predict accepts, with NumberInput as the JSON body."""
    body = image_body(ImageInput)
    body["requestBody"]["content"]["application/json"]["schema"] = inline_json_schema(NumberInput)
    return body


NUMBER_BODY = _number_body()


def to_number_response(reading: NumberReading, profile: str | None = None) -> NumberResponse:
    # Built without validation, as /api/predict's answer is: the reading already holds exactly
    # these types (digits from argmax, 10 probabilities, boxes of ints, 28x28 ints 0..255).
    return NumberResponse.model_construct(
        number=reading.number,
        verdict=reading.verdict,
        confidence=reading.confidence,
        digits=[
            NumberDigit.model_construct(
                digit=piece.prediction.digit,
                verdict=verdict,
                confidence=piece.prediction.confidence,
                probabilities=piece.prediction.probabilities,
                box=list(piece.box),
                input=piece.prediction.pixels.tolist(),
            )
            for piece, verdict in zip(reading.pieces, reading.verdicts, strict=True)
        ],
        profile=profile,
    )


async def read_number_input(
    request: Request, settings: Settings
) -> tuple[bytes, NumberInput | None]:
    """The encoded image and the parsed JSON (None for a raw image body) of a request."""
    is_json, body = await read_json_or_image_body(request, settings)
    if not is_json:
        return body, None
    item: NumberInput = parse_json(body, NumberInput)
    return decode_base64_image(item.image), item


@router.post(
    "/api/number",
    response_model=NumberResponse,
    response_model_exclude_none=True,  # "profile" only when there is one
    responses=error_responses(400, 404, 413, 415, 422, 503),
    openapi_extra=NUMBER_BODY,
    summary="Read a whole number: every digit in one drawing, left to right",
)
async def read_number(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    cache: PrototypesDep,
    profile: ProfileQuery = None,
) -> NumberResponse:
    """JSON `{"image": ..., "strokes": [...]}` (strokes optional) or a raw image body.

    The drawing is cut into pieces that the network reads best as one digit each
    (segmentation by recognition); each piece goes through the same recipe as /api/predict.
    With a `profile` (JSON field, or `?profile=` with a raw image body), every piece is read
    with the model adapted to that profile's examples.
    """
    data, item = await read_number_input(request, settings)
    strokes = None
    if item is not None:
        profile, strokes = body_or_query("profile", item.profile, profile), item.strokes
    prototypes = await prototypes_for(cache, profile)
    try:
        reading = await run_in_threadpool(
            read_number_image, predictor, data, settings.image_limits, strokes, prototypes
        )
    except PreprocessError as error:
        raise HTTPException(status_for(error), str(error)) from None
    return to_number_response(reading, profile)

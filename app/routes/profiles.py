"""Profiles and examples: drawings people label, kept so the model can learn their handwriting.

Thin routes over the store (app/store/). Each store call runs in a worker thread (it waits on
the disk or the network), and the store's refusals map to statuses here: 404 unknown profile,
403 database at its size limit (a storage quota, as Google Drive's
storageQuotaExceeded), 429 profile full, 503 store unavailable. The image inputs and
their errors are /api/predict's (app/inputs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.adaptation import PrototypeCache
from app.deps import PredictorDep, PrototypesDep, SettingsDep, StoreDep
from app.errors import ApiError
from app.inputs import body_or_query, image_body, read_image_input
from app.schemas import (
    MAX_PROFILE_ID,
    ExampleInput,
    ExampleStored,
    ProfileCreated,
    ProfileInfo,
    error_responses,
)
from app.store import (
    DatabaseFullError,
    ProfileFullError,
    StoreError,
    StoreUnavailableError,
    UnknownProfileError,
)
from model.serving.prototypes import Prototypes

router = APIRouter()

ResultT = TypeVar("ResultT")
STATUS = {
    UnknownProfileError: 404,
    ProfileFullError: 429,
    StoreUnavailableError: 503,
    DatabaseFullError: 403,
}
ProfileId = Annotated[str, Path(max_length=MAX_PROFILE_ID, description="The profile's id.")]


async def in_store(call: Callable[..., ResultT], *args: Any) -> ResultT:
    """`call(*args)` in a worker thread; a store refusal becomes its HTTP error."""
    try:
        return await run_in_threadpool(call, *args)
    except StoreError as error:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 503)
        raise HTTPException(status, str(error)) from None


async def prototypes_for(cache: PrototypeCache, profile: str | None) -> Prototypes | None:
    """None without a profile; with one, its prototypes as of its newest example (404 for an
    unknown profile, 503 when the store cannot answer)."""
    if profile is None:
        return None
    return await in_store(cache.get, profile)


def unknown_profile() -> HTTPException:
    return HTTPException(404, "unknown profile")


@router.post(
    "/api/profiles",
    status_code=201,
    response_model=ProfileCreated,
    responses=error_responses(403, 503),
    summary="Start a profile: a place for one person's examples",
)
async def create_profile(store: StoreDep) -> ProfileCreated:
    """The id is the only key to the profile: anyone who has it can read and delete it."""
    return ProfileCreated(profile=await in_store(store.create_profile))


@router.get(
    "/api/profiles/{profile}",
    response_model=ProfileInfo,
    responses=error_responses(404, 503),
    summary="How many examples a profile holds, per digit",
)
async def profile_info(profile: ProfileId, store: StoreDep) -> ProfileInfo:
    counts = await in_store(store.profile_counts, profile)
    if counts is None:
        raise unknown_profile()
    return ProfileInfo(profile=profile, examples=sum(counts), per_digit=counts)


@router.delete(
    "/api/profiles/{profile}",
    status_code=204,
    response_class=Response,
    responses=error_responses(404, 503),
    summary="Delete a profile and every example stored in it",
)
async def delete_profile(profile: ProfileId, store: StoreDep, cache: PrototypesDep) -> Response:
    deleted = await in_store(store.delete_profile, profile)
    cache.forget(profile)  # nothing derived from its drawings stays in this process either
    if not deleted:
        raise unknown_profile()
    return Response(status_code=204)


@router.post(
    "/api/examples",
    status_code=201,
    response_model=ExampleStored,
    responses=error_responses(400, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=image_body(ExampleInput),
    summary="Store a labelled drawing (with the model's prediction for it)",
)
async def add_example(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    store: StoreDep,
    label: Annotated[
        int | None,
        Query(ge=0, le=9, description="For a raw image body; with JSON, the body's `label`."),
    ] = None,
    profile: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_PROFILE_ID,
            description="For a raw image body; with JSON, the body's `profile` (the same value, "
            "if both are given).",
        ),
    ] = None,
) -> ExampleStored:
    """The inputs of /api/predict plus `label` (0..9), and optionally `profile` and `strokes`.

    A raw image body (`image/png`, ...) takes `label` and `profile` from the query string:
    `POST /api/examples?label=7&profile=...`. With JSON, a query value stands in for one the
    body leaves out, and one that differs from the body's is a 422. Stored:
    the 28x28 input the network saw, the label, the model's prediction and its weight file's
    SHA-256, the profile, the time, and the strokes if sent; nothing about the sender.
    """
    pixels, item = await read_image_input(request, settings, ExampleInput)
    strokes = None
    if item is not None:
        label = body_or_query("label", item.label, label)
        profile = body_or_query("profile", item.profile, profile)
        strokes = item.strokes
    if label is None:
        raise ApiError(
            422,
            "invalid_input",
            "with a raw image body, give the label as ?label=0..9"
            if item is None
            else 'no label: give "label": 0..9 in the JSON body, or ?label=0..9',
        )
    digit = predictor.predict([pixels])[0].digit
    example_id, count = await in_store(
        store.add_example, pixels, label, digit, predictor.sha256, profile, strokes
    )
    return ExampleStored(id=example_id, profile=profile, examples=count)

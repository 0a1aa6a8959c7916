"""Typed dependencies: routes reach the loaded model, the settings and the store through these."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from app.adaptation import PrototypeCache
from app.settings import Settings
from app.store import Store
from model.serving.predictor import Predictor


# async on purpose: FastAPI runs plain `def` dependencies in a worker thread, a hop that costs
# more than these attribute reads.
async def get_predictor(request: Request) -> Predictor:
    return cast(Predictor, request.app.state.predictor)


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_store(request: Request) -> Store:
    return cast(Store, request.app.state.store)


async def get_prototypes(request: Request) -> PrototypeCache:
    return cast(PrototypeCache, request.app.state.prototypes)


PredictorDep = Annotated[Predictor, Depends(get_predictor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
PrototypesDep = Annotated[PrototypeCache, Depends(get_prototypes)]

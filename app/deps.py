"""Typed dependencies: routes reach the loaded model and the settings through these."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from app.settings import Settings
from model.serving.predictor import Predictor


# async on purpose: FastAPI runs plain `def` dependencies in a worker thread, a hop that costs
# more than these attribute reads.
async def get_predictor(request: Request) -> Predictor:
    return cast(Predictor, request.app.state.predictor)


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


PredictorDep = Annotated[Predictor, Depends(get_predictor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

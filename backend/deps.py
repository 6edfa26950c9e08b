"""Dependencies for routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from backend.conversation import Brain
from backend.jobs import JobStore


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_brain(request: Request) -> Brain:
    return request.app.state.brain


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BrainDep = Annotated[Brain, Depends(get_brain)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]

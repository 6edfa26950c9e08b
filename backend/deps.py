"""Dependencies for routes, as ``Annotated`` aliases: the app's ``Runtime`` and its parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.voice.store import VoiceStore
from backend.conversation import Brain
from backend.jobs import JobStore
from backend.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_pipeline(runtime: RuntimeDep) -> Pipeline:
    return runtime.pipeline


def get_settings(runtime: RuntimeDep) -> Settings:
    """The effective settings (the configuration plus the web app's choices) at the time of the request."""
    return runtime.settings


def get_brain(runtime: RuntimeDep) -> Brain:
    return runtime.brain


def get_jobs(runtime: RuntimeDep) -> JobStore:
    return runtime.jobs


def get_voices(runtime: RuntimeDep) -> VoiceStore:
    """A sync dependency on purpose: the first use sweeps the store (FastAPI runs it in its threadpool)."""
    return runtime.voices()


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BrainDep = Annotated[Brain, Depends(get_brain)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
VoicesDep = Annotated[VoiceStore, Depends(get_voices)]

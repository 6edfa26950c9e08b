"""``GET/PUT /api/settings``: engines per stage and the quality preset, changed from the web app.

A change is validated, saved and applied in the background by ``Runtime.choose``/``Runtime.switch``:
the stages whose settings changed are rebuilt one by one (``reloading`` shows which, with progress),
then swapped in. Conversations started afterwards use the new engines, and so do the render workers
(they follow the choices the server publishes). ``GET /api/settings/llm-models`` lists the GGUF models the
llama.cpp engine can be set to (``options.llm``): the embedded one and those `avatar models add-llm` added.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ai_pipeline.llm.gguf_registry import LlmModelChoice, choices

from backend.deps import RuntimeDep
from backend.runtime import Runtime
from backend.schemas import ERRORS, UiSettings
from backend.ui_settings import Choices, describe

router = APIRouter(prefix="/api", tags=["settings"], responses=ERRORS)


def _view(runtime: Runtime) -> dict[str, Any]:
    # reloading first: a switch assigns the settings before it leaves ``reloading``, so when nothing is
    # reloading here the settings read next are the new ones (GET runs in a thread beside the switch)
    reloading = dict(runtime.reloading)
    settings = runtime.settings
    return {**describe(settings), "reloading": reloading, "notices": list(runtime.pipeline.notices)}


@router.get("/settings", response_model=UiSettings)
def get_settings(runtime: RuntimeDep) -> dict[str, Any]:
    """Current engine per stage, every engine with a Russian label, the quality preset, reloads under way."""
    return _view(runtime)


@router.put("/settings", response_model=UiSettings)
async def put_settings(body: Choices, runtime: RuntimeDep) -> dict[str, Any]:
    """Change engines (``{"engines": {"tts": "espeak"}}``) and/or ``quality``; applied in the background."""
    runtime.choose(body)
    return _view(runtime)


class LlmModels(BaseModel):
    models: list[LlmModelChoice]
    current: str | None  # the llama.cpp engine's ``model`` now (None: another LLM engine runs)


@router.get("/settings/llm-models", response_model=LlmModels)
def llm_models(runtime: RuntimeDep) -> LlmModels:
    """The models the llama.cpp engine can run, each with the ``options.llm`` values that select it."""
    settings = runtime.settings
    current = getattr(settings.llm, "model", None) if settings.llm.engine == "llama_cpp" else None
    return LlmModels(models=choices(settings.models_dir), current=current)

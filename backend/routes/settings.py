"""``GET/PUT /api/settings``: engines per stage and the quality preset, changed from the web app.

A change is validated, saved and applied in the background by ``Runtime.choose``/``Runtime.switch``:
the stages whose settings changed are rebuilt one by one (``reloading`` shows which, with progress),
then swapped in. Conversations started afterwards use the new engines, and so do the render workers
(they follow the choices the server publishes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

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

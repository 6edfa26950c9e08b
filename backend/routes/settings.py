"""``GET/PUT /api/settings``: engines per stage and the quality preset, changed from the web app.

A change is validated, saved and applied in the background: the stages whose settings changed are
rebuilt one by one (``reloading`` shows which, with progress), then swapped in everywhere the app
keeps its settings. Conversations started afterwards use the new engines.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request

from ai_pipeline.errors import AvatarError
from ai_pipeline.settings import Settings
from backend.ui_settings import PIPELINE_ATTR, STAGE_UNIONS, Choices, apply_choices, describe, load_choices, \
    save_choices, validate_choices

router = APIRouter(prefix="/api", tags=["settings"])
log = logging.getLogger(__name__)


def _view(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {**describe(state.settings), "reloading": dict(getattr(state, "reloading", {})),
            "notices": list(state.pipeline.notices)}


@router.get("/settings")
def get_settings(request: Request) -> dict[str, Any]:
    """Current engine per stage, every engine with a Russian label, the quality preset, reloads under way."""
    return _view(request)


@router.put("/settings")
async def put_settings(body: Choices, request: Request) -> dict[str, Any]:
    """Change engines (``{"engines": {"tts": "espeak"}}``) and/or ``quality``; applied in the background."""
    state = request.app.state
    validate_choices(body)
    saved = load_choices(state.base_settings)
    merged = Choices(engines={**saved.engines, **body.engines}, quality=body.quality or saved.quality)
    new = apply_choices(state.base_settings, merged)
    save_choices(state.base_settings, merged)
    changed = [s for s in STAGE_UNIONS if getattr(new, s) != getattr(state.settings, s)]
    if changed or new.encoder != state.settings.encoder:
        state.reloading = {s: 0.0 for s in changed}
        task = asyncio.create_task(apply_live(request.app, new, changed))
        state.background.add(task)
        task.add_done_callback(state.background.discard)
    return _view(request)


async def apply_live(app: Any, new: Settings, stages: list[str]) -> None:
    """Rebuild ``stages`` with ``new`` settings and swap them in; a failed stage keeps its engine."""
    state = app.state
    pipeline, brain = state.pipeline, state.brain
    async with state.settings_lock:
        for stage in stages:
            attr = PIPELINE_ATTR[stage]
            old_engine, old_settings = getattr(pipeline, attr), pipeline.settings
            candidate = old_settings.model_copy(update={stage: getattr(new, stage)})
            try:
                if stage == "llm":  # no swap in the middle of a generation
                    async with brain._llm_lock:
                        await asyncio.to_thread(_load_stage, pipeline, candidate, stage)
                        brain.llm = pipeline.llm
                else:
                    await asyncio.to_thread(_load_stage, pipeline, candidate, stage)
            except (AvatarError, OSError, ValueError, RuntimeError) as exc:
                log.warning("switching %s failed: %s", stage, exc)
                pipeline.settings = old_settings
                setattr(pipeline, attr, old_engine)
                pipeline.notices.append(f"Не удалось переключить этап «{stage}»: {exc}")
                new = new.model_copy(update={stage: getattr(old_settings, stage)})
            else:
                if old_engine is not None and old_engine is not getattr(pipeline, attr):
                    await asyncio.to_thread(old_engine.close)
            state.reloading.pop(stage, None)
        pipeline.settings = new
        state.settings = state.services.settings = brain.settings = new
        state.reloading = {}


def _load_stage(pipeline: Any, settings: Settings, stage: str) -> None:
    pipeline.settings = settings
    pipeline.load(stages=(stage,))

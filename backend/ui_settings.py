"""Engine choices and the quality preset made in the web app: validated, saved, applied live.

The choices live in ``<data_dir>/ui_settings.json`` and are laid over the configured settings at
start-up (so a restart keeps them). Switching an engine builds the new one next to the old, swaps it in
and closes the old one; an engine that cannot load falls back to its light engine, as at start-up.
A section the configuration already describes for the chosen engine (e.g. the XTTS model folder from
``avatar.yaml``) is kept; otherwise the engine's defaults are used.

The stages, engines, labels and availability checks all come from the engine catalogue
(:mod:`ai_pipeline.registry`); nothing here names an engine.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ai_pipeline import registry
from ai_pipeline.engine import EngineInfo
from ai_pipeline.errors import InputError
from ai_pipeline.llm import gguf_registry
from ai_pipeline.registry import engine_table
from ai_pipeline.settings import Settings

log = logging.getLogger(__name__)
FILE_NAME = "ui_settings.json"
Quality = Literal["speed", "balanced", "quality"]

# The settings union of each switchable stage (every catalogue stage).
STAGE_UNIONS: dict[str, Any] = {stage: registry.settings_union(stage) for stage in registry.stages()}

# Russian label, heavy (wants a GPU or downloaded checkpoints), fallback and VRAM of every engine, per
# stage (the off choice "none" of enhance included): read from the engine classes via the catalogue.
ENGINE_INFO: dict[str, dict[str, EngineInfo]] = {
    stage: {name: registry.engine_info(stage, name) for name in names} for stage, names in engine_table().items()}

# What each quality preset changes: the talking head's frame size/rate and the encoder.
QUALITY_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "speed": {"talking_head": {"size": 384, "fps": 20}, "encoder": {"crf": 27, "preset": "ultrafast"}},
    "balanced": {"talking_head": {"size": 512, "fps": 25}, "encoder": {"crf": 23, "preset": "veryfast"}},
    "quality": {"talking_head": {"size": 512, "fps": 30}, "encoder": {"crf": 19, "preset": "faster"}},
}

# Options whose value must be one the server lists: a model file only among the registered ones (a web
# client must not make the server load any path it names; `avatar models add-llm` registers a file).
LISTED_OPTIONS: dict[tuple[str, str], Callable[[Settings], list[str]]] = {
    ("llm", "model"): lambda settings: [c.model for c in gguf_registry.choices(settings.models_dir)],
}


class Choices(BaseModel):
    """What the user picked (only what differs from the configuration is stored)."""

    model_config = ConfigDict(extra="forbid")

    engines: dict[str, str] = {}
    quality: Quality | None = None
    # per stage, engine fields the settings page may change (the engine's ``user_options``, e.g.
    # RHVoice's voice); kept when the engine changes and applied whenever the engine has those fields
    options: dict[str, dict[str, Any]] = {}


def choices_path(settings: Settings) -> Path:
    return settings.data_dir / FILE_NAME


def load_choices(settings: Settings) -> Choices:
    path = choices_path(settings)
    if not path.is_file():
        return Choices()
    try:
        return Choices.model_validate_json(path.read_text())
    except ValueError as exc:  # a hand-edited or truncated file must not stop the server
        log.warning("ignoring %s: %s", path, exc)
        return Choices()


def save_choices(settings: Settings, choices: Choices) -> None:
    path = choices_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(choices.model_dump_json(indent=2))
    tmp.replace(path)


def validate_choices(choices: Choices, base: Settings | None = None) -> None:
    """Known stages and engines; with ``base``, the options must be fields the engine in effect lets
    the user change, with values its settings accept (RHVoice: a known, allowed voice)."""
    table = engine_table()
    for stage, engine in choices.engines.items():
        if stage not in STAGE_UNIONS:
            raise InputError(f"Этап «{stage}» нельзя переключить.", f"unknown stage {stage}", code="bad_settings")
        if engine not in table.get(stage, []):
            raise InputError(f"Движок «{engine}» недоступен для этапа «{stage}».", f"unknown engine {engine}",
                             code="bad_settings")
    for stage in choices.options:
        if stage not in STAGE_UNIONS:
            raise InputError(f"Этап «{stage}» нельзя настроить.", f"unknown stage {stage}", code="bad_settings")
    if base is None:
        return
    for stage, options in choices.options.items():
        engine = choices.engines.get(stage, getattr(base, stage).engine)
        section = section_for(base, stage, engine)
        unknown = sorted(set(options) - set(getattr(type(section), "user_options", ())))
        if unknown:
            raise InputError(f"Параметры {', '.join(unknown)} движка «{engine}» нельзя менять здесь.",
                             f"{stage}.{engine} options not changeable from the web app: {unknown}",
                             code="bad_settings")
        for field, value in options.items():
            if (listed := LISTED_OPTIONS.get((stage, field))) and value not in (values := listed(base)):
                raise InputError(f"«{value}» нельзя выбрать: выберите из списка ({', '.join(map(str, values))}).",
                                 f"{stage}.{field}={value!r} is not one of {values}", code="bad_settings")
        try:
            with_options(section, options, strict=True)
        except ValueError as exc:
            raise InputError(f"Недопустимое значение параметров «{engine}»: {_first_error(exc)}",
                             f"{stage}.{engine} options rejected: {exc}", code="bad_settings") from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", exc))[:300]
    return str(exc)[:300]


def with_options(section: Any, options: dict[str, Any], *, strict: bool = False) -> Any:
    """``section`` with the options its engine lets the user change (others ignored), re-validated.
    Saved options that no longer validate (e.g. a voice the configuration now forbids) are skipped
    with a warning unless ``strict``."""
    allowed = {k: v for k, v in options.items() if k in getattr(type(section), "user_options", ())}
    if not allowed:
        return section
    try:
        return type(section).model_validate({**section.model_dump(), **allowed})
    except ValueError as exc:
        if strict:
            raise
        log.warning("ignoring saved %s options %s: %s", section.engine, allowed, exc)
        return section


def section_for(base: Settings, stage: str, engine: str) -> Any:
    """The configured section when it is for ``engine``, else the engine's defaults."""
    configured = getattr(base, stage)
    if configured.engine == engine:
        return configured
    return registry.settings_class(stage, engine)()


def apply_choices(base: Settings, choices: Choices) -> Settings:
    """``base`` with the user's engines and quality preset laid over it (a new frozen Settings)."""
    update: dict[str, Any] = {stage: section_for(base, stage, engine) for stage, engine in choices.engines.items()}
    for stage, options in choices.options.items():
        if stage in STAGE_UNIONS:
            update[stage] = with_options(update.get(stage, getattr(base, stage)), options)
    if choices.quality:
        preset = QUALITY_PRESETS[choices.quality]
        head = update.get("talking_head", base.talking_head)
        fields = {k: v for k, v in preset["talking_head"].items() if k in type(head).model_fields}
        update["talking_head"] = head.model_copy(update=fields)
        update["encoder"] = base.encoder.model_copy(update=preset["encoder"])
    return base.model_copy(update=update)


def effective_settings(base: Settings) -> Settings:
    """``base`` with the saved choices laid over it: what the server, the render workers and the CLI run on."""
    return apply_choices(base, load_choices(base))


def current_quality(settings: Settings) -> str:
    """The preset the settings match, else ``balanced``."""
    for name, preset in QUALITY_PRESETS.items():
        head = settings.talking_head.model_dump()
        if all(head.get(k, v) == v for k, v in preset["talking_head"].items()) and \
                all(getattr(settings.encoder, k) == v for k, v in preset["encoder"].items()):
            return name
    return "balanced"


def availability(settings: Settings, stage: str, engine: str) -> str | None:
    """Why ``engine`` cannot run here with the settings it would get (Russian), or None; cheap."""
    try:
        return registry.availability(stage, section_for(settings, stage, engine), settings.models_dir)
    except Exception as exc:  # noqa: BLE001 - a broken check must not take the settings page down
        log.warning("availability check of %s/%s failed: %s", stage, engine, exc)
        return f"проверка не удалась: {exc}"


def describe(settings: Settings) -> dict[str, Any]:
    """The settings page's view: the current engine per stage and every engine with its label, weight
    and whether it can run here (``reason_ru`` says why not; checked cheaply, no model is loaded)."""
    available: dict[str, list[dict[str, Any]]] = {}
    for stage, names in engine_table().items():
        available[stage] = []
        for name in names:
            info, reason = ENGINE_INFO[stage][name], availability(settings, stage, name)
            available[stage].append({"name": name, "label_ru": info.label_ru, "heavy": info.heavy,
                                     "available": reason is None, "reason_ru": reason})
    options = {}
    for stage in STAGE_UNIONS:
        section = getattr(settings, stage)
        if fields := getattr(type(section), "user_options", ()):
            options[stage] = {field: getattr(section, field) for field in fields}
    return {
        "engines": {stage: getattr(settings, stage).engine for stage in STAGE_UNIONS},
        "available": available,
        "quality": current_quality(settings),
        "options": options,
    }

"""Engine choices and the quality preset made in the web app: validated, saved, applied live.

The choices live in ``<data_dir>/ui_settings.json`` and are laid over the configured settings at
start-up (so a restart keeps them). Switching an engine builds the new one next to the old, swaps it in
and closes the old one; an engine that cannot load falls back to its light engine, as at start-up.
A section the configuration already describes for the chosen engine (e.g. the XTTS model folder from
``avatar.yaml``) is kept; otherwise the engine's defaults are used.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from ai_pipeline.errors import InputError
from ai_pipeline.registry import engine_table
from ai_pipeline.settings import (
    ASRSettings,
    EmotionSettings,
    EnhanceSettings,
    LLMSettings,
    Settings,
    TalkingHeadSettings,
    TTSSettings,
)

log = logging.getLogger(__name__)
FILE_NAME = "ui_settings.json"
Quality = Literal["speed", "balanced", "quality"]

# The settings union of each switchable stage.
STAGE_UNIONS: dict[str, Any] = {"asr": ASRSettings, "llm": LLMSettings, "emotion": EmotionSettings,
                                "tts": TTSSettings, "talking_head": TalkingHeadSettings, "enhance": EnhanceSettings}

# Russian labels for the settings page; ``heavy`` engines want a GPU or downloaded checkpoints.
ENGINE_INFO: dict[str, tuple[str, bool]] = {
    "faster_whisper": ("Whisper base (быстро, CPU)", False),
    "openai_whisper": ("Whisper large (точнее, нужна видеокарта)", True),
    "llama_cpp": ("Qwen2.5 1.5B (встроенная, CPU)", False),
    "ollama": ("Ollama (большие модели, свой сервер)", True),
    "lexicon": ("Словарь эмоций (CPU)", False),
    "rubert": ("RuBERT (нейросеть)", True),
    "festival": ("Festival (встроенный голос)", False),
    "espeak": ("eSpeak NG (самый лёгкий)", False),
    "xtts": ("XTTS-v2 (клонирование голоса, видеокарта)", True),
    "mesh_warp": ("Лёгкая анимация лица (CPU)", False),
    "wav2lip": ("Wav2Lip (точные губы, видеокарта)", True),
    "sadtalker": ("SadTalker (видеокарта)", True),
    "none": ("Без улучшения (быстрее всего)", False),
    "realesrgan_ncnn": ("Real-ESRGAN (ncnn; быстрая модель работает и на CPU)", False),
    "realesrgan_torch": ("Real-ESRGAN (PyTorch, видеокарта)", True),
    "gfpgan": ("GFPGAN (восстановление лица, видеокарта)", True),
}

# What each quality preset changes: the talking head's frame size/rate and the encoder.
QUALITY_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "speed": {"talking_head": {"size": 384, "fps": 20}, "encoder": {"crf": 27, "preset": "ultrafast"}},
    "balanced": {"talking_head": {"size": 512, "fps": 25}, "encoder": {"crf": 23, "preset": "veryfast"}},
    "quality": {"talking_head": {"size": 512, "fps": 30}, "encoder": {"crf": 19, "preset": "faster"}},
}


class Choices(BaseModel):
    """What the user picked (only what differs from the configuration is stored)."""

    model_config = ConfigDict(extra="forbid")

    engines: dict[str, str] = {}
    quality: Quality | None = None


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


def validate_choices(choices: Choices) -> None:
    table = engine_table()
    for stage, engine in choices.engines.items():
        if stage not in STAGE_UNIONS:
            raise InputError(f"Этап «{stage}» нельзя переключить.", f"unknown stage {stage}", code="bad_settings")
        if engine not in table.get(stage, []):
            raise InputError(f"Движок «{engine}» недоступен для этапа «{stage}».", f"unknown engine {engine}",
                             code="bad_settings")


def section_for(base: Settings, stage: str, engine: str) -> Any:
    """The configured section when it is for ``engine``, else the engine's defaults."""
    configured = getattr(base, stage)
    if configured.engine == engine:
        return configured
    return TypeAdapter(STAGE_UNIONS[stage]).validate_python({"engine": engine})


def apply_choices(base: Settings, choices: Choices) -> Settings:
    """``base`` with the user's engines and quality preset laid over it (a new frozen Settings)."""
    update: dict[str, Any] = {stage: section_for(base, stage, engine) for stage, engine in choices.engines.items()}
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


def describe(settings: Settings) -> dict[str, Any]:
    """The settings page's view: current engine per stage and every engine with its label."""
    table = engine_table()
    return {
        "engines": {stage: getattr(settings, stage).engine for stage in STAGE_UNIONS},
        "available": {stage: [{"name": name, "label_ru": ENGINE_INFO.get(name, (name, False))[0],
                               "heavy": ENGINE_INFO.get(name, (name, False))[1]} for name in table.get(stage, [])]
                      for stage in STAGE_UNIONS},
        "quality": current_quality(settings),
    }

"""The engine catalogue: one line per engine per stage, and everything derived from it.

Adding an engine = one file + one line here:

1. a module (e.g. ``ai_pipeline/tts/my_voice.py``) with its settings class beside its engine class::

       class MyVoiceSettings(EngineSettings):
           engine: Literal["my_voice"] = "my_voice"
           speed: float = 1.0

       class MyVoiceTTS(TTSEngine):
           name = "my_voice"
           settings_class = MyVoiceSettings
           info = EngineInfo(label_ru="Мой голос", heavy=False, fallback="espeak", vram_mb=0)

           @classmethod
           def availability(cls, settings, models_dir):  # cheap: no model load, no heavy import
               return None

   Heavy libraries (torch, transformers...) are imported inside ``load``, never at module top:
   importing ``ai_pipeline.settings`` imports every engine module.

2. ``"my_voice": "ai_pipeline.tts.my_voice:MyVoiceTTS",`` in the stage's dict of :data:`CATALOGUE`.

From that line come the settings union of the stage (``Settings().tts`` accepts ``engine:
my_voice``; ``AVATAR_TTS__ENGINE=my_voice`` works), :func:`engine_table` (``/api/health``), the web
settings page (label, heavy, availability), the fallback chain and :func:`build`.
``tests/ai_pipeline/test_engine_contract.py`` then runs the new engine through the same checks as
the others (and ``test_adding_an_engine_is_one_file_and_one_line`` does exactly this from a tmp dir).

Conventions: the first engine of a stage is its default (what ``Settings()`` uses and what a stage
section without ``engine`` configures). A stage in :data:`OFF` may also be switched off: a
settings-only choice (``enhance: none``) that builds no engine and is the ``Settings()`` default,
while a section with options but no ``engine`` still means the stage's first engine.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, overload

from pydantic import Field

from ai_pipeline.engine import Engine, EngineInfo, EngineSettings

if TYPE_CHECKING:
    from ai_pipeline.asr.base import ASREngine
    from ai_pipeline.emotion.base import EmotionEngine
    from ai_pipeline.enhance.base import EnhanceEngine
    from ai_pipeline.llm.base import LLMEngine
    from ai_pipeline.talking_head.base import TalkingHeadEngine
    from ai_pipeline.tts.base import TTSEngine

# stage -> engine name -> "module:EngineClass"; the first engine of a stage is its default.
CATALOGUE: dict[str, dict[str, str]] = {
    "asr": {
        "faster_whisper": "ai_pipeline.asr.faster_whisper:FasterWhisperASR",
        "openai_whisper": "ai_pipeline.asr.openai_whisper:OpenAIWhisperASR",
    },
    "llm": {
        "llama_cpp": "ai_pipeline.llm.llama_cpp:LlamaCppLLM",
        "ollama": "ai_pipeline.llm.ollama:OllamaLLM",
    },
    "emotion": {
        "lexicon": "ai_pipeline.emotion.lexicon:LexiconEmotion",
        "rubert": "ai_pipeline.emotion.rubert:RuBertEmotion",
    },
    "tts": {
        "rhvoice": "ai_pipeline.tts.rhvoice:RhvoiceTTS",
        "festival": "ai_pipeline.tts.festival:FestivalTTS",
        "espeak": "ai_pipeline.tts.espeak:EspeakTTS",
        "xtts": "ai_pipeline.tts.xtts:XttsTTS",
    },
    "talking_head": {
        "mesh_warp": "ai_pipeline.talking_head.mesh_warp:MeshWarpEngine",
        "wav2lip": "ai_pipeline.talking_head.wav2lip.engine:Wav2LipEngine",
    },
    "enhance": {
        "realesrgan_ncnn": "ai_pipeline.enhance.realesrgan_ncnn:RealEsrganNcnn",
        "realesrgan_torch": "ai_pipeline.enhance.realesrgan_torch:RealEsrganTorch",
        "gfpgan": "ai_pipeline.enhance.gfpgan:GfpganEngine",
    },
}
# Stages that can be switched off: "module:SettingsClass" of the settings-only choice (no engine is
# built for it). Its class carries ``info`` (an EngineInfo) for the settings page.
OFF: dict[str, str] = {
    "enhance": "ai_pipeline.enhance.base:NoEnhanceSettings",
}

def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def stages() -> tuple[str, ...]:
    """Every stage of the catalogue, in pipeline order."""
    return tuple(CATALOGUE)


def engine_names(stage: str) -> list[str]:
    """The engines of ``stage`` in catalogue order (the default first); not the off choice."""
    return list(CATALOGUE[stage])


def engine_class(stage: str, name: str) -> type[Engine]:
    """The engine class registered as ``name`` in ``stage`` (imports its module)."""
    try:
        path = CATALOGUE[stage][name]
    except KeyError:
        known = list(CATALOGUE.get(stage, {}))
        raise KeyError(f"no engine {name!r} in stage {stage!r}; known: {known}") from None
    return _load(path)


def engine_classes(stage: str) -> dict[str, type[Engine]]:
    """name -> engine class, for every engine of ``stage``."""
    return {name: engine_class(stage, name) for name in CATALOGUE[stage]}


def off_settings_class(stage: str) -> type[EngineSettings] | None:
    """The settings-only choice that switches ``stage`` off (``enhance: none``), or None."""
    return _load(OFF[stage]) if stage in OFF else None


def off_choice(stage: str) -> str | None:
    """The ``engine`` name that switches ``stage`` off (``"none"`` for enhance), or None."""
    cls = off_settings_class(stage)
    return cls.model_fields["engine"].default if cls is not None else None


def settings_class(stage: str, name: str) -> type[EngineSettings]:
    """The settings class of ``name`` in ``stage`` (the off choice included)."""
    if name == off_choice(stage):
        return off_settings_class(stage)  # type: ignore[return-value]
    return engine_class(stage, name).settings_class


def settings_classes(stage: str) -> list[type[EngineSettings]]:
    """Every settings class of ``stage``: the off choice first (when there is one), then the engines."""
    off = off_settings_class(stage)
    return [*([off] if off is not None else []), *(cls.settings_class for cls in engine_classes(stage).values())]


def settings_union(stage: str) -> Any:
    """The stage's settings type: a union of its settings classes discriminated on ``engine``."""
    classes = tuple(settings_classes(stage))
    if len(classes) == 1:
        return classes[0]
    return Annotated[Union[classes], Field(discriminator="engine")]  # noqa: UP007 (a runtime tuple)


def default_engine(stage: str) -> str:
    """What ``Settings()`` uses for ``stage``: the off choice when the stage has one, else its first engine."""
    return off_choice(stage) or engine_names(stage)[0]


def section_engine(stage: str) -> str:
    """What a stage section without ``engine`` configures (``talking_head: {fps: 30}``): the first engine.

    For enhance this is ``realesrgan_ncnn``, not the ``none`` default: options alone turn it on.
    """
    return engine_names(stage)[0]


def default_settings(stage: str) -> EngineSettings:
    """The ``Settings()`` default section of ``stage``."""
    return settings_class(stage, default_engine(stage))()


def engine_info(stage: str, name: str) -> EngineInfo:
    """Label, heavy, fallback and VRAM of ``name`` in ``stage`` (the off choice included)."""
    if name == off_choice(stage):
        return off_settings_class(stage).info  # type: ignore[union-attr]
    return engine_class(stage, name).info


def fallback_settings(stage: str, name: str) -> EngineSettings | None:
    """Default settings of the lighter engine to try when ``name`` cannot load, or None."""
    if name == off_choice(stage):
        return None
    fallback = engine_info(stage, name).fallback
    return engine_class(stage, fallback).settings_class() if fallback else None


def availability(stage: str, settings: EngineSettings, models_dir: Path) -> str | None:
    """Why ``settings.engine`` cannot run here (Russian), or None; cheap, never loads a model."""
    from ai_pipeline.errors import AvatarError

    if settings.engine == off_choice(stage):
        return None
    try:
        return engine_class(stage, settings.engine).availability(settings, Path(models_dir))
    except AvatarError as exc:  # e.g. an empty model name, refused while resolving its path
        return exc.message_ru


def engine_table() -> dict[str, list[str]]:
    """Every engine name per stage, sorted, the off choice first (for /api/health and the settings page)."""
    return {stage: [*([off] if (off := off_choice(stage)) else []), *sorted(CATALOGUE[stage])] for stage in CATALOGUE}


@overload
def build(stage: Literal["asr"], settings: EngineSettings, models_dir: str | Path | None = None) -> ASREngine: ...
@overload
def build(stage: Literal["llm"], settings: EngineSettings, models_dir: str | Path | None = None) -> LLMEngine: ...
@overload
def build(stage: Literal["emotion"], settings: EngineSettings,
          models_dir: str | Path | None = None) -> EmotionEngine: ...
@overload
def build(stage: Literal["tts"], settings: EngineSettings, models_dir: str | Path | None = None) -> TTSEngine: ...
@overload
def build(stage: Literal["talking_head"], settings: EngineSettings,
          models_dir: str | Path | None = None) -> TalkingHeadEngine: ...
@overload
def build(stage: Literal["enhance"], settings: EngineSettings,
          models_dir: str | Path | None = None) -> EnhanceEngine | None: ...
@overload
def build(stage: str, settings: EngineSettings, models_dir: str | Path | None = None) -> Engine | None: ...


def build(stage: str, settings: EngineSettings, models_dir: str | Path | None = None) -> Engine | None:
    """The engine ``settings.engine`` of ``stage``, constructed (not loaded); None for the off choice."""
    if settings.engine == off_choice(stage):
        return None
    cls = engine_class(stage, settings.engine)
    if not isinstance(settings, cls.settings_class):
        raise TypeError(f"{stage}/{settings.engine} takes {cls.settings_class.__name__}, "
                        f"got {type(settings).__name__}")
    return cls(settings, models_dir)

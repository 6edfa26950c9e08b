"""Builds engines from settings: one table per stage, engines imported only when chosen.

Adding an engine = one file in the stage folder + one line here + (optionally) a settings class in
``settings.py``. Heavy engines keep their imports inside their module, so a CPU install never
imports GPU code unless that engine is configured.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ai_pipeline.asr.base import ASREngine
from ai_pipeline.emotion.base import EmotionEngine
from ai_pipeline.enhance.base import EnhanceEngine
from ai_pipeline.llm.base import LLMEngine
from ai_pipeline.settings import (
    EspeakSettings,
    FasterWhisperSettings,
    FestivalSettings,
    LexiconEmotionSettings,
    LlamaCppSettings,
    MeshWarpSettings,
)
from ai_pipeline.talking_head.base import TalkingHeadEngine
from ai_pipeline.tts.base import TTSEngine

ASR_ENGINES: dict[str, str] = {
    "faster_whisper": "ai_pipeline.asr.faster_whisper:FasterWhisperASR",
    "openai_whisper": "ai_pipeline.asr.openai_whisper:OpenAIWhisperASR",
}
LLM_ENGINES: dict[str, str] = {
    "llama_cpp": "ai_pipeline.llm.llama_cpp:LlamaCppLLM",
    "ollama": "ai_pipeline.llm.ollama:OllamaLLM",
}
EMOTION_ENGINES: dict[str, str] = {
    "lexicon": "ai_pipeline.emotion.lexicon:LexiconEmotion",
    "rubert": "ai_pipeline.emotion.rubert:RuBertEmotion",
}
TTS_ENGINES: dict[str, str] = {
    "festival": "ai_pipeline.tts.festival:FestivalTTS",
    "espeak": "ai_pipeline.tts.espeak:EspeakTTS",
    "xtts": "ai_pipeline.tts.xtts:XttsTTS",
}
TALKING_HEAD_ENGINES: dict[str, str] = {
    "mesh_warp": "ai_pipeline.talking_head.mesh_warp:MeshWarpEngine",
    "wav2lip": "ai_pipeline.talking_head.wav2lip.engine:Wav2LipEngine",
}
# "none" (the default) builds no engine: the stage is skipped.
ENHANCE_ENGINES: dict[str, str] = {
    "realesrgan_ncnn": "ai_pipeline.enhance.realesrgan_ncnn:RealEsrganNcnn",
    "realesrgan_torch": "ai_pipeline.enhance.realesrgan_torch:RealEsrganTorch",
    "gfpgan": "ai_pipeline.enhance.gfpgan:GfpganEngine",
}
# What to try when an engine cannot load: a lighter engine with its default settings.
TTS_FALLBACK: dict[str, Any] = {"festival": EspeakSettings(), "xtts": FestivalSettings()}
ASR_FALLBACK: dict[str, Any] = {"openai_whisper": FasterWhisperSettings()}
LLM_FALLBACK: dict[str, Any] = {"ollama": LlamaCppSettings()}
EMOTION_FALLBACK: dict[str, Any] = {"rubert": LexiconEmotionSettings()}
TALKING_HEAD_FALLBACK: dict[str, Any] = {"wav2lip": MeshWarpSettings()}


def _load_class(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def build_asr(settings: Any, models_dir: Path) -> ASREngine:
    return _load_class(ASR_ENGINES[settings.engine])(settings, models_dir)


def build_llm(settings: Any, models_dir: Path) -> LLMEngine:
    return _load_class(LLM_ENGINES[settings.engine])(settings, models_dir)


def build_emotion(settings: Any, models_dir: Path) -> EmotionEngine:
    return _load_class(EMOTION_ENGINES[settings.engine])(settings, models_dir)


def build_tts(settings: Any, models_dir: Path | None = None) -> TTSEngine:
    """Engines that declare ``uses_models_dir`` (checkpoints on disk) also get ``models_dir``."""
    cls = _load_class(TTS_ENGINES[settings.engine])
    if getattr(cls, "uses_models_dir", False) and models_dir is not None:
        return cls(settings, models_dir)
    return cls(settings)


def build_talking_head(settings: Any, models_dir: Path | None = None) -> TalkingHeadEngine:
    """Engines that declare ``uses_models_dir`` (checkpoints on disk) also get ``models_dir``."""
    cls = _load_class(TALKING_HEAD_ENGINES[settings.engine])
    if getattr(cls, "uses_models_dir", False) and models_dir is not None:
        return cls(settings, models_dir)
    return cls(settings)


def build_enhance(settings: Any, models_dir: Path | None = None) -> EnhanceEngine | None:
    if settings.engine == "none":
        return None
    return _load_class(ENHANCE_ENGINES[settings.engine])(settings, models_dir)


def engine_table() -> dict[str, list[str]]:
    """Every engine name per stage (for /api/health and the settings page)."""
    return {"asr": sorted(ASR_ENGINES), "llm": sorted(LLM_ENGINES), "emotion": sorted(EMOTION_ENGINES),
            "tts": sorted(TTS_ENGINES), "talking_head": sorted(TALKING_HEAD_ENGINES),
            "enhance": ["none", *sorted(ENHANCE_ENGINES)]}

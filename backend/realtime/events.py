"""Every Socket.IO event of the conversation namespace, as pydantic models (the typed wire protocol).

Server -> client: each model names its event (``EVENT``); an emit site builds the model and sends
``to_wire(model)``, the event name and its JSON payload. Client -> server: ``start`` and ``text`` are
validated with :class:`StartMessage` and :class:`TextMessage`; ``audio`` is bytes, ``audio_end`` and
``stop`` carry nothing.

The jobs namespace (``/jobs``, :mod:`backend.realtime.job_watch`) has its own few events: the client
sends ``watch`` and ``unwatch`` (:class:`WatchMessage`), the server answers with ``job``
(:class:`JobEvent`, a job's state as its REST status shows it) and ``error`` (:class:`JobErrorEvent`).

The web app's TypeScript types of these events (``frontend/src/realtime/events.gen.ts``) are generated
from :func:`protocol_schema` by ``scripts/gen_types.py``; a test fails when they are stale.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from ai_pipeline.errors import AvatarError
from backend.realtime.protocol import StartMessage, TextMessage
from backend.schemas import ErrorBody, Job, TrainingProgress
from backend.schemas import TranscriptSegment  # the same segment as POST /api/transcribe's

__all__ = [
    "CLIENT_EVENTS", "JOBS_CLIENT_EVENTS", "JOBS_NAMESPACE", "JOBS_SERVER_EVENTS", "SERVER_EVENTS", "ConnectRefused",
    "ErrorEvent", "InterruptedEvent", "JobErrorEvent", "JobEvent", "MediaEvent", "ProgressEvent", "ReadyEvent",
    "ReplyEvent", "ServerEvent", "SpeechStartEvent", "StartMessage", "TextMessage", "TimingsEvent", "TranscriptEvent",
    "TranscriptSegment", "TurnEndEvent", "WatchMessage", "media_event", "protocol_schema", "to_wire",
]

Seconds = float


class ServerEvent(BaseModel):
    """A server -> client event: ``EVENT`` is its Socket.IO name, the fields its payload."""

    model_config = ConfigDict(extra="forbid")
    EVENT: ClassVar[str]
    BINARY: ClassVar[tuple[str, ...]] = ()  # fields sent as bytes (Socket.IO binary attachments), not JSON

    def event_name(self) -> str:
        return self.EVENT


def to_wire(event: ServerEvent) -> tuple[str, dict[str, Any]]:
    """``(event name, payload)`` for ``emit``: ``model_dump(mode="json")`` of the fields that were set
    (an optional field never given stays off the wire), binary fields as the bytes themselves."""
    payload = event.model_dump(mode="json", exclude_unset=True, exclude=set(event.BINARY) or None)
    if event.BINARY:  # in field order, as before: {"data": b"...", "mime": ...}
        ordered = {name: getattr(event, name) if name in event.BINARY else payload.pop(name)
                   for name in type(event).model_fields if name in event.BINARY or name in payload}
        payload = {**ordered, **payload}
    return event.event_name(), payload


# -- the conversation's lifecycle -------------------------------------------------------------------


class ReadyEvent(ServerEvent):
    """The conversation is open: audio and text may be sent. Sent on every ``start`` (so after a reconnect)."""

    EVENT: ClassVar[str] = "ready"
    persona_id: int
    session_id: int
    avatar_id: str
    greeting: str
    warnings: list[str]
    mime: str = Field(description='MediaSource type of the stream, e.g. video/mp4; codecs="avc1.42C01E, mp4a.40.2"')
    voice: str | None = Field(description="The persona's enrolled voice (null: the engine's own voice)")
    tts_voice: str | None = Field(None, description="The standard TTS voice the persona speaks (enrolled voices are "
                                  "matched on top of it); null: the engine has no voices to pick from")


class ProgressEvent(ServerEvent):
    """Preparation before ``ready``: the avatar, then the persona's voice (0..1)."""

    EVENT: ClassVar[str] = "progress"
    stage: Literal["avatar", "voice"]
    value: float = Field(ge=0, le=1)
    message: str


class ErrorEvent(ServerEvent):
    """Something went wrong; the connection stays open. ``message`` is Russian (for the user), ``detail`` English."""

    EVENT: ClassVar[str] = "error"
    code: str
    message: str
    detail: str
    retry_after_s: Seconds | None = Field(None, description="busy, rate_limited: seconds to wait before trying again")

    @classmethod
    def of(cls, exc: AvatarError) -> ErrorEvent:
        """The event of an error raised while handling a client (the fields of its ``to_dict`` an event has)."""
        return cls.model_validate({k: v for k, v in exc.to_dict().items() if k in cls.model_fields})


class ConnectRefused(BaseModel):
    """The data of a refused connection (the client's ``connect_error``), e.g. a missing token."""

    model_config = ConfigDict(extra="forbid")
    code: Literal["unauthorized"]
    message: str


# -- listening ------------------------------------------------------------------------------------


class SpeechStartEvent(ServerEvent):
    """The user started speaking (voice activity), at ``at_s`` of the current recording."""

    EVENT: ClassVar[str] = "speech_start"
    at_s: Seconds


class TranscriptEvent(ServerEvent):
    """What the recogniser heard: partial (``final`` false) while the user speaks, then the final text."""

    EVENT: ClassVar[str] = "transcript"
    text: str
    language: str
    final: bool
    audio_duration_s: Seconds
    processing_s: Seconds
    segments: list[TranscriptSegment]


# -- the avatar's turn ----------------------------------------------------------------------------


class ReplyEvent(ServerEvent):
    """One chunk of the reply's text (``index`` from 0), with the emotion the avatar shows."""

    EVENT: ClassVar[str] = "reply"
    turn: int
    index: int
    text: str
    emotion: str


class TimingsEvent(ServerEvent):
    """The first speech segment of ``turn`` left: the turn's timings so far (StageTimer.as_dict():
    ``<stage>_s`` seconds and ``<milestone>_s`` since the turn started, ``total_s``)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float] = Field(init=False)  # type: ignore[assignment]
    EVENT: ClassVar[str] = "timings"
    turn: int
    queued_before_first_segment_s: Seconds = Field(description="video already sent but not yet played then")


class TurnEndEvent(ServerEvent):
    """The turn is over (its last segment was sent, or it failed); an interrupted turn gets ``interrupted``."""

    EVENT: ClassVar[str] = "turn_end"
    turn: int
    reason: Literal["done", "error"]
    timings: dict[str, float]


class InterruptedEvent(ServerEvent):
    """The turn was cut short: queued speech is dropped, idle video continues from ``media_time``."""

    EVENT: ClassVar[str] = "interrupted"
    turn: int
    # continued: the user went on speaking before the reply was heard; the next transcript is added
    # to that question, which is answered as a whole (the cut-short reply is dropped)
    reason: Literal["barge_in", "new_turn", "stop", "continued"]
    media_time: Seconds = Field(description="where the stream's timeline stood (0 where a render worker owns it)")


# -- video --------------------------------------------------------------------------------------


class MediaEvent(ServerEvent):
    """``init`` (kind init, t 0) and ``segment`` (kind idle | speech): one fragmented-MP4 piece on the
    stream's single timeline. ``data`` travels as binary."""

    BINARY: ClassVar[tuple[str, ...]] = ("data",)
    data: bytes = Field(json_schema_extra={"tsType": "Binary"})
    mime: str
    kind: Literal["init", "idle", "speech"]
    turn: int = Field(description="the turn the speech belongs to (0 for idle and init)")
    t: Seconds = Field(description="start of the segment on the stream's timeline (tfdt of its first frame)")
    duration: Seconds
    index: int
    chunk: int | None = Field(None, description="speech: the reply chunk (``reply`` event index) it says")

    def event_name(self) -> str:
        return "init" if self.kind == "init" else "segment"


def media_event(item: Any) -> MediaEvent:
    """The event of a segment on its way to the client (an ``Emitted``; the same whether the server or
    a render worker sends it)."""
    named = {"chunk": item.chunk} if item.kind == "speech" and item.chunk is not None else {}
    return MediaEvent(data=item.segment.data, mime=item.segment.mime, kind=item.kind, turn=item.turn,
                      t=round(item.start_s, 3), duration=round(item.segment.duration, 3), index=item.segment.index,
                      **named)


# -- the jobs namespace -----------------------------------------------------------------------------

JOBS_NAMESPACE = "/jobs"


class WatchMessage(BaseModel):
    """``watch`` / ``unwatch``: which job (the ``job_id`` a job-starting call answered with)."""

    model_config = ConfigDict(extra="forbid")
    job_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")


class JobEvent(Job, ServerEvent):
    """A background job's state, the same as its REST status (``GET /api/jobs/{id}``): sent at once on
    ``watch``, then on every change - each status, and progress at most a few times a second."""

    EVENT: ClassVar[str] = "job"


JobEvent.model_rebuild(_types_namespace={"ErrorBody": ErrorBody, "TrainingProgress": TrainingProgress})  # Job's own

class JobErrorEvent(ErrorEvent):
    """An ``error`` of the jobs namespace; ``job_id`` names the job it is about (e.g. job_not_found)."""

    job_id: str | None = None


# -- the schema the TypeScript types are generated from --------------------------------------------

# event name -> payload model
SERVER_EVENTS: dict[str, type[BaseModel]] = {
    "ready": ReadyEvent, "progress": ProgressEvent, "init": MediaEvent, "segment": MediaEvent,
    "speech_start": SpeechStartEvent, "transcript": TranscriptEvent, "reply": ReplyEvent, "timings": TimingsEvent,
    "turn_end": TurnEndEvent, "interrupted": InterruptedEvent, "error": ErrorEvent,
}
# event name -> its one argument's model ("binary": bytes; None: sent without one)
CLIENT_EVENTS: dict[str, type[BaseModel] | Literal["binary"] | None] = {
    "start": StartMessage, "audio": "binary", "audio_end": None, "text": TextMessage, "stop": None,
}
# the jobs namespace's events, the same way
JOBS_SERVER_EVENTS: dict[str, type[BaseModel]] = {"job": JobEvent, "error": JobErrorEvent}
JOBS_CLIENT_EVENTS: dict[str, type[BaseModel]] = {"watch": WatchMessage, "unwatch": WatchMessage}
_VALIDATED = (StartMessage, TextMessage, WatchMessage)  # client messages: their schema is the validation one


def protocol_schema() -> dict[str, Any]:
    """One JSON Schema with every payload under ``$defs`` and two maps, ``ServerEvents`` (event ->
    payload) and ``ClientEvents`` (event -> its one argument, ``null`` for none); the jobs namespace's
    two maps are ``JobsServerEvents`` and ``JobsClientEvents``."""
    models = list(dict.fromkeys([*SERVER_EVENTS.values(), ConnectRefused,
                                 *(m for m in CLIENT_EVENTS.values() if isinstance(m, type)),
                                 *JOBS_SERVER_EVENTS.values(), *JOBS_CLIENT_EVENTS.values()]))
    modes = [(m, "validation" if m in _VALIDATED else "serialization") for m in models]
    refs, schema = models_json_schema(modes, ref_template="#/$defs/{model}")
    defs = schema["$defs"]

    def ref(model: type[BaseModel]) -> dict[str, str]:
        mode = "validation" if model in _VALIDATED else "serialization"
        return refs[(model, mode)]

    def client_arg(model: type[BaseModel] | str | None) -> dict[str, Any]:
        if model is None:
            return {"type": "null"}
        if model == "binary":
            return {"tsType": "Binary"}
        assert isinstance(model, type)
        return ref(model)

    defs["ServerEvents"] = {
        "title": "ServerEvents", "description": "Server -> client: event name -> payload.", "type": "object",
        "properties": {name: ref(model) for name, model in SERVER_EVENTS.items()},
        "required": list(SERVER_EVENTS), "additionalProperties": False}
    defs["ClientEvents"] = {
        "title": "ClientEvents", "description": "Client -> server: event name -> its one argument (null: none).",
        "type": "object", "properties": {name: client_arg(model) for name, model in CLIENT_EVENTS.items()},
        "required": list(CLIENT_EVENTS), "additionalProperties": False}
    defs["JobsServerEvents"] = {
        "title": "JobsServerEvents", "description": "The jobs namespace, server -> client: event name -> payload.",
        "type": "object", "properties": {name: ref(model) for name, model in JOBS_SERVER_EVENTS.items()},
        "required": list(JOBS_SERVER_EVENTS), "additionalProperties": False}
    defs["JobsClientEvents"] = {
        "title": "JobsClientEvents", "description": "The jobs namespace, client -> server: event name -> its argument.",
        "type": "object", "properties": {name: ref(model) for name, model in JOBS_CLIENT_EVENTS.items()},
        "required": list(JOBS_CLIENT_EVENTS), "additionalProperties": False}
    return {
        "title": "ConversationProtocol",
        "description": "Both directions of the conversation namespace, and the data of a refused connection "
                       "(the same for the jobs namespace); the jobs namespace's events under jobs_server and "
                       "jobs_client.",
        "type": "object",
        "properties": {"server": {"$ref": "#/$defs/ServerEvents"}, "client": {"$ref": "#/$defs/ClientEvents"},
                       "refused": ref(ConnectRefused), "jobs_server": {"$ref": "#/$defs/JobsServerEvents"},
                       "jobs_client": {"$ref": "#/$defs/JobsClientEvents"}},
        "required": ["server", "client", "refused", "jobs_server", "jobs_client"],
        "additionalProperties": False,
        "$defs": defs,
    }

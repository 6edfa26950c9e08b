"""The typed wire protocol: every Socket.IO event the server sends is built from a pydantic model in
backend/realtime/events.py (and keeps the payload the web app reads); every REST route declares its
response body, so the OpenAPI schema the web app's types come from is complete."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from ai_pipeline.errors import AvatarError, InputError
from backend.realtime.events import (CLIENT_EVENTS, SERVER_EVENTS, ErrorEvent, InterruptedEvent, MediaEvent,
                                     ProgressEvent, ReadyEvent, TimingsEvent, TranscriptEvent, TurnEndEvent,
                                     media_event, protocol_schema, to_wire)
from backend.runtime import Busy

REALTIME = Path(__file__).resolve().parents[2] / "backend" / "realtime"


def test_payloads_are_what_the_web_app_reads():
    assert to_wire(ProgressEvent(stage="avatar", value=0.0, message="Подготовка аватара")) == (
        "progress", {"stage": "avatar", "value": 0.0, "message": "Подготовка аватара"})
    ready = ReadyEvent(persona_id=1, session_id=2, avatar_id="0123456789abcdef", greeting="Привет!", warnings=[],
                       mime='video/mp4; codecs="avc1.42C01E, mp4a.40.2"', voice=None)
    assert to_wire(ready) == ("ready", {"persona_id": 1, "session_id": 2, "avatar_id": "0123456789abcdef",
                                        "greeting": "Привет!", "warnings": [],
                                        "mime": 'video/mp4; codecs="avc1.42C01E, mp4a.40.2"', "voice": None})
    assert to_wire(InterruptedEvent(turn=3, reason="barge_in", media_time=1.5)) == (
        "interrupted", {"turn": 3, "reason": "barge_in", "media_time": 1.5})
    assert to_wire(TurnEndEvent(turn=1, reason="done", timings={"total_s": 2.0})) == (
        "turn_end", {"turn": 1, "reason": "done", "timings": {"total_s": 2.0}})
    # the turn's stage timings travel flat beside the turn number
    assert to_wire(TimingsEvent(turn=1, **{"asr_s": 0.2, "total_s": 0.9}, queued_before_first_segment_s=0.12)) == (
        "timings", {"turn": 1, "queued_before_first_segment_s": 0.12, "asr_s": 0.2, "total_s": 0.9})
    transcript = {"text": "привет", "language": "ru", "final": True, "audio_duration_s": 1.2, "processing_s": 0.1,
                  "segments": [{"text": "привет", "start": 0.0, "end": 1.2}]}
    assert to_wire(TranscriptEvent(**transcript)) == ("transcript", transcript)


def test_segments_stay_binary_and_name_their_event():
    segment = SimpleNamespace(data=b"\x00\x00\x00\x18moof\xff", mime="video/mp4", duration=0.5004, index=7)
    event, payload = to_wire(media_event(SimpleNamespace(segment=segment, kind="speech", turn=2, start_s=1.23456,
                                                         chunk=3)))
    assert event == "segment"
    assert payload == {"data": segment.data, "mime": "video/mp4", "kind": "speech", "turn": 2, "t": 1.235,
                       "duration": 0.5, "index": 7, "chunk": 3}
    assert list(payload) == ["data", "mime", "kind", "turn", "t", "duration", "index", "chunk"]
    assert isinstance(payload["data"], bytes)
    init = media_event(SimpleNamespace(segment=segment, kind="init", turn=0, start_s=0.0, chunk=None))
    assert to_wire(init)[0] == "init" and "chunk" not in to_wire(init)[1]


def test_errors_carry_retry_after_only_when_they_have_one():
    assert to_wire(ErrorEvent.of(InputError("Пусто.", "empty", code="empty_text"))) == (
        "error", {"code": "empty_text", "message": "Пусто.", "detail": "empty"})
    _, busy = to_wire(ErrorEvent.of(Busy(2, 15.0)))
    assert busy["code"] == "busy" and busy["retry_after_s"] == 15.0
    # an error whose to_dict says more than an event carries still becomes an event
    class Reported(AvatarError):
        def to_dict(self):  # type: ignore[no-untyped-def]
            return {**super().to_dict(), "report": {"files": []}}

    assert set(to_wire(ErrorEvent.of(Reported("Нет.", "no")))[1]) == {"code", "message", "detail"}


def test_a_wrong_payload_is_caught_where_it_is_built():
    with pytest.raises(ValueError):
        InterruptedEvent(turn=1, reason="because", media_time=0.0)
    with pytest.raises(ValueError):
        MediaEvent(data=b"", mime="video/mp4", kind="audio", turn=0, t=0.0, duration=0.0, index=0)


def test_every_emit_in_the_realtime_package_sends_a_model():
    """No hand-written payloads: emit sites send ``to_wire(<model>)``."""
    for path in REALTIME.glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bemit\(\s*[\"']", line):
                pytest.fail(f"{path.name}:{number}: a payload built by hand: {line.strip()}")


def test_the_protocol_schema_names_every_event():
    schema = protocol_schema()
    defs = schema["$defs"]
    assert set(defs["ServerEvents"]["properties"]) == set(SERVER_EVENTS) >= {
        "ready", "init", "segment", "progress", "speech_start", "transcript", "reply", "timings", "turn_end",
        "interrupted", "error"}
    assert set(defs["ClientEvents"]["properties"]) == set(CLIENT_EVENTS) == {"start", "audio", "audio_end", "text",
                                                                               "stop"}
    assert defs["MediaEvent"]["properties"]["data"]["tsType"] == "Binary"


def test_every_rest_route_declares_its_response(tmp_path):
    from ai_pipeline.settings import Settings
    from backend.app import create_app

    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    undeclared = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content", {})
                if not content or any(not body.get("schema") for body in content.values()):
                    undeclared.append(f"{method.upper()} {path} {status}")
    assert not undeclared, f"responses without a schema: {undeclared}"
    settings = schema["components"]["schemas"]["EngineOption"]
    assert set(settings["required"]) == {"name", "label_ru", "heavy", "available", "reason_ru"}

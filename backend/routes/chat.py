"""``POST /api/chat``: a text turn with a persona, streamed back as NDJSON reply chunks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ai_pipeline.timing import StageTimer
from backend.db.ids import DbId
from backend.deps import BrainDep, PipelineDep
from backend.schemas import ERRORS, ChatLine, inline_schema

router = APIRouter(prefix="/api", tags=["chat"], responses=ERRORS)


class ChatRequest(BaseModel):
    persona_id: DbId
    text: str = Field(min_length=1, max_length=2000)
    session_id: DbId | None = None


@router.post("/chat", response_model=None, response_class=StreamingResponse, responses={200: {
    "description": "One JSON object (a ChatLine) per line",
    "content": {"application/x-ndjson": {"schema": inline_schema(ChatLine)}}}})
async def chat(body: ChatRequest, brain: BrainDep, pipeline: PipelineDep) -> StreamingResponse:
    """Lines: ``{"type":"session"}``, then ``{"type":"chunk", text, speech, emotion}`` as they are ready,
    then ``{"type":"done", timings}``; an error mid-stream becomes ``{"type":"error"}``."""
    text = pipeline.check_text(body.text)
    session_id = await brain.open_session(body.persona_id, body.session_id)

    async def lines() -> AsyncIterator[bytes]:
        timer = StageTimer()
        yield _line({"type": "session", "session_id": session_id})
        try:
            async for chunk in brain.reply(body.persona_id, session_id, text, timer):
                yield _line({"type": "chunk", "index": chunk.index, "text": chunk.text, "speech": chunk.speech,
                             "emotion": chunk.emotion})
        except Exception as exc:  # headers are sent: report in-band
            code = getattr(exc, "code", "internal_error")
            yield _line({"type": "error", "code": code, "message": getattr(exc, "message_ru", "Ошибка ответа.")})
            return
        yield _line({"type": "done", "timings": timer.as_dict()})

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _line(obj: dict) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode()

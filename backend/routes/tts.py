"""``/api/tts``: the standard voices of the current TTS engine, and a short preview of one.

A persona picks one of these voices (``tts_voice``); an enrolled voice is matched on top of it.
Previews are bounded: at most :data:`MAX_PREVIEWS` synthesise at once (on the default executor, like
every model call; a slot is freed when its synthesis really ends), the next is refused with 503 ``busy``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ai_pipeline.errors import AvatarError, EngineUnavailable, InputError
from backend.deps import RuntimeDep
from backend.schemas import ERRORS, TtsDefaults, TtsPreviewIn, TtsVoice, TtsVoices
from backend.tts_voices import check_tts_voice, current_tts, synthesize_wav

router = APIRouter(prefix="/api/tts", tags=["tts"], responses=ERRORS)
PREVIEW_TEXT = "Здравствуйте! Так звучит мой голос."
MAX_PREVIEW_CHARS = 300
MAX_PREVIEWS = 2  # previews synthesising at once (each about a second of one CPU core)
RETRY_S = 2.0
WAV = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}

_slots = threading.BoundedSemaphore(MAX_PREVIEWS)


class PreviewBusy(AvatarError):
    """Every preview slot is taken."""

    code = "busy"
    http_status = 503
    retryable = True

    def __init__(self) -> None:
        super().__init__(f"Сейчас озвучивается слишком много примеров. Попробуйте снова через {RETRY_S:.0f} с.",
                         f"all {MAX_PREVIEWS} preview slots are taken", code="busy")
        self.retry_after_s = RETRY_S

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retry_after_s": self.retry_after_s}


@router.get("/voices", response_model=TtsVoices)
def standard_voices(runtime: RuntimeDep) -> TtsVoices:
    """The standard voices of the current TTS engine (those its settings allow), and each gender's default."""
    tts = current_tts(runtime)
    return TtsVoices(
        engine=tts.name,
        voices=[TtsVoice(name=v.name, label=v.label_ru, gender=v.gender,  # type: ignore[arg-type]
                         licence=v.licence, commercial=v.commercial) for v in tts.standard_voices()],
        default=TtsDefaults(female=tts.voice_for("female"), male=tts.voice_for("male")),
        allow_noncommercial=bool(getattr(tts.settings, "allow_noncommercial_voices", False)))


@router.post("/preview", response_model=None, response_class=Response,
             responses={200: {"content": WAV, "description": "16-bit PCM WAV at the engine's rate"}})
async def preview_voice(body: TtsPreviewIn, runtime: RuntimeDep) -> Response:
    """``text`` (default: a short greeting; at most 300 characters) spoken in the standard voice ``voice``
    (null: the engine's configured voice). 422 ``unknown_voice`` for a voice the engine does not offer,
    503 ``busy`` while two previews are being synthesised."""
    text = PREVIEW_TEXT if body.text is None else body.text
    if len(text) > MAX_PREVIEW_CHARS:
        raise InputError(f"Текст для прослушивания длиннее {MAX_PREVIEW_CHARS} символов.",
                         f"preview text over {MAX_PREVIEW_CHARS} characters ({len(text)})", code="too_long")
    tts = runtime.pipeline.tts
    if tts is None:
        raise EngineUnavailable("Синтез речи ещё не загружен.", "the TTS stage is not loaded")
    check_tts_voice(tts, body.voice)
    voiced = tts.with_voice(body.voice)  # an engine without voices speaks its own
    if not _slots.acquire(blocking=False):
        raise PreviewBusy()
    try:
        job = asyncio.get_running_loop().run_in_executor(None, synthesize_wav, voiced, text)
    except BaseException:
        _slots.release()
        raise
    job.add_done_callback(lambda _: _slots.release())
    # shielded: a client that leaves does not cancel the job, so its slot frees when synthesis really ends
    wav = await asyncio.shield(job)
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "no-store"})

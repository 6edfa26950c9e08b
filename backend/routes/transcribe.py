"""``POST /api/transcribe``: a recording (any browser or file format) -> Russian text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from ai_pipeline.asr.languages import check_language
from backend.deps import PipelineDep, SettingsDep
from backend.routes.render import AUDIO_TYPES, read_upload
from backend.schemas import ERRORS, Transcript

router = APIRouter(prefix="/api", tags=["speech"], responses=ERRORS)


@router.post("/transcribe", response_model=Transcript)
async def transcribe(
    pipeline: PipelineDep,
    settings: SettingsDep,
    audio: Annotated[UploadFile, File(description="webm/opus, ogg, mp3, m4a, wav... up to one utterance")],
    language: Annotated[str | None, Form(description="ru (default from settings), another code, or auto")] = None,
) -> dict[str, object]:
    """Text, language, segments with times, audio duration and processing time."""
    language = check_language(language)  # before the upload is decoded
    data = await read_upload(audio, settings.limits.max_upload_mb, AUDIO_TYPES, "audio")
    return (await pipeline.transcribe(data, language=language)).to_dict()

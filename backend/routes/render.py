"""``POST /api/render``: photo + text (or a recording) -> MP4; long inputs become background jobs."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.request import RenderRequest
from ai_pipeline.runner import RenderResult
from ai_pipeline.talking_head.base import Avatar
from backend.deps import JobsDep, PipelineDep, RuntimeDep, SettingsDep
from backend.errors import error_response
from backend.schemas import ERRORS, Job, JobCreated
from backend.tts_voices import check_tts_voice, current_tts

router = APIRouter(prefix="/api", tags=["render"], responses=ERRORS)
MP4 = {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}
PHOTO_TYPES = ("image/", "application/octet-stream")
AUDIO_TYPES = ("audio/", "video/webm", "video/mp4", "video/ogg", "application/octet-stream")


async def read_upload(upload: UploadFile, limit_mb: float, allowed: tuple[str, ...], what: str) -> bytes:
    """Read an upload, refusing wrong content types and anything over ``limit_mb``."""
    ctype = (upload.content_type or "application/octet-stream").lower()
    if not ctype.startswith(allowed):
        raise InputError(f"Неподходящий тип файла для поля «{what}»: {ctype}.", f"Bad content type for {what}: {ctype}",
                         code="bad_type")
    limit = int(limit_mb * 1_000_000)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"Файл «{what}» больше {limit_mb:g} МБ.", f"{what} exceeds {limit_mb} MB", code="too_large")
    if not data:
        raise InputError(f"Файл «{what}» пуст.", f"{what} is empty", code="empty_file")
    return data


def _headers(result: RenderResult) -> dict[str, str]:
    return {
        "X-Avatar-Id": result.avatar_id,
        "X-Render-Timings": json.dumps(result.timings),
        "X-Avatar-Warnings": json.dumps(list(result.warnings)),  # ASCII-escaped JSON: headers are latin-1
        "Content-Disposition": 'inline; filename="avatar.mp4"',
    }


@router.post("/render", response_model=None, response_class=Response,
             responses={200: {"content": MP4, "description": "the video"},
                        202: {"model": JobCreated, "description": "job created"}})
async def render(
    runtime: RuntimeDep,
    pipeline: PipelineDep,
    settings: SettingsDep,
    jobs: JobsDep,
    photo: Annotated[UploadFile | None, File(description="Face photo (JPEG/PNG/WebP); default avatar if absent")] = None,
    text: Annotated[str | None, Form(description="Russian text to speak")] = None,
    audio: Annotated[UploadFile | None, File(description="A recording to lip-sync instead of text")] = None,
    mode: Annotated[Literal["auto", "sync", "job"], Form()] = "auto",
    avatar_id: Annotated[str | None, Form(pattern=r"^[0-9a-f]{16}$",
                                          description="A photo prepared by POST /api/avatars")] = None,
    voice_id: Annotated[str | None, Form(description="Speak the text in an enrolled voice (id or name)")] = None,
    tts_voice: Annotated[str | None, Form(description="A standard voice of the TTS engine (GET /api/tts/voices); "
                                          "an enrolled voice is matched on top of it")] = None,
    quality: Annotated[Literal["live", "studio"], Form(
        description="live: the conversation's engine; studio: the full SadTalker pipeline (slow, always a job, "
                    "503 engine_unavailable without its weights)")] = "live",
) -> Response:
    """Render a talking-head MP4. ``mode=auto`` answers long inputs with 202 and a job id; ``quality=studio``
    always does (its progress per stage is the job's)."""
    limits = settings.limits
    if quality == "studio":
        from ai_pipeline.talking_head.sadtalker.studio_render import check_studio

        check_studio(pipeline)  # refused before any work when the SadTalker weights are absent
    if photo is not None and avatar_id is not None:
        raise InputError("Укажите либо фото, либо avatar_id.", "Both photo and avatar_id given.", code="bad_request")
    photo_bytes = await read_upload(photo, limits.max_upload_mb, PHOTO_TYPES, "photo") if photo is not None else None
    recording = await read_upload(audio, limits.max_upload_mb, AUDIO_TYPES, "audio") if audio is not None else None
    request = RenderRequest(text=text, audio=recording, voice=voice_id,  # text xor audio; voices only with text
                            tts_voice=tts_voice)
    if request.tts_voice is not None:
        check_tts_voice(current_tts(runtime), request.tts_voice)  # 422 listing the voices
    request = await asyncio.to_thread(pipeline.resolve, request)  # decoded, checked, the voice looked up
    if photo_bytes is not None:
        avatar: Avatar = await asyncio.to_thread(pipeline.avatar, photo_bytes)
    else:  # a prepared photo, or the default avatar
        avatar = await asyncio.to_thread(pipeline.avatar_by_id, avatar_id)
    if isinstance(request.audio, AudioChunk):
        long_input = request.audio.duration > limits.job_audio_seconds
    else:
        long_input = len(request.text or "") > limits.job_text_chars
    if quality == "studio":
        from ai_pipeline.talking_head.sadtalker.studio_render import render_studio_request

        job = jobs.submit(lambda progress: render_studio_request(pipeline, avatar, request, progress))
        return JSONResponse({"job_id": job.id, "status_url": f"/api/jobs/{job.id}"}, status_code=202)
    if mode == "job" or (mode == "auto" and long_input):
        job = jobs.submit(lambda progress: pipeline.render(avatar, request, progress=progress))
        return JSONResponse({"job_id": job.id, "status_url": f"/api/jobs/{job.id}"}, status_code=202)
    result = await pipeline.render(avatar, request)
    return Response(result.mp4, media_type="video/mp4", headers=_headers(result))


@router.get("/jobs/{job_id}", response_model=Job)
async def job_status(job_id: str, jobs: JobsDep) -> Response:
    """Status, progress (0..1) and, when done, the result URL of a render job."""
    job = jobs.jobs.get(job_id)
    if job is None:
        return error_response(404, "job_not_found", "Задание не найдено.", f"No job {job_id}")
    return JSONResponse(job.public())


@router.get("/jobs/{job_id}/result", response_model=None, response_class=Response, responses={200: {"content": MP4}})
async def job_result(job_id: str, jobs: JobsDep) -> Response:
    job = jobs.jobs.get(job_id)
    if job is None or job.status != "done":
        return error_response(404, "job_not_ready", "Результат ещё не готов или задание не найдено.", job_id)
    if not jobs.result_path(job_id).is_file():  # a job whose result is JSON (voice preparation), or trimmed
        return error_response(404, "no_video", "У этого задания нет видео: результат в его статусе.", job_id)
    return FileResponse(jobs.result_path(job_id), media_type="video/mp4", filename=f"avatar-{job_id}.mp4")

"""``/api/voices``: enrol a voice from recordings, add samples, listen to them, prepare it in a job."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.voice.base import MIN_SECONDS
from ai_pipeline.voice.enroll import Enroller
from ai_pipeline.voice.store import VoiceNotFound, VoiceRejected, VoiceStore
from backend.deps import JobsDep, PipelineDep, SettingsDep
from backend.routes.render import AUDIO_TYPES, read_upload

router = APIRouter(prefix="/api/voices", tags=["voices"])


def get_voices(request: Request) -> VoiceStore:
    """A store on the current settings; the analyser (and its VAD model) is shared by requests."""
    state = request.app.state
    if getattr(state, "voice_enroller", None) is None:
        services = getattr(state, "services", None)
        state.voice_enroller = Enroller(getattr(services, "vad", None))
    settings = state.settings
    return VoiceStore(settings.voices_dir, limits=settings.limits, enroller=state.voice_enroller)


VoicesDep = Annotated[VoiceStore, Depends(get_voices)]
FilesField = Annotated[list[UploadFile], File(description="Recordings of the voice: wav/mp3/ogg/m4a/webm/flac")]


async def _read_files(files: list[UploadFile], settings: SettingsDep) -> list[tuple[str, bytes]]:
    """Read uploads, refusing too many files, wrong types and more than the total size limit."""
    limits = settings.limits
    if len(files) > limits.max_voice_files:
        raise InputTooLarge(f"Слишком много файлов: допускается не больше {limits.max_voice_files} за раз.",
                            f"{len(files)} files > {limits.max_voice_files}", code="too_many_files")
    out: list[tuple[str, bytes]] = []
    left = limits.max_voice_mb
    too_large = InputTooLarge(f"Слишком большой объём записей: допускается не больше {limits.max_voice_mb:g} МБ "
                              "за раз.", f"uploads exceed {limits.max_voice_mb} MB", code="too_large")
    for upload in files:
        name = upload.filename or f"file{len(out) + 1}"
        if left <= 0:
            raise too_large
        try:
            data = await read_upload(upload, left, AUDIO_TYPES, name)
        except InputTooLarge:
            raise too_large from None
        left -= len(data) / 1_000_000
        out.append((name, data))
    return out


def _rejected(exc: VoiceRejected) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)


def _info(store: VoiceStore, voice_id: str) -> dict[str, Any]:
    info = store.info(voice_id)
    info["samples"] = [f"/api/voices/{info['id']}/samples/{n}.wav" for n in range(1, info["utterances"] + 1)]
    return info


@router.post("", status_code=201)
async def create_voice(store: VoicesDep, settings: SettingsDep, name: Annotated[str, Form(description="Voice name")],
                       files: FilesField) -> Response:
    """Enrol a voice: ``{"voice": info, "report": quality report}``; 422 with the report when no
    file has usable speech."""
    uploads = await _read_files(files, settings)
    try:
        voice, report = await asyncio.to_thread(store.create, name, uploads)
    except VoiceRejected as exc:
        return _rejected(exc)
    return JSONResponse({"voice": await asyncio.to_thread(_info, store, voice.id), "report": report.to_dict()},
                        status_code=201)


@router.get("")
async def list_voices(store: VoicesDep) -> list[dict[str, Any]]:
    """Every voice (current version), newest first."""
    return await asyncio.to_thread(lambda: [_info(store, v.id) for v in store.list()])


@router.get("/{voice_id}")
async def get_voice(voice_id: str, store: VoicesDep) -> dict[str, Any]:
    """A voice by id or name: versions, quality report, usable seconds, preparation state."""
    return await asyncio.to_thread(_info, store, voice_id)


@router.delete("/{voice_id}", status_code=204)
async def delete_voice(voice_id: str, store: VoicesDep) -> Response:
    await asyncio.to_thread(store.delete, voice_id)
    return Response(status_code=204)


@router.post("/{voice_id}/samples", status_code=201)
async def add_samples(voice_id: str, store: VoicesDep, settings: SettingsDep, files: FilesField) -> Response:
    """More recordings: a new version with all utterances so far; the report covers all files."""
    store.get(voice_id)  # 404 before reading the uploads
    uploads = await _read_files(files, settings)
    try:
        voice, report = await asyncio.to_thread(store.add_samples, voice_id, uploads)
    except VoiceRejected as exc:
        return _rejected(exc)
    return JSONResponse({"voice": await asyncio.to_thread(_info, store, voice.id), "report": report.to_dict()},
                        status_code=201)


@router.get("/{voice_id}/samples/{n}.wav", responses={200: {"content": {"audio/wav": {}}}})
async def sample(voice_id: str, n: int, store: VoicesDep) -> Response:
    """Prepared utterance ``n`` (1-based) of the current version, to listen to in the wizard."""
    voice = store.get(voice_id)
    prepared = voice.prepared
    if not 1 <= n <= len(prepared):
        raise VoiceNotFound(f"У голоса нет фрагмента № {n}.", f"No sample {n} (have {len(prepared)})",
                            code="sample_not_found")
    return FileResponse(prepared[n - 1], media_type="audio/wav")


@router.post("/{voice_id}/prepare", status_code=202)
async def prepare(voice_id: str, store: VoicesDep, pipeline: PipelineDep, jobs: JobsDep) -> Response:
    """Prepare the voice for synthesis in a background job: ``{"job_id", "status_url"}``; the job's
    status carries the preparation result when done."""
    from ai_pipeline.voice.prepare import prepare_voice

    voice = store.get(voice_id)
    report = voice.report()
    usable = report.usable_s if report else 0.0
    if usable < MIN_SECONDS:
        raise InputError(f"Мало речи для голоса: {usable:.0f} с из нужных {MIN_SECONDS:.0f} с. Добавьте записи.",
                         f"{usable:.1f} s of speech < {MIN_SECONDS} s", code="not_enough_audio")
    tts = pipeline.tts

    async def work(progress) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(prepare_voice, voice, tts, progress)

    job = jobs.submit(work, kind="voice", label="Подготовка голоса")
    return JSONResponse({"job_id": job.id, "status_url": f"/api/jobs/{job.id}"}, status_code=202)

"""``/api/voices``: enrol a voice from recordings, add samples, listen to them, prepare it in a job.

Recordings are streamed to a folder on disk as they are received (limits checked while copying),
then analysed in a background job: enrolment answers 202 with the job, whose result is
``{"voice": info, "report": report}`` and whose error, when no file has usable speech, carries the
report (``voice_rejected``).

Training (``/api/voices/{id}/train``: POST starts, GET reports, DELETE cancels) is a resumable job
of :mod:`backend.voice_training`; the router's lifespan resumes the trainings a stopped server left
queued and, at shutdown, lets a running one save a checkpoint before the job store closes.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, Form, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from ai_pipeline import workers
from ai_pipeline.errors import InputError
from ai_pipeline.voice.base import MIN_SECONDS, Voice, VoiceReport
from ai_pipeline.voice.store import Progress, Upload, VoiceNotFound, VoiceStore, check_name
from backend.deps import JobsDep, PipelineDep, RuntimeDep, SettingsDep, VoicesDep
from backend.routes.render import AUDIO_TYPES
from backend.schemas import ERRORS, JobCreated, TrainingStatus, VoiceInfo
from backend.uploads import save_uploads
from backend.voice_training import training_for


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """After the runtime has started: resume interrupted trainings (the app's own lifespan is outside this)."""
    runtime = getattr(app.state, "runtime", None)
    if runtime is not None:
        await asyncio.to_thread(runtime.voices)  # the store's first-use sweep, off the event loop
        training_for(runtime).resume_pending()
    yield


router = APIRouter(prefix="/api/voices", tags=["voices"], responses=ERRORS, lifespan=_lifespan)
FilesField = Annotated[list[UploadFile], File(description="Recordings of the voice: wav/mp3/ogg/m4a/webm/flac")]


Enrol = Callable[[list[Upload], Progress], tuple[Voice, VoiceReport]]


async def _enrol_in_job(files: list[UploadFile], store: VoiceStore, settings: SettingsDep, jobs: JobsDep,
                        enrol: Enrol) -> JSONResponse:
    """Stream ``files`` to an upload folder, then run ``enrol`` on them in a job (202)."""
    limits = settings.limits
    folder = await workers.run("io", store.upload_folder)
    try:
        uploads: list[Upload] = list(await save_uploads(files, folder, max_files=limits.max_voice_files,
                                                        max_mb=limits.max_voice_mb, allowed=AUDIO_TYPES))
        store.check_files(uploads)
    except BaseException:
        await workers.run("io", _remove, folder)
        raise

    async def work(progress: Progress) -> dict[str, Any]:
        try:
            voice, report = await asyncio.to_thread(enrol, uploads, progress)
            return {"voice": await workers.run("io", _info, store, voice.id), "report": report.to_dict()}
        finally:
            await workers.run("io", _remove, folder)

    job = jobs.submit(work, kind="voice_enroll", label="Анализ записей")
    return JSONResponse({"job_id": job.id, "status_url": f"/api/jobs/{job.id}"}, status_code=202)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _info(store: VoiceStore, voice_id: str) -> dict[str, Any]:
    info = store.info(voice_id)
    info["samples"] = [f"/api/voices/{info['id']}/samples/{n}.wav" for n in range(1, info["utterances"] + 1)]
    return info


@router.post("", status_code=202, response_model=JobCreated)
async def create_voice(store: VoicesDep, settings: SettingsDep, jobs: JobsDep,
                       name: Annotated[str, Form(description="Voice name")], files: FilesField) -> Response:
    """Enrol a voice in a background job: ``{"job_id", "status_url"}``. The job's result is
    ``{"voice": info, "report": quality report}``; its error is ``voice_rejected`` with the report
    when no file has usable speech."""
    name = check_name(name)
    return await _enrol_in_job(files, store, settings, jobs, lambda uploads, progress: store.create(
        name, uploads, progress))


@router.get("", response_model=list[VoiceInfo])
async def list_voices(store: VoicesDep) -> list[dict[str, Any]]:
    """Every voice (current version), newest first."""
    return await workers.run("io", lambda: [_info(store, v.id) for v in store.list()])


@router.get("/{voice_id}", response_model=VoiceInfo)
async def get_voice(voice_id: str, store: VoicesDep) -> dict[str, Any]:
    """A voice by id or name: versions, quality report, usable seconds, preparation state."""
    return await workers.run("io", _info, store, voice_id)


@router.delete("/{voice_id}", status_code=204, response_model=None)
async def delete_voice(voice_id: str, store: VoicesDep) -> Response:
    await workers.run("io", store.delete, voice_id)
    return Response(status_code=204)


@router.post("/{voice_id}/samples", status_code=202, response_model=JobCreated)
async def add_samples(voice_id: str, store: VoicesDep, settings: SettingsDep, jobs: JobsDep,
                      files: FilesField) -> Response:
    """More recordings, analysed in a job like enrolment: the result is a new version with all
    utterances so far, and its report covers all files."""
    voice_id = (await workers.run("io", store.get, voice_id)).id  # 404 before copying the uploads
    return await _enrol_in_job(files, store, settings, jobs, lambda uploads, progress: store.add_samples(
        voice_id, uploads, progress))


@router.get("/{voice_id}/samples/{n}.wav", response_model=None, response_class=Response,
            responses={200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}})
async def sample(voice_id: str, n: int, store: VoicesDep) -> Response:
    """Prepared utterance ``n`` (1-based) of the current version, to listen to in the wizard."""
    voice = store.get(voice_id)
    prepared = voice.prepared
    if not 1 <= n <= len(prepared):
        raise VoiceNotFound(f"У голоса нет фрагмента № {n}.", f"No sample {n} (have {len(prepared)})",
                            code="sample_not_found")
    return FileResponse(prepared[n - 1], media_type="audio/wav")


@router.post("/{voice_id}/prepare", status_code=202, response_model=JobCreated)
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


@router.post("/{voice_id}/train", status_code=202, response_model=JobCreated)
async def start_training(voice_id: str, runtime: RuntimeDep) -> Response:
    """Fine-tune XTTS on the voice in a background job: ``{"job_id", "status_url"}`` (the job already
    queued or running for this voice, if any). 503 ``cannot_train`` with the reason when this server
    cannot train; 422 ``not_enough_audio``. Progress: the job's ``details`` (stage, epoch, step, loss,
    eta_s); result: ``used`` (the trained version became current), ``validation``, ``message``."""
    job = await training_for(runtime).start(voice_id)
    return JSONResponse({"job_id": job.id, "status_url": f"/api/jobs/{job.id}"}, status_code=202)


@router.get("/{voice_id}/train", response_model=TrainingStatus)
async def training_status(voice_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    """Can this voice be trained here (and why not), the time estimate from its speech, and its latest training job."""
    return await workers.run("io", training_for(runtime).status, voice_id)


@router.delete("/{voice_id}/train", response_model=TrainingStatus)
async def cancel_training(voice_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    """Stop the voice's training after a checkpoint (starting it again continues from there)."""
    service = training_for(runtime)
    voice_id = (await workers.run("io", runtime.voices().get, voice_id)).id
    service.cancel(voice_id)
    return await workers.run("io", service.status, voice_id)

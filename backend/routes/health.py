"""``GET /api/health``: engines, versions, devices, model files, and whether voices can be trained here."""

from __future__ import annotations

import asyncio
import platform
import shutil

import av
import cv2
import numpy
from fastapi import APIRouter

from ai_pipeline import __version__, models, workers
from ai_pipeline.gpu import gpu_manager
from ai_pipeline.gpu.nvml import gpu_info
from ai_pipeline.registry import engine_table
from backend.deps import PipelineDep, RuntimeDep, SettingsDep
from backend.runtime import Runtime
from backend.schemas import Health, LiveHealth
from backend.voice_training import capability_of

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, response_model_exclude_unset=True)
def health(runtime: RuntimeDep, pipeline: PipelineDep, settings: SettingsDep) -> dict[str, object]:
    """What is loaded and where it runs; ``notices`` lists fallbacks to lighter engines; ``realtime``
    the conversations now, the capacity, and streams that fell behind real time; ``training`` whether
    this server can fine-tune a voice (a CUDA device and the XTTS-v2 base checkpoint) and why not."""
    status = pipeline.status()
    return {
        "status": "ok" if all(status[s] for s in ("asr", "llm", "emotion", "tts", "talking_head")) else "loading",
        "version": __version__,
        "engines": {stage: status[stage] for stage in ("asr", "llm", "emotion", "tts", "talking_head")}
        | {"enhance": status.get("enhance")},
        "available_engines": engine_table(),
        "notices": status["notices"],
        "devices": {"cpu": platform.processor() or platform.machine(), "gpu": bool(shutil.which("nvidia-smi"))},
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "opencv": cv2.__version__,
                     "pyav": av.__version__, "ffmpeg": ".".join(map(str, av.library_versions["libavcodec"]))},
        "models": models.status(settings.models_dir),
        "gpu": gpu_status(),
        "limits": settings.limits.model_dump(),
        "realtime": realtime_status(runtime),
        "training": capability_of(settings).to_dict(),
    }


@router.get("/health/live", response_model=LiveHealth, response_model_exclude_unset=True)
async def live(runtime: RuntimeDep) -> dict[str, object]:
    """The realtime block alone, plus the event loop's task count (cheap: for monitors and the soak bench)."""
    return {**(realtime_status(runtime) or {}), "tasks": len(asyncio.all_tasks())}


def realtime_status(runtime: Runtime | None) -> dict[str, object] | None:
    """Connected clients, conversations against ``max_sessions``, and how each stream keeps up
    (None for an app without the conversation server)."""
    if runtime is None:
        return None
    streams = [(sid, s.stream) for sid, s in list(runtime.live.items()) if s.stream is not None]
    behind = {sid: round(getattr(st, "behind_s", 0.0), 3) for sid, st in streams}
    degraded = [sid for sid, st in streams if getattr(st, "degraded", False)]
    return {
        "clients": len(runtime.live),
        "sessions": runtime.active_sessions(),
        "max_sessions": runtime.settings.realtime.max_sessions,
        "streams": len(streams),
        "behind_s": behind,
        "degraded": degraded,
        "notice": (f"Видео {len(degraded)} разговоров не успевает за реальным временем: паузы показаны "
                   "неподвижным кадром." if degraded else None),
        "worker_threads": workers.threads(),
        "end_of_turn": "smart_turn" if runtime.turn is not None else "silence",
    }


def gpu_status() -> dict[str, object]:
    """NVML's view of the GPU (``available: False`` on a CPU machine) plus the VRAM budget's ledger."""
    ledger = gpu_manager().describe()
    device = str(ledger["device"])
    index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else 0
    return {**gpu_info(index), "device": device, "budget_mb": ledger["budget_mb"],
            "accounted_mb": ledger["used_mb"], "context_mb": ledger.get("context_mb"), "engines": ledger["engines"]}

"""``GET /api/health``: engines, versions, devices and model files."""

from __future__ import annotations

import platform
import shutil

import av
import cv2
import numpy
from fastapi import APIRouter

from ai_pipeline import __version__, models
from ai_pipeline.gpu import gpu_manager
from ai_pipeline.gpu.nvml import gpu_info
from ai_pipeline.registry import engine_table
from backend.deps import PipelineDep, SettingsDep

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def health(pipeline: PipelineDep, settings: SettingsDep) -> dict[str, object]:
    """What is loaded and where it runs; ``notices`` lists fallbacks to lighter engines."""
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
    }


def gpu_status() -> dict[str, object]:
    """NVML's view of the GPU (``available: False`` on a CPU machine) plus the VRAM budget's ledger."""
    ledger = gpu_manager().describe()
    device = str(ledger["device"])
    index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else 0
    return {**gpu_info(index), "device": device, "budget_mb": ledger["budget_mb"],
            "accounted_mb": ledger["used_mb"], "engines": ledger["engines"]}

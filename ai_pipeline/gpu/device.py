"""Which device the heavy engines use: ``gpu.device`` resolved, and a torch engine's own choice."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING

from ai_pipeline.errors import EngineUnavailable, InputError

if TYPE_CHECKING:
    from ai_pipeline.gpu.memory import GpuMemoryManager


def _nvidia_driver() -> bool:
    """An NVIDIA kernel driver is loaded (Linux), or we cannot tell (other systems: ask torch)."""
    return os.path.exists("/proc/driver/nvidia/version") or not sys.platform.startswith("linux")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda:0`` if torch sees a GPU, else ``cpu``; ``cuda`` -> ``cuda:0``."""
    if device == "cpu":
        return "cpu"
    has_torch = importlib.util.find_spec("torch") is not None
    if device == "auto":
        if not has_torch or not _nvidia_driver():
            return "cpu"  # decided without importing torch: a CPU start stays fast
        import torch

        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if not has_torch:
        raise InputError(f"Настройка gpu.device={device}, но PyTorch не установлен.",
                         f"gpu.device={device} needs torch", code="bad_settings")
    import torch

    if not torch.cuda.is_available():
        raise InputError(f"Настройка gpu.device={device}, но CUDA-видеокарта не найдена.",
                         f"gpu.device={device} but torch.cuda.is_available() is False", code="bad_settings")
    return device if ":" in device else "cuda:0"


def engine_device(wanted: str, manager: GpuMemoryManager | None = None) -> str:
    """Where a torch engine with ``device: auto|cpu|cuda`` runs: the manager's GPU, or ``cpu``."""
    if manager is None:
        from ai_pipeline.gpu.memory import gpu_manager

        manager = gpu_manager()
    if wanted == "cuda" and not manager.cuda:
        raise EngineUnavailable("Движок настроен на видеокарту (device: cuda), но CUDA-видеокарта не найдена.",
                                f"device=cuda but the GPU manager runs on {manager.device}")
    return manager.device if wanted != "cpu" and manager.cuda else "cpu"

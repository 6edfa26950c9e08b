"""GPU resources: one VRAM budget shared by the heavy engines, and what the GPU reports (NVML)."""

from ai_pipeline.gpu.device import engine_device, resolve_device
from ai_pipeline.gpu.memory import (
    GpuMemoryManager,
    GpuModel,
    GpuSlot,
    configure_gpu,
    gpu_manager,
)

__all__ = ["GpuMemoryManager", "GpuModel", "GpuSlot", "configure_gpu", "engine_device", "gpu_manager", "resolve_device"]

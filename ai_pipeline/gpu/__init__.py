"""GPU resources: one VRAM budget shared by the heavy engines, and what the GPU reports (NVML)."""

from ai_pipeline.gpu.memory import (
    GpuMemoryManager,
    GpuModel,
    GpuSlot,
    configure_gpu,
    engine_device,
    gpu_manager,
    resolve_device,
)

__all__ = ["GpuMemoryManager", "GpuModel", "GpuSlot", "configure_gpu", "engine_device", "gpu_manager", "resolve_device"]

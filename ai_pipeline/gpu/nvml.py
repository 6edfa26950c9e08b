"""What the GPU itself reports (name, VRAM, utilisation) through NVML (``nvidia-ml-py``).

Without the package, a driver or a GPU this returns ``available: False`` and the reason: NVML
initialisation simply fails on a CPU machine, nothing is raised.
"""

from __future__ import annotations

from ai_pipeline.gpu.memory import MB


def gpu_info(index: int = 0) -> dict[str, object]:
    """Name, total/used MB and utilisation % of GPU ``index``, or ``available: False`` with a reason."""
    try:
        import pynvml
    except ImportError:
        return {"available": False, "reason": "nvidia-ml-py is not installed"}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return {"available": False, "reason": f"NVML: {exc}"}
    try:
        count = pynvml.nvmlDeviceGetCount()
        if index >= count:
            return {"available": False, "reason": f"GPU {index} not present ({count} found)"}
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        try:
            utilisation: int | None = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except pynvml.NVMLError:  # not supported on some boards / MIG slices
            utilisation = None
        return {"available": True, "index": index, "name": name.decode() if isinstance(name, bytes) else name,
                "total_mb": int(memory.total) // MB, "used_mb": int(memory.used) // MB,
                "utilization_pct": utilisation}
    except pynvml.NVMLError as exc:
        return {"available": False, "reason": f"NVML: {exc}"}
    finally:
        pynvml.nvmlShutdown()

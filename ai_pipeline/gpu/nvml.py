"""What the GPU itself reports (name, VRAM, utilisation, memory per process) through NVML (``nvidia-ml-py``).

Without the package, a driver or a GPU this returns ``available: False`` and the reason: NVML
initialisation simply fails on a CPU machine, nothing is raised. NVML is the driver's management
library, not CUDA: asking it creates no CUDA context.

NVML counts memory per process, whoever allocated it: PyTorch, CTranslate2 (faster-whisper),
llama.cpp's CUDA back end and Vulkan (ncnn) alike, plus the CUDA context itself. That is the figure
torch's own counters miss. Inside a container NVML may list host process ids, or report no
per-process figure at all; then ``process_mb`` is ``None`` and ``process_note`` says why.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

MB = 1024 * 1024


def pid_used_mb(processes: Iterable[Any], pid: int) -> int | None:
    """MB that NVML's process records (``.pid``, ``.usedGpuMemory`` in bytes or ``None``) give ``pid``.

    A process that uses both compute (CUDA) and graphics (Vulkan) appears in both lists with the same
    total, so the largest record counts, not their sum. ``None``: not listed, or no figure reported.
    """
    used = [int(p.usedGpuMemory) for p in processes if int(p.pid) == pid and p.usedGpuMemory is not None]
    return max(used) // MB if used else None


def _processes(pynvml: Any, handle: Any) -> list[Any]:
    found: list[Any] = []
    for query in (pynvml.nvmlDeviceGetComputeRunningProcesses, pynvml.nvmlDeviceGetGraphicsRunningProcesses):
        try:
            found.extend(query(handle))
        except pynvml.NVMLError:  # not supported on this board / driver
            pass
    return found


def _per_process(pynvml: Any, handle: Any, pid: int) -> dict[str, object]:
    procs = _processes(pynvml, handle)
    by_pid: dict[int, int | None] = {}
    for p in procs:
        by_pid[int(p.pid)] = pid_used_mb(procs, int(p.pid))
    mine = by_pid.get(pid)
    note = None
    if pid not in by_pid:
        note = "этот процесс не в списке NVML (ещё не трогал GPU, или контейнер со своим PID-пространством)"
    elif mine is None:
        note = "NVML не сообщает память по процессам (контейнер, WSL или vGPU)"
    return {"process_mb": mine, "process_note": note,
            "processes": [{"pid": p, "used_mb": mb, "self": p == pid} for p, mb in sorted(by_pid.items())]}


def _torch_view(index: int) -> dict[str, object]:
    """torch's own counters for this process, only if torch already set up CUDA (never starts it)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return {}
    return {"torch_allocated_mb": int(torch.cuda.memory_allocated(index)) // MB,
            "torch_reserved_mb": int(torch.cuda.memory_reserved(index)) // MB}


def process_used_mb(index: int = 0, pid: int | None = None) -> int | None:
    """This process's (or ``pid``'s) memory on GPU ``index`` as NVML counts it; ``None`` if unknown."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        return pid_used_mb(_processes(pynvml, pynvml.nvmlDeviceGetHandleByIndex(index)), pid or os.getpid())
    except pynvml.NVMLError:
        return None
    finally:
        pynvml.nvmlShutdown()


def gpu_info(index: int = 0) -> dict[str, object]:
    """Name, total/used MB, utilisation % of GPU ``index`` and its memory per process (``process_mb``:
    this process, ``processes``: every process on it), or ``available: False`` with a reason."""
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
                "utilization_pct": utilisation, **_per_process(pynvml, handle, os.getpid()), **_torch_view(index)}
    except pynvml.NVMLError as exc:
        return {"available": False, "reason": f"NVML: {exc}"}
    finally:
        pynvml.nvmlShutdown()

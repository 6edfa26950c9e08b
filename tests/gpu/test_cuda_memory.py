"""The VRAM ledger with ``device: auto`` on a CUDA machine: real torch allocations are measured and
counted, least-recently-used engines are unloaded and their memory is really freed.

On the CPU (``AVATAR_TEST_GPU_DEVICE=cpu``) the same steps run with the declared sizes only.
"""

from __future__ import annotations

import pytest
import torch

from ai_pipeline.gpu import GpuMemoryManager
from ai_pipeline.gpu.memory import MB
from tests.gpu.compare import DEVICE, device_kind

pytestmark = pytest.mark.gpu


class TensorModel:
    """An engine whose weights are one real tensor of ``mb`` MiB on ``device``."""

    def __init__(self, mb: int, device: str) -> None:
        self.mb, self.device = mb, device
        self.weights: torch.Tensor | None = None

    def gpu_load(self) -> None:
        self.weights = torch.ones(self.mb * MB // 4, dtype=torch.float32, device=self.device)

    def gpu_unload(self) -> None:
        self.weights = None


def _allocated_mb() -> int:
    return torch.cuda.memory_allocated() // MB if DEVICE == "cuda" else 0


def test_real_allocations_are_measured_counted_and_freed() -> None:
    manager = GpuMemoryManager(budget_mb=200, device="auto" if DEVICE == "cuda" else "cpu", wait_s=0.0)
    assert device_kind(manager.device) == DEVICE and manager.cuda is (DEVICE == "cuda")
    a = manager.register("a", TensorModel(64, manager.device), estimate_mb=96)
    b = manager.register("b", TensorModel(64, manager.device), estimate_mb=64)
    c = manager.register("c", TensorModel(100, manager.device), estimate_mb=120)
    start = _allocated_mb()
    with a.use():
        assert a.model.weights is not None and a.model.weights.device.type == DEVICE
        work = torch.zeros(32 * MB // 4, device=manager.device)  # working memory while in use
        del work
    with b.use():
        pass
    on_cuda = DEVICE == "cuda"
    assert (a.measured_mb, a.peak_mb) == ((64, 96) if on_cuda else (0, 0))
    assert (b.measured_mb, b.peak_mb) == ((64, 64) if on_cuda else (0, 0))
    assert a.reserved_mb == 96 and b.reserved_mb == 64 and manager.used_mb == 160
    assert _allocated_mb() - start == (128 if on_cuda else 0)
    with c.use():  # 120 MB more than the 40 left: the least recently used engine (a) goes first
        assert manager.loaded() == ["b", "c"] and a.model.weights is None
        assert _allocated_mb() - start == (164 if on_cuda else 0)
    assert c.reserved_mb == 120 and manager.used_mb == 184
    info = {e["name"]: e for e in manager.describe()["engines"]}
    assert not info["a"]["loaded"] and info["b"]["loaded"] and info["c"]["measured_mb"] == (100 if on_cuda else 0)
    for name in ("a", "b", "c"):
        manager.unregister(name)
    assert manager.used_mb == 0 and _allocated_mb() == start

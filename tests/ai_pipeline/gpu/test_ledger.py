"""The complete VRAM ledger on CPU: engines that manage their own memory (pinned, measured by the
process meter), memory of other processes (watched, not counted), and NVML's per-process records."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ai_pipeline.errors import GpuBudgetExceeded
from ai_pipeline.gpu import GpuMemoryManager
from ai_pipeline.gpu.nvml import MB, pid_used_mb
from tests.ai_pipeline.gpu.test_memory import SizedModel


class MeteredManager(GpuMemoryManager):
    """The ledger with a process meter the test moves by hand, as NVML would see loads on a GPU."""

    def __init__(self, budget_mb: int) -> None:
        super().__init__(budget_mb=budget_mb, device="cpu", wait_s=0.2)
        self.meter_mb = 500  # what the process already holds (the CUDA context, say)

    def _process_mb(self) -> int | None:
        return self.meter_mb


def test_resident_engine_is_counted_pinned_and_not_evicted():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=0.2)
    torch_engine = manager.register("wav2lip", SizedModel("wav2lip", log), 500)
    with torch_engine.use():
        pass
    owner = object()
    with manager.resident("faster_whisper", owner, 400) as whisper:
        assert manager.used_mb == 900 and whisper.state == "loading"
    assert whisper.pinned and whisper.state == "loaded" and manager.used_mb == 900
    # the idle torch engine makes way for another one; the resident one cannot and is never asked
    other = manager.register("sadtalker", SizedModel("sadtalker", log), 600)
    with other.use():
        assert log == ["load wav2lip", "unload wav2lip", "load sadtalker"]
        assert manager.used_mb == 1000
    # only pinned memory stands in the way: refused at once, naming it (waiting could not help)
    big = manager.register("gfpgan", SizedModel("gfpgan", log), 700)
    with pytest.raises(GpuBudgetExceeded) as refused:
        with big.use():
            pass
    assert "faster_whisper" in refused.value.message_ru and "постоянно" in refused.value.message_ru
    row = next(e for e in manager.describe()["engines"] if e["name"] == "faster_whisper")
    assert row["pinned"] and row["loaded"] and row["reserved_mb"] == 400
    manager.unregister("faster_whisper")  # the engine closed: its memory is free again
    with big.use():
        assert manager.used_mb == 700
    assert "faster_whisper" not in [e["name"] for e in manager.describe()["engines"]]


def test_resident_load_is_measured_by_the_process_meter():
    manager = MeteredManager(budget_mb=2000)
    with manager.resident("llama_cpp", object(), 300) as llm:
        manager.meter_mb += 900  # the load took more than declared: the meter says so
    assert llm.nvml_mb == 900 and llm.reserved_mb == 900 and manager.used_mb == 900
    with manager.resident("faster_whisper", object(), 500) as whisper:
        manager.meter_mb += 200  # less than declared: the declaration still counts
    assert whisper.nvml_mb == 200 and whisper.reserved_mb == 500 and manager.used_mb == 1400
    # a torch engine that asks for more than the rest is refused at once
    with pytest.raises(GpuBudgetExceeded):
        with manager.register("sadtalker", SizedModel("sadtalker", []), 700).use():
            pass


def test_a_failed_resident_load_leaves_nothing_counted_and_names_collide_politely():
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=0.2)
    with pytest.raises(OSError):
        with manager.resident("faster_whisper", object(), 400):
            raise OSError("model.bin is corrupt")
    assert manager.used_mb == 0 and manager.describe()["engines"] == []
    first, second = object(), object()
    with manager.resident("faster_whisper", first, 300) as a, manager.resident("faster_whisper", second, 300) as b:
        pass
    assert a.name == "faster_whisper" and b.name.startswith("faster_whisper#") and manager.used_mb == 600
    with pytest.raises(GpuBudgetExceeded):  # bigger than the whole budget
        with manager.resident("huge", object(), 5000):
            pass
    with pytest.raises(ValueError):
        with manager.resident("zero", object(), 0):
            pass


def test_watched_memory_of_another_process_is_listed_not_counted():
    manager = GpuMemoryManager(budget_mb=1000, device="cpu")
    manager.watch("ollama", lambda: {"vram_mb": 5200, "model": "qwen2.5:7b-instruct"})

    def down() -> dict[str, object]:
        raise ConnectionError("connection refused")

    manager.watch("ollama-2", down)
    rows = {e["name"]: e for e in manager.describe()["engines"]}
    assert rows["ollama"] == {"name": "ollama", "external": True, "counted": False, "pinned": False,
                              "vram_mb": 5200, "model": "qwen2.5:7b-instruct"}
    assert rows["ollama-2"]["vram_mb"] is None and "refused" in rows["ollama-2"]["error"]
    assert manager.used_mb == 0
    manager.unwatch("ollama")
    assert [e["name"] for e in manager.describe()["engines"]] == ["ollama-2"]


def test_nvml_process_records_give_this_process_its_memory():
    records = [SimpleNamespace(pid=10, usedGpuMemory=300 * MB),
               SimpleNamespace(pid=42, usedGpuMemory=1200 * MB),  # compute list
               SimpleNamespace(pid=42, usedGpuMemory=1200 * MB),  # the same process in the graphics list
               SimpleNamespace(pid=77, usedGpuMemory=None)]  # no figure (container, vGPU)
    assert pid_used_mb(records, 42) == 1200  # not 2400: the two lists repeat one total
    assert pid_used_mb(records, 10) == 300
    assert pid_used_mb(records, 77) is None and pid_used_mb(records, 5) is None
    assert pid_used_mb([], 42) is None


class _NvmlError(Exception):
    pass


def test_health_rows_per_process_from_nvml_answers():
    """gpu_info's per-process part, given NVML's answers (graphics processes unsupported on this board)."""
    from ai_pipeline.gpu.nvml import _per_process

    def unsupported(handle: object) -> list[object]:
        raise _NvmlError("Not Supported")

    answers = SimpleNamespace(
        NVMLError=_NvmlError, nvmlDeviceGetGraphicsRunningProcesses=unsupported,
        nvmlDeviceGetComputeRunningProcesses=lambda handle: [SimpleNamespace(pid=4242, usedGpuMemory=5300 * MB),
                                                             SimpleNamespace(pid=31, usedGpuMemory=900 * MB)])
    mine = _per_process(answers, None, 31)
    assert mine["process_mb"] == 900 and mine["process_note"] is None
    assert mine["processes"] == [{"pid": 31, "used_mb": 900, "self": True},
                                 {"pid": 4242, "used_mb": 5300, "self": False}]
    elsewhere = _per_process(answers, None, 77)  # e.g. a container's own pid namespace
    assert elsewhere["process_mb"] is None and "PID" in str(elsewhere["process_note"])

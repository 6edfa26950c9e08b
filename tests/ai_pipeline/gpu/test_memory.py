"""The VRAM ledger on CPU: declared sizes, LRU unloading, refusals, concurrent use from threads."""

from __future__ import annotations

import threading
import time

import pytest

from ai_pipeline.errors import EngineUnavailable, GpuBudgetExceeded
from ai_pipeline.gpu import GpuMemoryManager, GpuModel, configure_gpu, gpu_manager
from ai_pipeline.settings import GpuSettings, Settings
from tests.devices import cuda_available


class SizedModel:
    """A stand-in engine: "weights" are a bytearray, the log records load/unload order."""

    def __init__(self, name: str, log: list[str], load_s: float = 0.0) -> None:
        self.name, self.log, self.load_s = name, log, load_s
        self.weights: bytearray | None = None

    def gpu_load(self) -> None:
        time.sleep(self.load_s)
        self.weights = bytearray(1024)
        self.log.append(f"load {self.name}")

    def gpu_unload(self) -> None:
        self.weights = None
        self.log.append(f"unload {self.name}")


class FailingModel(SizedModel):
    def gpu_load(self) -> None:
        raise OSError("checkpoint missing")


def make(manager: GpuMemoryManager, log: list[str], **sizes: int):
    return {name: manager.register(name, SizedModel(name, log), mb) for name, mb in sizes.items()}


def test_auto_device_and_protocol():
    manager = GpuMemoryManager(budget_mb=1000, device="auto")
    device = "cuda:0" if cuda_available() else "cpu"  # auto: the first GPU torch sees, else the CPU
    assert manager.device == device and manager.cuda == cuda_available()
    assert isinstance(SizedModel("x", []), GpuModel)
    assert manager.describe() == {"device": device, "budget_mb": 1000, "used_mb": 0, "context_mb": None,
                                  "conversations": 0, "engines": []}
    assert GpuMemoryManager(device="cpu").device == "cpu"


def test_lazy_load_and_accounting():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu")
    slots = make(manager, log, a=400, b=300)
    assert log == [] and manager.used_mb == 0  # registering loads nothing
    with slots["a"].use():
        assert slots["a"].model.weights is not None
        assert slots["a"].in_use and manager.used_mb == 400
    with slots["a"].use(), slots["b"].use():
        assert manager.used_mb == 700
    assert log == ["load a", "load b"]  # loaded once, kept while it fits
    assert manager.loaded() == ["b", "a"]  # a was released last (outer block)
    info = {e["name"]: e for e in manager.describe()["engines"]}
    assert info["a"]["loaded"] and not info["a"]["in_use"] and info["a"]["reserved_mb"] == 400


def test_least_recently_used_is_unloaded_first():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu")
    slots = make(manager, log, a=400, b=400, c=400, d=700)
    for name in ("a", "b"):
        with slots[name].use():
            pass
    with slots["a"].use():  # a is now more recent than b
        pass
    with slots["c"].use():
        pass
    assert log[-2:] == ["unload b", "load c"]
    assert manager.loaded() == ["a", "c"]
    with slots["d"].use():  # needs 700: both idle engines must go, older first
        assert manager.used_mb == 700
    assert log[-3:] == ["unload a", "unload c", "load d"]
    assert slots["a"].model.weights is None and slots["d"].model.weights is not None


def test_engine_in_use_is_never_unloaded_and_refusal_is_clear():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=0.2)
    slots = make(manager, log, a=600, b=600, huge=5000)
    with slots["a"].use():
        with pytest.raises(GpuBudgetExceeded) as err:
            with slots["b"].use():
                pass
        assert "load b" not in log and slots["a"].model.weights is not None
    message = err.value.message_ru
    assert "Не хватает видеопамяти" in message and "«b»" in message and "«a»" in message and "1000 МБ" in message
    assert isinstance(err.value, EngineUnavailable) and err.value.code == "gpu_budget_exceeded"
    assert err.value.retryable
    manager.wait_s = 30.0  # a request that waited would wait this long
    t0 = time.monotonic()
    with pytest.raises(GpuBudgetExceeded, match="больше всего бюджета"):
        with slots["huge"].use():
            pass
    assert time.monotonic() - t0 < 10.0  # hopeless requests do not wait
    manager.wait_s = 0.2
    with slots["b"].use():  # a is idle now: it goes, b comes
        pass
    assert log[-2:] == ["unload a", "load b"]


def test_waits_for_another_thread_then_refuses_after_timeout():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=20.0)
    slots = make(manager, log, a=600, b=600)
    holding, release = threading.Event(), threading.Event()

    def hold_a() -> None:
        with slots["a"].use():
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=hold_a)
    worker.start()
    holding.wait(5)
    threading.Timer(0.3, release.set).start()
    t0 = time.monotonic()
    with slots["b"].use():  # waits until the other thread lets go of a, then evicts it
        waited = time.monotonic() - t0
    worker.join()
    assert 0.2 < waited < 20.0 and log == ["load a", "unload a", "load b"]  # released, not timed out

    manager.wait_s = 0.3
    holding.clear(), release.clear()
    worker = threading.Thread(target=hold_a)
    worker.start()
    holding.wait(5)
    with pytest.raises(GpuBudgetExceeded, match="заняты другими запросами"):
        with slots["b"].use():
            pass
    release.set()
    worker.join()


def test_failed_load_frees_its_reservation():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu")
    broken = manager.register("broken", FailingModel("broken", log), 900)
    with pytest.raises(OSError):
        with broken.use():
            pass
    assert manager.used_mb == 0 and broken.state == "unloaded" and not broken.in_use
    ok = manager.register("ok", SizedModel("ok", log), 900)
    with ok.use():
        assert manager.used_mb == 900


def test_concurrent_use_never_exceeds_budget():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=30)
    slots = [manager.register(f"m{i}", SizedModel(f"m{i}", log, load_s=0.002), 300 + 100 * (i % 3))
             for i in range(6)]
    peak, errors, lock = [0], [], threading.Lock()

    def worker(seed: int) -> None:
        try:
            for step in range(40):
                slot = slots[(seed * 7 + step * 3) % len(slots)]
                with slot.use():
                    assert slot.model.weights is not None
                    with lock:
                        peak[0] = max(peak[0], manager.used_mb)
                    time.sleep(0.001)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert 0 < peak[0] <= 1000
    loaded = [s for s in slots if s.state == "loaded"]
    assert sum(s.reserved_mb for s in loaded) <= 1000
    assert all(s.model.weights is not None for s in loaded)
    assert all(s.model.weights is None for s in slots if s.state == "unloaded")
    assert log.count("unload m0") >= 1  # the budget really forced evictions


def test_reentrant_use_and_unregister():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu")
    slot = manager.register("a", SizedModel("a", log), 500)
    with slot.use(), slot.use():
        assert slot.users
    assert not slot.in_use
    with pytest.raises(ValueError):
        manager.register("a", SizedModel("a", log), 500)
    assert manager.register("a", slot.model, 600) is slot and slot.estimate_mb == 600
    manager.unregister("a")
    assert log == ["load a", "unload a"] and manager.describe()["engines"] == []


class BackgroundWork:
    """A long job holding a background slot the way the voice trainer does: it works in "steps", and
    after a step where ``yield_asked`` is set it lets go and takes the slot back as soon as it may."""

    def __init__(self, manager: GpuMemoryManager, log: list[str], mb: int) -> None:
        self.manager, self.log = manager, log
        self.slot = manager.register("train", SizedModel("train", log), mb, background=True)
        self.holding, self.done = threading.Event(), threading.Event()
        self.yields = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def take(self) -> None:
        while True:  # as GpuHold.take_back: short waits, retried
            try:
                self.manager.acquire(self.slot, timeout=0.2)
                self.holding.set()
                return
            except GpuBudgetExceeded:
                continue

    def run(self) -> None:
        self.take()
        while not self.done.is_set():
            time.sleep(0.02)  # one "optimiser step"
            if self.slot.yield_asked.is_set():
                self.yields += 1
                self.holding.clear()
                self.manager.release(self.slot)
                self.take()  # at once: the engine that asked must still get the memory first
        self.manager.release(self.slot)


def test_background_work_gives_way_and_never_evicts_a_conversation():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=20.0)
    tts = manager.register("tts", SizedModel("tts", log), 400)
    job = BackgroundWork(manager, log, 800)
    job.thread.start()
    assert job.holding.wait(5)
    manager.live_open()  # a conversation starts while the job trains
    t0 = time.monotonic()
    with tts.use():  # needs 400 MB of the job's 800: the job pauses after its step, the engine loads
        waited = time.monotonic() - t0
        assert not job.holding.is_set() and manager.used_mb == 400
    assert waited < 5.0 and job.yields == 1, (waited, job.yields)
    assert log == ["load train", "unload train", "load tts"]
    assert manager.describe()["conversations"] == 1
    time.sleep(0.5)  # between turns: the idle engine stays loaded, the job waits for free room
    assert not job.holding.is_set() and tts.state == "loaded"
    manager.live_close()  # the conversation ended: the job may evict idle engines again
    assert job.holding.wait(5)
    assert log[-2:] == ["unload tts", "load train"]
    job.done.set()
    job.thread.join(5)
    assert not job.thread.is_alive()


def test_background_work_takes_free_room_beside_a_conversation():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=20.0)
    tts = manager.register("tts", SizedModel("tts", log), 300)
    with tts.use():
        pass
    manager.live_open()
    job = BackgroundWork(manager, log, 600)  # fits beside the loaded engine: nothing is evicted
    job.thread.start()
    assert job.holding.wait(5)
    with tts.use():  # the engine is loaded: the job is not asked to yield
        pass
    assert job.yields == 0 and not job.slot.yield_asked.is_set()
    assert log == ["load tts", "load train"]
    job.done.set()
    job.thread.join(5)
    manager.live_close()
    manager.live_close()  # one too many closes never goes below zero
    assert manager.describe()["conversations"] == 0


def test_ordinary_slots_are_never_asked_to_yield():
    log: list[str] = []
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=0.3)
    slots = make(manager, log, a=800, b=400)
    holding, release = threading.Event(), threading.Event()

    def hold_a() -> None:
        with slots["a"].use():
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=hold_a)
    worker.start()
    holding.wait(5)
    with pytest.raises(GpuBudgetExceeded):
        with slots["b"].use():
            pass
    assert not slots["a"].yield_asked.is_set()
    release.set()
    worker.join()


def test_settings_configure_the_process_manager():
    settings = Settings(gpu={"budget_mb": 8000})
    assert settings.gpu == GpuSettings(budget_mb=8000, device="auto")
    manager = configure_gpu(settings.gpu)
    assert manager is gpu_manager() and manager.budget_mb == 8000
    assert manager.device == ("cuda:0" if cuda_available() else "cpu")
    configure_gpu(GpuSettings())
    assert gpu_manager().budget_mb == 12288
    with pytest.raises(ValueError):
        GpuSettings(device="tpu")

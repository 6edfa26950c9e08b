"""One VRAM budget for every heavy engine: lazy load, least-recently-used unload, clear refusal.

An engine that keeps weights on the GPU implements :class:`GpuModel` (``gpu_load`` / ``gpu_unload``)
and registers once with a declared estimate of what it needs (weights plus working memory)::

    slot = gpu_manager().register("wav2lip", self, estimate_mb=800)
    ...
    with slot.use():          # loads on first use, evicting idle engines if the budget is short
        frames = self.net(x)  # the slot cannot be unloaded while it is in use

The manager counts ``max(declared, measured)`` for each loaded engine against the budget. On CUDA it
measures what loading took twice: torch's view (``torch.cuda.memory_allocated`` before/after) and the
driver's view of this process (NVML, which also sees CTranslate2, llama.cpp and Vulkan memory and the
allocator's cache), and the peak while in use (``torch.cuda.max_memory_allocated``, when no other engine
is running at the same moment). The CUDA context is created before the first measured load, so its
few hundred MB (``context_mb``) are not charged to whichever engine happens to load first. On a CPU
the same bookkeeping runs with the declared sizes only and no CUDA call is ever made, so the logic is
the same everywhere and is tested on CPU.

Engines that manage device memory themselves (faster-whisper's CTranslate2, llama.cpp's GPU layers)
cannot be unloaded on request; they load inside :meth:`GpuMemoryManager.resident`, which makes room
first, measures the load through NVML and then counts it as *pinned*: never evicted, freed by
``unregister`` when the engine closes. Memory another process holds (an Ollama server) is shown by
:meth:`GpuMemoryManager.watch` and not counted: it is outside this process's budget.

When an engine cannot fit, idle engines are unloaded oldest-use first. If engines that other threads
are using stand in the way, the request waits up to ``wait_s`` for them; if the room can never be
made (bigger than the budget, or blocked by engines this same thread holds) it is refused at once
with :class:`~ai_pipeline.errors.GpuBudgetExceeded`.

Long background work (a voice training) registers a *background* slot and holds it for minutes or
hours. It gives way to everything else:

* an engine that needs the room sets the background slot's ``yield_asked``; the holder polls it
  (the trainer does at every optimiser step), moves its tensors off the GPU and releases the slot,
  and the engine loads within about one step instead of being refused after ``wait_s``;
* a background slot never evicts an engine while a conversation is open (``live_open`` /
  ``live_close``, called by each live session): it waits for free room, so engines a conversation
  uses between turns stay loaded;
* while any other request waits for room, a background slot is not taken (back).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ai_pipeline.errors import GpuBudgetExceeded, InputError
from ai_pipeline.gpu.device import resolve_device
from ai_pipeline.gpu.nvml import MB, process_used_mb

log = logging.getLogger(__name__)


@runtime_checkable
class GpuModel(Protocol):
    """What the manager needs from an engine: put weights on the device, and free them."""

    def gpu_load(self) -> None:
        """Load the weights onto ``manager.device`` (blocking)."""

    def gpu_unload(self) -> None:
        """Drop every reference to device tensors (the manager empties the CUDA cache afterwards)."""


@dataclass
class GpuSlot:
    """One registered engine. ``use()`` is the only thing engines call after registering."""

    manager: GpuMemoryManager
    name: str
    model: GpuModel
    estimate_mb: int
    measured_mb: int = 0  # VRAM the load itself took (CUDA only)
    peak_mb: int = 0  # highest VRAM seen while in use, relative to before (CUDA only)
    nvml_mb: int = 0  # what the load added to this process's memory as NVML counts it (CUDA only)
    pinned: bool = False  # manages its own memory: counted, never evicted (see ``resident``)
    background: bool = False  # long work that gives way (see the module docstring)
    yield_asked: threading.Event = field(default_factory=threading.Event)  # set: a background holder should let go
    state: str = "unloaded"  # unloaded | loading | loaded | unloading
    users: dict[int, int] = field(default_factory=dict)  # thread id -> nesting depth
    last_used: float = 0.0
    loads: int = 0

    @property
    def reserved_mb(self) -> int:
        """What this engine counts against the budget when loaded."""
        return max(self.estimate_mb, self.measured_mb, self.peak_mb, self.nvml_mb)

    @property
    def in_use(self) -> bool:
        return bool(self.users)

    @contextlib.contextmanager
    def use(self) -> Iterator[GpuSlot]:
        """Hold the engine loaded for the duration of the block (loading it first if needed)."""
        self.manager.acquire(self)
        try:
            with self.manager.measure_peak(self):
                yield self
        finally:
            self.manager.release(self)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "estimate_mb": self.estimate_mb, "measured_mb": self.measured_mb,
                "peak_mb": self.peak_mb, "nvml_mb": self.nvml_mb, "reserved_mb": self.reserved_mb,
                "loaded": self.state == "loaded", "state": self.state, "in_use": self.in_use, "loads": self.loads,
                "pinned": self.pinned, "background": self.background, "counted": True}


class _SelfManaged:
    """The stand-in model of a pinned slot: its engine frees its own memory, nothing to do here."""

    def __init__(self, owner: object) -> None:
        self.owner = owner

    def gpu_load(self) -> None:
        """Loaded by the engine inside ``resident()``."""

    def gpu_unload(self) -> None:
        """Freed by the engine itself when it closes."""


class GpuMemoryManager:
    """The VRAM ledger of one process; thread-safe. See the module docstring."""

    def __init__(self, budget_mb: int = 12288, device: str = "auto", wait_s: float = 30.0) -> None:
        self.budget_mb = int(budget_mb)
        self.device = resolve_device(device)
        self.wait_s = float(wait_s)
        self._slots: dict[str, GpuSlot] = {}
        self._cond = threading.Condition(threading.RLock())
        self._running = 0  # slots inside use() right now (peak measurement is exact only when 1)
        self.context_mb: int | None = None  # this process's NVML memory once the CUDA context exists
        self._watched: dict[str, Callable[[], dict[str, object]]] = {}
        self._live = 0  # conversations open now: background work may not evict engines meanwhile
        self._waiting = 0  # requests of ordinary engines waiting for room: background work holds back

    @classmethod
    def from_settings(cls, settings: Any) -> GpuMemoryManager:
        return cls(settings.budget_mb, settings.device, settings.wait_s)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    # -- registration -----------------------------------------------------------------------

    def register(self, name: str, model: GpuModel, estimate_mb: int, *, background: bool = False) -> GpuSlot:
        """Declare an engine and its VRAM estimate; nothing is loaded until its first ``use()``.

        ``background``: long work that gives way to other engines (see the module docstring)."""
        if estimate_mb <= 0:
            raise ValueError(f"estimate_mb must be positive, got {estimate_mb}")
        with self._cond:
            old = self._slots.get(name)
            if old is not None and old.model is not model:
                raise ValueError(f"a different engine is already registered as {name!r}")
            if old is not None:
                old.estimate_mb = int(estimate_mb)
                return old
            slot = GpuSlot(self, name, model, int(estimate_mb), background=background)
            self._slots[name] = slot
            return slot

    def unregister(self, name: str) -> None:
        """Unload (if loaded) and forget an engine; waits for current users to finish."""
        with self._cond:
            slot = self._slots.get(name)
            if slot is None:
                return
            while slot.in_use or slot.state in ("loading", "unloading"):
                self._cond.wait()
            loaded = slot.state == "loaded" and not slot.pinned  # a pinned engine has freed its own memory
            if loaded:
                slot.state = "unloading"
        if loaded:
            self._unload(slot)
        with self._cond:
            self._slots.pop(name, None)
            self._cond.notify_all()

    # -- acquire / release ------------------------------------------------------------------

    def acquire(self, slot: GpuSlot, timeout: float | None = None) -> None:
        """Pin ``slot`` for this thread, loading it (and evicting idle engines) first if needed.

        Waits up to ``timeout`` (default ``wait_s``) for engines in use, then refuses."""
        me = threading.get_ident()
        deadline = time.monotonic() + (self.wait_s if timeout is None else timeout)
        with self._cond:
            while True:
                held_back = slot.background and self._waiting and me not in slot.users
                if slot.state == "loaded" and not held_back:
                    slot.users[me] = slot.users.get(me, 0) + 1
                    slot.last_used = time.monotonic()
                    if slot.background:
                        slot.yield_asked.clear()  # under the lock: a later request asks again
                    return
                if slot.state in ("loading", "unloading") or held_back:
                    self._wait(slot, deadline, [])
                    continue
                victims, blockers = self._plan_room(slot, me)
                if blockers is None:
                    break
                self._wait(slot, deadline, blockers)
            for victim in victims:
                victim.state = "unloading"
            slot.state = "loading"
            slot.users[me] = 1
            slot.yield_asked.clear()
        try:
            for victim in victims:
                self._unload(victim)
            self._load(slot)
        except BaseException:
            with self._cond:
                slot.state = "unloaded"
                slot.users.pop(me, None)
                self._cond.notify_all()
            raise
        with self._cond:
            slot.state = "loaded"
            slot.last_used = time.monotonic()
            self._cond.notify_all()

    def release(self, slot: GpuSlot) -> None:
        me = threading.get_ident()
        with self._cond:
            depth = slot.users.get(me, 0) - 1
            if depth > 0:
                slot.users[me] = depth
            else:
                slot.users.pop(me, None)
            slot.last_used = time.monotonic()
            self._cond.notify_all()

    def _plan_room(self, slot: GpuSlot, me: int) -> tuple[list[GpuSlot], list[GpuSlot] | None]:
        """Idle engines to unload (oldest use first) so ``slot`` fits; ``None`` blockers: it fits.

        Raises at once when waiting cannot help; returns the engines other threads hold otherwise.
        """
        need = slot.reserved_mb
        if need > self.budget_mb:
            raise self._refusal(slot, need, [], "больше всего бюджета")
        others = [s for s in self._slots.values() if s is not slot and s.state != "unloaded"]
        mine = [s for s in others if me in s.users]
        if need + sum(s.reserved_mb for s in mine) > self.budget_mb:
            raise self._refusal(slot, need, mine, "вместе с моделями, которые уже работают в этом потоке")
        free = self.budget_mb - sum(s.reserved_mb for s in others)
        if slot.background and self._live:  # a conversation is open: only free room, nothing evicted
            return ([], None) if free >= need else ([], [s for s in others if s.background] or others)
        # idle background work goes first, then the engine unused for longest
        idle = sorted((s for s in others if s.state == "loaded" and not s.users and not s.pinned),
                      key=lambda s: (not s.background, s.last_used))
        victims = []
        for candidate in idle:
            if free >= need:
                break
            victims.append(candidate)
            free += candidate.reserved_mb
        if free >= need:
            return victims, None
        busy = [s for s in others if s.users or s.state in ("loading", "unloading")]
        if not slot.background:
            for holder in busy:
                if holder.background and holder.users and not holder.yield_asked.is_set():
                    log.info("GPU engine %s needs room: asking %s to give its memory back", slot.name, holder.name)
                    holder.yield_asked.set()
        if not busy:  # only pinned engines stand in the way: they never give memory back on request
            if slot.background:  # they may be closed later: background work waits
                return [], [s for s in others if s.pinned]
            raise self._refusal(slot, need, [s for s in others if s.pinned], "остальное занято постоянно")
        return [], busy

    def _wait(self, slot: GpuSlot, deadline: float, blockers: list[GpuSlot]) -> None:
        left = deadline - time.monotonic()
        if left > 0:
            counted = not slot.background and bool(blockers)  # it waits for room: background work holds back
            self._waiting += counted
            try:
                woken = self._cond.wait(timeout=left)
            finally:
                self._waiting -= counted
        if left <= 0 or not woken:
            if blockers or slot.state not in ("loading", "unloading"):
                why = f"заняты другими запросами дольше {self.wait_s:g} с"
                raise self._refusal(slot, slot.reserved_mb, blockers, why)
            raise GpuBudgetExceeded(f"Модель «{slot.name}» слишком долго загружается в видеопамять.",
                                    f"timed out waiting for {slot.name} to load/unload")

    def _refusal(self, slot: GpuSlot, need: int, holders: list[GpuSlot], why: str) -> GpuBudgetExceeded:
        held = ", ".join(f"«{s.name}» ~{s.reserved_mb} МБ" for s in holders) or "нет"
        return GpuBudgetExceeded(
            f"Не хватает видеопамяти: модели «{slot.name}» нужно ~{need} МБ, бюджет {self.budget_mb} МБ "
            f"({why}; заняты: {held}). Выберите более лёгкие движки или увеличьте gpu.budget_mb.",
            f"GPU budget exceeded: {slot.name} needs ~{need} MB of {self.budget_mb} MB "
            f"({', '.join(s.name for s in holders) or 'nothing'} held)")

    # -- conversations ----------------------------------------------------------------------

    def live_open(self) -> None:
        """A conversation began: until its ``live_close`` background work evicts no engine."""
        with self._cond:
            self._live += 1

    def live_close(self) -> None:
        with self._cond:
            self._live = max(0, self._live - 1)
            self._cond.notify_all()  # background work waiting for room may evict idle engines again

    # -- load / unload / measurement --------------------------------------------------------

    def _load(self, slot: GpuSlot) -> None:
        self._ensure_context()
        before, before_nvml = self._allocated(), self._process_mb()
        t0 = time.perf_counter()
        slot.model.gpu_load()
        slot.loads += 1
        if self.cuda:
            slot.measured_mb = max(0, (self._allocated() - before) // MB)
            self._count_nvml(slot, before_nvml)
            if max(slot.measured_mb, slot.nvml_mb) > slot.estimate_mb:
                log.warning("GPU engine %s declared %d MB but loading took %d MB (torch) / %d MB (NVML)",
                            slot.name, slot.estimate_mb, slot.measured_mb, slot.nvml_mb)
        log.info("GPU engine %s loaded on %s in %.2f s (%d MB counted)", slot.name, self.device,
                 time.perf_counter() - t0, slot.reserved_mb)

    def _unload(self, slot: GpuSlot) -> None:
        try:
            slot.model.gpu_unload()
            if self.cuda:
                import torch

                torch.cuda.empty_cache()
            log.info("GPU engine %s unloaded (least recently used)", slot.name)
        finally:
            with self._cond:
                slot.state = "unloaded"
                self._cond.notify_all()

    def _allocated(self) -> int:
        if not self.cuda:
            return 0
        import torch

        return int(torch.cuda.memory_allocated(self.device))

    @property
    def index(self) -> int:
        """The GPU's index (for NVML); 0 on a CPU manager."""
        return int(self.device.partition(":")[2] or 0) if self.cuda else 0

    def _process_mb(self) -> int | None:
        """This process's memory on the GPU as NVML counts it (None on CPU or when NVML cannot tell)."""
        return process_used_mb(self.index) if self.cuda else None

    def _count_nvml(self, slot: GpuSlot, before: int | None) -> None:
        after = self._process_mb()
        if before is not None and after is not None:
            slot.nvml_mb = max(0, after - before)

    def _ensure_context(self) -> None:
        """Create the CUDA context once, before the first measured load, and note what it costs."""
        if not self.cuda or self.context_mb is not None:
            return
        import torch

        torch.zeros(1, device=self.device)
        self.context_mb = self._process_mb() or 0

    @contextlib.contextmanager
    def measure_peak(self, slot: GpuSlot) -> Iterator[None]:
        """Record the VRAM peak of a ``use()`` block (CUDA only; exact when no other engine runs)."""
        with self._cond:
            self._running += 1
            alone = self._running == 1
        if alone and self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            base = self._allocated() - slot.measured_mb * MB
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                still_alone = self._running == 0
            if alone and still_alone and self.cuda:
                import torch

                peak = (int(torch.cuda.max_memory_allocated(self.device)) - base) // MB
                slot.peak_mb = max(slot.peak_mb, peak)

    # -- engines that manage their own device memory -------------------------------------------

    @contextlib.contextmanager
    def resident(self, name: str, owner: object, estimate_mb: int) -> Iterator[GpuSlot]:
        """Load an engine that frees its device memory itself (CTranslate2, llama.cpp) inside the block.

        Room for ``estimate_mb`` is made first (idle engines unloaded, or a refusal as for ``use()``);
        the block loads the engine; what it took according to NVML is then counted, pinned, until
        ``unregister(slot.name)``. The block may set ``slot.estimate_mb`` to a better figure. If the
        block raises, nothing stays counted. A name another engine holds gets a suffix.
        """
        if estimate_mb <= 0:
            raise ValueError(f"estimate_mb must be positive, got {estimate_mb}")
        slot = GpuSlot(self, name, _SelfManaged(owner), int(estimate_mb), pinned=True)
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            if name in self._slots:
                slot.name = f"{name}#{id(owner):x}"
                if slot.name in self._slots:
                    raise ValueError(f"{owner!r} is already resident as {slot.name!r}")
            while True:
                victims, blockers = self._plan_room(slot, threading.get_ident())
                if blockers is None:
                    break
                self._wait(slot, deadline, blockers)
            for victim in victims:
                victim.state = "unloading"
            slot.state = "loading"
            self._slots[slot.name] = slot
        try:
            for victim in victims:
                self._unload(victim)
            self._ensure_context()
            before = self._process_mb()
            yield slot
            self._count_nvml(slot, before)
        except BaseException:
            with self._cond:
                self._slots.pop(slot.name, None)
                self._cond.notify_all()
            raise
        with self._cond:
            slot.state, slot.loads, slot.last_used = "loaded", 1, time.monotonic()
            self._cond.notify_all()
        log.info("GPU engine %s resident on %s (%d MB counted, %d MB by NVML)", slot.name, self.device,
                 slot.reserved_mb, slot.nvml_mb)

    def watch(self, name: str, probe: Callable[[], dict[str, object]]) -> None:
        """Show memory another process holds for us (an Ollama server): ``probe()`` runs at every
        ``describe()`` and returns at least ``vram_mb``; it is listed, not counted against the budget."""
        with self._cond:
            self._watched[name] = probe

    def unwatch(self, name: str) -> None:
        with self._cond:
            self._watched.pop(name, None)

    def _external(self) -> list[dict[str, object]]:
        with self._cond:
            probes = list(self._watched.items())
        rows = []
        for name, probe in probes:
            try:
                row = dict(probe())
            except Exception as exc:  # a report must not fail because a server is down
                row = {"vram_mb": None, "error": str(exc)}
            rows.append({"name": name, "external": True, "counted": False, "pinned": False, **row})
        return rows

    # -- reporting --------------------------------------------------------------------------

    @property
    def used_mb(self) -> int:
        """Sum counted for engines that are loaded (or being loaded/unloaded) right now."""
        with self._cond:
            return sum(s.reserved_mb for s in self._slots.values() if s.state != "unloaded")

    def loaded(self) -> list[str]:
        """Names of loaded engines, least recently used first."""
        with self._cond:
            slots = sorted((s for s in self._slots.values() if s.state == "loaded"), key=lambda s: s.last_used)
            return [s.name for s in slots]

    def describe(self) -> dict[str, object]:
        """The budget, what is counted against it, and one row per engine (watched ones last, uncounted)."""
        with self._cond:
            engines = [s.describe() for s in self._slots.values()]
            out: dict[str, object] = {"device": self.device, "budget_mb": self.budget_mb, "used_mb": self.used_mb,
                                      "context_mb": self.context_mb, "conversations": self._live}
        return out | {"engines": engines + self._external()}


_default: GpuMemoryManager | None = None
_default_lock = threading.Lock()


def gpu_manager() -> GpuMemoryManager:
    """The process-wide manager (default settings until :func:`configure_gpu` is called)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = GpuMemoryManager()
        return _default


def configure_gpu(settings: Any) -> GpuMemoryManager:
    """Apply a GpuSettings to the process-wide manager (in place: engines keep their slots)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = GpuMemoryManager.from_settings(settings)
            return _default
        manager = _default
    with manager._cond:
        manager.budget_mb, manager.wait_s = int(settings.budget_mb), float(settings.wait_s)
        device = resolve_device(settings.device)
        if device != manager.device:
            if any(s.state != "unloaded" for s in manager._slots.values()):
                raise InputError("Нельзя сменить видеокарту, пока на ней загружены модели.",
                                 f"cannot move loaded engines from {manager.device} to {device}",
                                 code="bad_settings")
            manager.device = device
    return manager

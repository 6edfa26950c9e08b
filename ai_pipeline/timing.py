"""Per-stage wall-time accounting for a turn or a render (reported in API responses and benches)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimer:
    """Accumulates seconds per stage and remembers when each milestone was first reached."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.stages: dict[str, float] = defaultdict(float)
        self.milestones: dict[str, float] = {}

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] += time.perf_counter() - t0

    def mark(self, milestone: str) -> None:
        """Record the first time ``milestone`` happens, in seconds since the timer started."""
        self.milestones.setdefault(milestone, time.perf_counter() - self.start)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def as_dict(self) -> dict[str, float]:
        out = {f"{k}_s": round(v, 4) for k, v in self.stages.items()}
        out.update({f"{k}_s": round(v, 4) for k, v in self.milestones.items()})
        out["total_s"] = round(self.elapsed(), 4)
        return out

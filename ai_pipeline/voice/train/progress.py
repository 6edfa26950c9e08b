"""What a training run reports while it works, and how it is told to stop.

A run calls ``progress(TrainProgress)`` at every dataset utterance and every optimiser step. It is
stopped through a :class:`StopSignal`: the trainer saves a checkpoint at the next step and the run
raises :class:`TrainingStopped` (``cancel``: the user asked; ``shutdown``: the server is stopping
and the job resumes from that checkpoint when it starts again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ai_pipeline.errors import AvatarError

Stage = Literal["waiting", "dataset", "training", "export", "validation"]

# share of the whole job each stage takes on the progress bar (training is most of the time)
STAGE_SPAN: dict[str, tuple[float, float]] = {
    "waiting": (0.0, 0.0), "dataset": (0.0, 0.1), "training": (0.1, 0.85), "export": (0.85, 0.87),
    "validation": (0.87, 1.0),
}


@dataclass(frozen=True)
class TrainProgress:
    """One progress report: ``fraction`` (0..1 of the stage), a Russian ``message`` and, while
    training, the epoch (1-based), the optimiser step, the running loss and the estimated seconds left
    (and ``paused`` while another engine has the run's GPU memory)."""

    stage: Stage
    fraction: float
    message: str
    epoch: int | None = None
    epochs: int | None = None
    step: int | None = None
    steps: int | None = None
    loss: float | None = None
    eta_s: float | None = None
    paused: bool | None = None  # true while the run has given its GPU memory to a conversation

    @property
    def overall(self) -> float:
        """The whole job's fraction done (for one progress bar)."""
        start, end = STAGE_SPAN[self.stage]
        return round(start + (end - start) * min(1.0, max(0.0, self.fraction)), 4)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


Progress = Callable[[TrainProgress], None]


class TrainingStopped(AvatarError):
    """The run was stopped on request after saving a checkpoint; ``reason`` is cancel or shutdown."""

    def __init__(self, reason: str) -> None:
        message = ("Обучение голоса отменено." if reason == "cancel"
                   else "Обучение голоса приостановлено: сервер остановлен, оно продолжится после запуска.")
        super().__init__(message, f"training stopped ({reason})", code="cancelled" if reason == "cancel" else "interrupted")
        self.reason = reason


class StopSignal:
    """A thread-safe request to stop a run (the first reason given wins)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str = "cancel") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def check(self) -> None:
        """Raise :class:`TrainingStopped` if a stop was asked for."""
        if self._event.is_set():
            raise TrainingStopped(self.reason)

"""Life that does not come from the audio: blinks and slight head motion.

Both are pure functions of the absolute frame index (and a seed), so a clip rendered in pieces, or
an idle loop followed by speech, continues without a jump: frame ``n`` looks the same whichever
piece it was rendered in.
"""

from __future__ import annotations

import math

import numpy as np

BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.08, 0.04, 0.13


class BlinkSchedule:
    """Blink amount in [0, 1] per frame at random, natural intervals (deterministic per seed)."""

    def __init__(self, fps: int, mean_interval_s: float, seed: int = 0) -> None:
        self.fps = fps
        self._rng = np.random.default_rng(seed)
        self._mean = mean_interval_s
        self._starts: list[float] = [0.6 + float(self._rng.uniform(0, mean_interval_s))]

    def _extend(self, until_s: float) -> None:
        while self._starts[-1] < until_s:
            gap = float(np.clip(self._rng.gamma(4.0, self._mean / 4.0), 1.2, 3 * self._mean))
            self._starts.append(self._starts[-1] + gap)

    def amount(self, frame: int) -> float:
        t = frame / self.fps
        self._extend(t + 1.0)
        best = 0.0
        for start in self._starts:
            dt = t - start
            if dt < 0:
                break
            if dt < BLINK_CLOSE_S:
                best = max(best, dt / BLINK_CLOSE_S)
            elif dt < BLINK_CLOSE_S + BLINK_HOLD_S:
                best = 1.0
            elif dt < BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S:
                best = max(best, 1 - (dt - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S)
        return best


def head_pose(frame: int, fps: int, amount: float, seed: int = 0, speech: float = 0.0) -> tuple[float, float, float]:
    """(roll in degrees, dx, dy in pixels at 512 px) of a slow, irregular sway plus speech nods."""
    t = frame / fps
    phase = (seed % 97) * 0.37
    roll = 1.1 * math.sin(2 * math.pi * 0.071 * t + phase) + 0.5 * math.sin(2 * math.pi * 0.173 * t + 1.3 * phase)
    dx = 2.2 * math.sin(2 * math.pi * 0.053 * t + 0.7 + phase) + 0.8 * math.sin(2 * math.pi * 0.29 * t)
    dy = 1.2 * math.sin(2 * math.pi * 0.089 * t + 2.1 + phase) + 1.6 * speech
    return roll * amount, dx * amount, dy * amount

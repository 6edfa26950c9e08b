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


def _slot_random(slot: int, seed: int, salt: int) -> float:
    """A fixed pseudo-random number in [0, 1) per (slot, seed, salt): motion stays a function of the frame."""
    x = math.sin(slot * 12.9898 + seed * 78.233 + salt * 37.719) * 43758.5453
    return x - math.floor(x)


def _bumps(t: float, period_s: float, length_s: float, chance: float, seed: int, salt: int) -> float:
    """0..1 bumps of ``length_s`` (sin²) at a random moment of each ``period_s`` slot, in ``chance`` of them."""
    slot = math.floor(t / period_s)
    if _slot_random(slot, seed, salt) >= chance:
        return 0.0
    start = slot * period_s + _slot_random(slot, seed, salt + 1) * (period_s - length_s)
    x = (t - start) / length_s
    return math.sin(math.pi * x) ** 2 if 0.0 <= x <= 1.0 else 0.0


def listening_motion(frame: int, fps: int, seed: int = 0) -> tuple[float, float]:
    """(nod in pixels at 512 px, positive down; brow raise 0..1) of an attentive listener: a small nod
    every few seconds, now and then a brief brow raise."""
    t = frame / fps
    nod = 3.0 * _bumps(t, 3.2, 0.6, 0.8, seed, 1)
    brow = _bumps(t, 6.5, 0.8, 0.5, seed, 7)
    return nod, brow

"""Expressions: what the face shows besides speech, as weights of named looks that ease into each other.

A look is an emotion label of :data:`ai_pipeline.emotion.base.EMOTIONS` (``neutral`` shows nothing)
or ``listening`` (attentive while the user speaks). :class:`Look` says which looks the face shows
from which frame on, easing from the weights it had there (~300 ms, smoothstep), so it is a pure
function of the frame index like the rest of the rig's motion: a clip rendered in pieces, or idle
video followed by speech, continues without a jump. The streamer (``AvatarStream``) moves the look on
per clip; engines read it from ``Avatar.look`` or, without one, from the clip's emotion.

:data:`RECIPES` turns looks into action units of the mesh-warp rig (``action_units.py``), plus two
mouth terms that are not fields: ``jaw`` (a slight opening kept between sounds) and ``press`` (how
much the lips hold back the speech opening).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ai_pipeline.emotion.base import EMOTIONS

EASE_S = 0.3  # one expression to the next, between clips
RELAX_S = 0.6  # back to neutral once speech is over
LISTENING = "listening"
THINKING = "thinking"
LOOKS = (*EMOTIONS, LISTENING)

# Action units (rig basis names) and mouth terms per look at full strength.
RECIPES: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"smile": 1.0, "squint": 0.6, "brow_raise": 0.15, "wide": 0.15},
    "sad": {"brow_inner_raise": 1.0, "frown": 1.0, "squint": 0.2},
    "surprised": {"brow_raise": 1.0, "eyes_wide": 1.0, "jaw": 0.14},
    "angry": {"brow_lower": 1.0, "lip_press": 1.0, "squint": 0.5, "frown": 0.6, "press": 0.25},
    "scared": {"brow_raise": 0.6, "brow_inner_raise": 0.8, "eyes_wide": 0.9, "frown": 0.4, "wide": 0.35,
               "jaw": 0.08},
    "thinking": {"gaze_x": -0.15, "brow_lower": 0.25, "brow_inner_raise": 0.2, "lip_press": 0.6,
                 "press": 0.1},
    LISTENING: {"eyes_wide": 0.15, "smile": 0.12, "brow_raise": 0.1},
}
MOUTH_TERMS = ("jaw", "press")


def intensity(confidence: float) -> float:
    """How strongly an emotion shows for the classifier's confidence: a faint trace when unsure, full when sure."""
    return 0.35 + 0.65 * min(max(float(confidence), 0.0), 1.0)


def check_label(label: str) -> str:
    """``label`` if it is a known look, else ValueError naming the known ones."""
    if label not in LOOKS:
        raise ValueError(f"unknown expression {label!r}; known: {', '.join(LOOKS)}")
    return label


def _ease(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


Weights = tuple[tuple[str, float], ...]  # hashable, ordered (label, weight) pairs; neutral is ()


def weights_of(mapping: Mapping[str, float]) -> Weights:
    return tuple(sorted((check_label(k), float(v)) for k, v in mapping.items() if v > 1e-4 and k != "neutral"))


@dataclass(frozen=True)
class Look:
    """The face's looks from frame ``since`` on: ``origin`` weights there, easing to ``target`` in ``ease_s``."""

    target: Weights = ()
    origin: Weights = ()
    since: int = 0
    ease_s: float = EASE_S

    @classmethod
    def steady(cls, label: str = "neutral", confidence: float = 1.0) -> Look:
        """One look held from the start (``neutral``: no expression)."""
        w = weights_of({label: intensity(confidence)})
        return cls(w, w)

    @classmethod
    def of(cls, mapping: Mapping[str, float]) -> Look:
        w = weights_of(mapping)
        return cls(w, w)

    def weights(self, frame: int, fps: int) -> dict[str, float]:
        """Weight of each look shown at ``frame``."""
        k = _ease((frame - self.since) / max(self.ease_s * fps, 1e-6))
        out = {name: (1 - k) * w for name, w in self.origin}
        for name, w in self.target:
            out[name] = out.get(name, 0.0) + k * w
        return {name: w for name, w in out.items() if w > 1e-4}

    def toward(self, mapping: Mapping[str, float], frame: int, fps: int, ease_s: float = EASE_S) -> Look:
        """This look changed to ``mapping`` from ``frame`` on (itself if that is already its target)."""
        target = weights_of(mapping)
        if target == self.target:
            return self
        origin = weights_of(self.weights(frame, fps))
        return Look(target, origin, frame, ease_s)

    def units(self, frame: int, fps: int) -> dict[str, float]:
        """Action-unit and mouth-term amounts at ``frame`` (see :data:`RECIPES`)."""
        out: dict[str, float] = {}
        for name, w in self.weights(frame, fps).items():
            for unit, amount in RECIPES[name].items():
                out[unit] = out.get(unit, 0.0) + w * amount
        return out

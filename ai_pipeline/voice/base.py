"""The data model of enrolled voices (the contract between enrolment, preparation, TTS and the API).

On disk, under ``<data_dir>/voices``::

    <voice_id>/voice.json                    {"id", "name", "created", "current_version", "versions": [...]}
    <voice_id>/v<N>/originals/<k>_<name>     the uploaded files, byte for byte
    <voice_id>/v<N>/prepared/utt_0001.wav    mono PCM16 at PREPARED_RATE, loudness-normalised utterances
    <voice_id>/v<N>/report.json              VoiceReport.to_dict() of this version
    <voice_id>/v<N>/profile.json             VoiceProfile of the target speaker (written by preparation)
    <voice_id>/v<N>/<engine files>           e.g. xtts_latents.pt, similarity.json

A version is immutable once written: adding samples or registering a trained model makes a new one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PREPARED_RATE = 24000  # Hz; XTTS conditions at 22.05/24 kHz, the speaker encoder resamples to 16 kHz
MIN_SECONDS = 30.0  # below this the voice is refused for preparation
TARGET_SECONDS = 300.0  # 5 minutes: "good"; 5-10 minutes is what the product asks for


@dataclass(frozen=True)
class FileQuality:
    """The quality report of one uploaded file. ``problems`` are Russian, shown to the user as is."""

    name: str
    duration_s: float
    usable_s: float  # speech kept after trimming silence and rejecting bad stretches
    loudness_lufs: float | None
    peak_dbfs: float | None
    clipping_pct: float  # share of samples at full scale, in percent
    snr_db: float | None  # speech level over the noise floor
    utterances: int
    accepted: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoiceReport:
    """Per-file and total quality; ``level`` is ``not_enough`` | ``enough`` | ``good``."""

    files: tuple[FileQuality, ...]
    usable_s: float
    min_s: float = MIN_SECONDS
    target_s: float = TARGET_SECONDS

    @property
    def enough(self) -> bool:
        return self.usable_s >= self.min_s

    @property
    def level(self) -> str:
        return "good" if self.usable_s >= self.target_s else "enough" if self.enough else "not_enough"

    def to_dict(self) -> dict[str, Any]:
        return {"files": [asdict(f) | {"problems": list(f.problems)} for f in self.files],
                "usable_s": round(self.usable_s, 2), "min_s": self.min_s, "target_s": self.target_s,
                "enough": self.enough, "level": self.level}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VoiceReport:
        files = tuple(FileQuality(**{**f, "problems": tuple(f.get("problems", ()))}) for f in data["files"])
        return cls(files, float(data["usable_s"]), float(data.get("min_s", MIN_SECONDS)),
                   float(data.get("target_s", TARGET_SECONDS)))


@dataclass(frozen=True)
class VoiceProfile:
    """What light matching needs to know about a speaker (estimated from prepared utterances)."""

    f0_median_hz: float
    f0_spread_st: float  # standard deviation of log-pitch, in semitones
    rate_sps: float  # speaking rate, syllable nuclei per second of speech
    formant_hz: float  # a robust formant position estimate (e.g. median F1+F2 centre) for scaling
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VoiceProfile:
        return cls(**data)


@dataclass(frozen=True)
class Voice:
    """One version of an enrolled voice, as engines see it (paths only; nothing loaded)."""

    id: str
    name: str
    version: int
    folder: Path  # <voices>/<id>/v<version>

    @property
    def key(self) -> str:
        """Stable across processes: for caches of synthesised clips and conditioning latents."""
        return f"{self.id}:v{self.version}"

    @property
    def prepared(self) -> list[Path]:
        return sorted((self.folder / "prepared").glob("utt_*.wav"))

    def report(self) -> VoiceReport | None:
        path = self.folder / "report.json"
        return VoiceReport.from_dict(json.loads(path.read_text())) if path.is_file() else None

    def profile(self) -> VoiceProfile | None:
        path = self.folder / "profile.json"
        return VoiceProfile.from_dict(json.loads(path.read_text())) if path.is_file() else None

    def base_voice(self) -> str | None:
        """The standard TTS voice preparation found closest once matched (``similarity.json``), if any."""
        path = self.folder / "similarity.json"
        try:
            value = json.loads(path.read_text()).get("base_voice") if path.is_file() else None
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None

"""Real speech for the voice tests: the recordings of Festival's Russian voice database.

festvox-ru (installed with Festival, the default TTS engine) ships 620 studio recordings of one
male Russian speaker (``nsh``, 16 kHz). A "different speaker" is made from them by playing them
faster or slower (resampling), which scales pitch, formants and tempo together, as a shorter or
longer vocal tract and a different speaking rate would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.media.audio_io import write_wav
from ai_pipeline.voice.base import PREPARED_RATE, Voice
from ai_pipeline.voice.profile import read_wav

NSH_WAVS = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav")


def nsh(first: int, count: int) -> list[AudioChunk]:
    """``count`` real recordings starting at ``ru_<first>`` (about 9 s each)."""
    paths = sorted(NSH_WAVS.glob("ru_*.wav"))
    assert len(paths) > first + count, f"festvox-ru recordings missing under {NSH_WAVS} (apt-get install festvox-ru)"
    return [read_wav(p) for p in paths[first:first + count]]


def speed(chunk: AudioChunk, factor: float) -> AudioChunk:
    """Played ``factor`` times faster: pitch, formants and tempo all scaled by ``factor``."""
    samples = soxr.resample(chunk.samples, chunk.sample_rate, chunk.sample_rate / factor)
    return AudioChunk(samples.astype(np.float32), chunk.sample_rate, chunk.text)


def make_voice(root: Path, name: str, chunks: list[AudioChunk]) -> Voice:
    """A voice version folder with ``chunks`` as prepared utterances (PCM16 at PREPARED_RATE)."""
    folder = root / name / "v1"
    (folder / "prepared").mkdir(parents=True)
    for i, chunk in enumerate(chunks, 1):
        samples = soxr.resample(chunk.samples, chunk.sample_rate, PREPARED_RATE)
        write_wav(folder / "prepared" / f"utt_{i:04d}.wav", samples, PREPARED_RATE)
    return Voice(name, name, 1, folder)

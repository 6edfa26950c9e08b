"""Real recordings for the voice tests: Russian speech from the Festival engine, music and noise made
with numpy, encoded to upload formats with the ffmpeg command line."""

from __future__ import annotations

import functools
import io
import subprocess
import wave
from pathlib import Path

import numpy as np

ASR_CLIPS = Path(__file__).resolve().parent / "data" / "asr"
RATE = 24_000
SENTENCES = (
    "Привет, как у тебя дела?", "Сегодня хорошая погода, пойдём гулять в парк.",
    "Меня зовут Аня, и я учусь в школе.", "Расскажи мне, пожалуйста, сказку про кота.",
    "Вчера мы ходили в театр и смотрели новый спектакль.", "Какого цвета небо над морем утром?",
    "Мой брат любит читать книги о путешествиях и приключениях.", "В субботу мы поедем на дачу к бабушке.",
    "Поезд отправляется ровно в восемь часов вечера.", "Кошка спит на тёплом подоконнике весь день.",
    "Завтра начнётся новая неделя, и у нас будет много работы.", "Я люблю слушать музыку по вечерам.",
)


@functools.lru_cache(maxsize=None)
def festival_speech(sentences: int = 12, seed: int = 0) -> np.ndarray:
    """``sentences`` Festival sentences (cycling through SENTENCES) with 0.3-0.9 s pauses, at 24 kHz."""
    from scipy.signal import resample_poly

    from ai_pipeline.tts.festival import FestivalTTS

    tts = FestivalTTS()
    rng = np.random.default_rng(seed)
    parts = []
    try:
        for i in range(sentences):
            chunk = tts.synthesize_sentence(SENTENCES[(i + seed) % len(SENTENCES)])
            parts.append(resample_poly(chunk.samples, RATE, chunk.sample_rate).astype(np.float32))
            parts.append(np.zeros(int(RATE * rng.uniform(0.3, 0.9)), np.float32))
    finally:
        tts.close()
    return np.concatenate(parts)


def white_noise(seconds: float, level: float = 0.1, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level).astype(np.float32)


def pink_noise(seconds: float, level: float = 0.1, seed: int = 2) -> np.ndarray:
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
    pink = np.fft.irfft(spectrum, n)
    return (pink / np.std(pink) * level).astype(np.float32)


def _note(f0: float, seconds: float, rng: np.random.Generator, decay: bool) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum((0.6 ** (h - 1) if decay else 1 / h) * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3))
               for h in range(1, 12) if f0 * h < RATE / 2.2)
    envelope = np.exp(-3 * t) if decay else np.minimum(1, t / 0.05) * np.minimum(1, (seconds - t) / 0.05)
    return tone * envelope


def chords(seconds: float, note_s: float = 0.5, piano: bool = True, drums: bool = False, seed: int = 3) -> np.ndarray:
    """Triads with a bass note changing every ``note_s``: piano-like (decaying) or organ-like."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * RATE))
    for start in range(0, out.size, int(note_s * RATE)):
        root = int(rng.choice([48, 50, 52, 53, 55, 57]))
        seg = sum(_note(440 * 2 ** ((root + k - 69) / 12), note_s, rng, piano) for k in (-12, 0, 4, 7, 12))
        n = min(seg.size, out.size - start)
        out[start:start + n] += seg[:n]
    if drums:
        hit = int(0.08 * RATE)
        for start in range(0, out.size - hit, int(0.25 * RATE)):
            out[start:start + hit] += rng.standard_normal(hit) * np.exp(-np.arange(hit) / (0.02 * RATE)) * 3
    return (out / np.abs(out).max() * 0.5).astype(np.float32)


def sung_melody(seconds: float, seed: int = 4) -> np.ndarray:
    """A vowel-like harmonic voice with vibrato holding notes of 0.3-0.8 s, legato (like singing)."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    while total < seconds * RATE:
        dur = rng.uniform(0.3, 0.8)
        t = np.arange(int(dur * RATE)) / RATE
        f0 = 440 * 2 ** ((int(rng.integers(57, 72)) - 69) / 12)
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.02 * np.sin(2 * np.pi * 5.5 * t))) / RATE
        formants = lambda f: np.exp(-((f - 700) / 400) ** 2) + 0.5 * np.exp(-((f - 1200) / 500) ** 2)  # noqa: E731
        y = sum(formants(f0 * h) * np.sin(h * phase) for h in range(1, 20) if f0 * h < RATE / 2.2)
        parts.append(y * np.minimum(1, t / 0.03) * np.minimum(1, (dur - t) / 0.03))
        total += t.size
    out = np.concatenate(parts)[: int(seconds * RATE)]
    return (out / np.abs(out).max() * 0.5).astype(np.float32)


def mix(speech: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
    """``background`` under ``speech`` at ``snr_db`` (speech power measured where it sounds)."""
    n = min(speech.size, background.size)
    s, b = speech[:n], background[:n]
    gain = np.sqrt(np.mean(s[np.abs(s) > 0.01] ** 2) / np.mean(b**2) / 10 ** (snr_db / 10))
    return (s + b * gain).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


ENCODERS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "opus": ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
    "flac": ["-c:a", "flac"],
    "wav": [],
}


def encode(samples: np.ndarray, fmt: str, folder: Path, stereo_rate: int | None = None) -> Path:
    """Encode with the ffmpeg command line (not our PyAV code); ``stereo_rate`` makes a stereo
    file at that rate, as phones and browsers record."""
    src = folder / f"src_{abs(hash(samples.tobytes())) % 10**8}.wav"
    src.write_bytes(wav_bytes(samples))
    out = folder / f"speech_{fmt}_{stereo_rate or RATE}.{fmt}"
    extra = ["-af", "pan=stereo|c0=c0|c1=c0", "-ar", str(stereo_rate)] if stereo_rate else []  # no -3 dB upmix
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), *extra, *ENCODERS[fmt], str(out)],
                   check=True)
    return out

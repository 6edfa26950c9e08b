"""Regenerate the small Russian ASR test set in tests/data/asr/ with the light TTS voices.

Each phrase is spoken by festival (msu_ru_nsh) and espeak-ng (ru), saved as 16 kHz mono Ogg/Opus
(small, and it exercises the browser codec), and listed with its reference text in
``references.json``. Run: ``.venv/bin/python scripts/make_asr_testset.py``.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from ai_pipeline.media.audio_io import write_wav
from ai_pipeline.tts.espeak import EspeakSettings, EspeakTTS
from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS

PHRASES = [
    "Привет, как у тебя дела?",
    "Сегодня хорошая погода, пойдём гулять в парк.",
    "Меня зовут Аня, и я учусь в школе.",
    "Расскажи мне, пожалуйста, сказку про кота.",
    "Какой твой любимый цвет?",
    "Я люблю читать книги и рисовать.",
    "Завтра мы поедем к бабушке в деревню.",
    "Сколько тебе лет?",
]
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "asr"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    engines = [FestivalTTS(FestivalSettings()), EspeakTTS(EspeakSettings(rate_wpm=150))]
    refs = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            engine.load()
            for i, text in enumerate(PHRASES):
                chunk = engine.synthesize_sentence(engine.prepare_text(text)[0])
                wav = Path(tmp) / "x.wav"
                write_wav(wav, chunk.samples, chunk.sample_rate)
                name = f"{engine.name}_{i:02d}.ogg"
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ar", "16000", "-ac", "1",
                                "-c:a", "libopus", "-b:a", "32k", str(OUT / name)], check=True)
                refs.append({"file": name, "voice": engine.name, "text": text})
                print(f"[testset] {name}: {text}", flush=True)
            engine.close()
    (OUT / "references.json").write_text(json.dumps(refs, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()

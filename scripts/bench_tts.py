"""``python scripts/bench.py tts``: every light TTS engine and voice, warm, on held-out sentences.

Per engine/voice (RHVoice with its default accents, ё and homograph stress from silero-stress, plus
Irina without them and with every word stressed): load time; per sentence the time to the first audio (RHVoice hands out audio while
it synthesises: its first callback; the others give the whole sentence at once), the time until
the sentence is ready for the talking head (synthesis plus, for RHVoice, the phoneme alignment),
real-time factor; and intelligibility: WER/CER of Whisper base (faster-whisper, int8, beam 5, the
packaged model) on the audio against the text. The sentences (tests/data/tts/heldout.txt) appear
nowhere else in the project. Target for the default voice: WER <= 0.12, first audio <= 0.15 s.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from ai_pipeline import models
from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings
from ai_pipeline.asr.metrics import cer, wer
from ai_pipeline.settings import Settings
from ai_pipeline.text.normalize import normalize_for_speech
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.tts.espeak import EspeakSettings, EspeakTTS
from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS
from ai_pipeline.tts.rhvoice import RhvoiceSettings, RhvoiceTTS

HELD_OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "tts" / "heldout.txt"


def configurations() -> dict[str, TTSEngine]:
    out: dict[str, TTSEngine] = {}
    for voice in ("anna", "irina", "elena", "aleksandr", "aleksandr-hq"):
        out[f"rhvoice/{voice}"] = RhvoiceTTS(RhvoiceSettings(voice=voice))
    out["rhvoice/irina, accents off"] = RhvoiceTTS(RhvoiceSettings(voice="irina", accents="off"))
    out["rhvoice/irina, every word stressed"] = RhvoiceTTS(RhvoiceSettings(voice="irina", accents="marks"))
    out["festival"] = FestivalTTS(FestivalSettings())
    out["espeak"] = EspeakTTS(EspeakSettings())
    return out


def _asr() -> FasterWhisperASR:
    folder = Settings().models_dir
    models.assemble_folder("whisper/base", folder)
    asr = FasterWhisperASR(FasterWhisperSettings(), folder)
    asr.load()
    return asr


def bench_tts(runs: int, progress: Any = print) -> dict[str, object]:
    sentences = [line.strip() for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    asr = _asr()
    out: dict[str, Any] = {"bench": "tts", "runs": runs, "sentences": len(sentences), "asr": asr.describe(),
                           "engines": {}}
    try:
        for name, engine in configurations().items():
            t0 = time.perf_counter()
            engine.load()
            load_s = time.perf_counter() - t0
            engine.synthesize_sentence("Сегодня хорошая погода, пойдём гулять.")  # warm
            firsts, readies, rtfs, wers, cers = [], [], [], [], []
            for text in sentences:
                spoken = normalize_for_speech(text)
                for _ in range(runs):
                    t0 = time.perf_counter()
                    chunk = engine.synthesize_sentence(spoken)
                    ready = time.perf_counter() - t0
                    timing = getattr(engine, "last_timing", {})
                    firsts.append(timing.get("accents_s", 0.0) + timing["first_audio_s"] if timing else ready)
                    readies.append(ready)
                    rtfs.append(ready / chunk.duration)
                audio = soxr.resample(chunk.samples, chunk.sample_rate, 16_000).astype(np.float32)
                heard = asyncio.run(asr.atranscribe(audio)).text
                wers.append(wer(text, heard))
                cers.append(cer(text, heard))
            engine.close()
            row = {"load_s": round(load_s, 3), "sample_rate": chunk.sample_rate,
                   "wer": round(float(np.mean(wers)), 3), "cer": round(float(np.mean(cers)), 3),
                   "first_audio_s": {"p50": round(float(np.median(firsts)), 3),
                                     "max": round(float(np.max(firsts)), 3)},
                   "sentence_ready_s": {"p50": round(float(np.median(readies)), 3),
                                        "max": round(float(np.max(readies)), 3)},
                   "rtf": round(float(np.median(rtfs)), 3)}
            out["engines"][name] = row
            progress(f"tts {name}: {row}")
    finally:
        asr.close()
    out["target"] = "default voice (rhvoice/anna): WER <= 0.12, first audio of a sentence <= 0.15 s"
    return out

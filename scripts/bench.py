"""Benchmarks that print JSON. ``python scripts/bench.py render [--runs N]`` | ``asr`` | ``llm``.

render: the default avatar speaks ~10 s of Russian text through the configured light engines;
reports per-stage wall time (stages overlap, so they can sum to more than the total), frames per
second, real-time factor (render time / clip duration, lower is better), speed (x real time), time
to the first rendered frames, and peak resident memory. Also an audio-driven run (no TTS), which is
the talking head + encoder alone.

asr: WER/CER and real-time factor on the committed Russian test set (tests/data/asr), a ~5 s clip,
the streaming recogniser's end-of-speech -> final-text latency, and silero VAD's cost per window.

tts (scripts/bench_tts.py): each light TTS engine and RHVoice voice, warm, on held-out sentences: time
to the first audio and to a ready sentence, real-time factor, WER/CER through Whisper base.

persona (scripts/bench_persona.py): the first answer of a just-made persona: cold, prepared when
created (its prompt state stored), and after a server restart (the state loaded from disk).

llm: the default persona answers a few questions with its prefix cache warm: time to the first
speakable clause (what TTS can start on), tokens/s, prompt vs evaluated tokens.

enhance: Real-ESRGAN (ncnn, the published weights) per model: ms per 128 -> 512 face upscale and per
512 frame enhanced end to end (face region only).

voice: light voice matching («подстройка голоса») of rhvoice, festival and espeak towards three enrolled targets
made from real studio recordings of a Russian speaker (festvox-ru's nsh database): as recorded, and
played 1.19x faster / 0.87x slower (pitch, formants and tempo scaled together: a "different
speaker"). Per engine and target: matching RTF, speaker similarity (resemblyzer cosine to the
enrolled samples) of unmatched vs matched speech, the same speaker's held-out recordings as the
ceiling, and WER/CER of unmatched vs matched speech through the configured ASR.

turn (scripts/bench_turn.py, ``--runs N`` default 10, ``--speech human|tts``, ``--set key.path=value``,
``--warmup-timeout``): one conversation with the real server (uvicorn + Socket.IO, Redis if configured):
questions recorded by a real speaker (festvox-ru's nsh database; ``tts``: RHVoice voices) streamed in
real time as PCM16, each asked after the previous answer has played; end of user speech -> first speech
segment, when it plays, -> turn end, server stage times, p50/p95, ASR WER, questions cut early.

brain (scripts/bench_brain.py, ``--turns N``, ``--model FILE.gguf`` repeatable, ``--max-tokens``, ``--no-idle``,
``--out``): conversation quality of the real Brain with the default persona: ~50 scripted turns a child would
say over two sessions, each reply checked (Russian, no markup, «ты», in persona, length, answers the
question, memory, gentle refusal); pass rate per check and overall per model, first token / first clause p50.

fold (scripts/bench_fold.py, ``--turns N`` default 20, ``--gap S``, ``--think S``, ``--openers``, ``--memory``,
``--out``): the real Brain through one conversation paced like a live one (or with ``--gap`` seconds between
turns): the model's first token turn by turn, and which turns come right after a fold into the summary.

lipsync (scripts/bench_lipsync.py, ``--video`` repeatable, ``--weights``, ``--control N``, ``--out``): LSE-D / LSE-C
of rendered clips by SyncNet as in Wav2Lip's evaluation, when syncnet_v2.model is in <models_dir>/syncnet/.

gpu (scripts/bench_gpu.py, run by scripts/gpu_check.sh; ``--only``, ``--seconds``, ``--device``, ``--out``): every
heavy engine on CUDA at full size (random weights where the real ones are not shipped): fps / latency, peak VRAM
by torch and by NVML, the ledger's rows; then the live set together under gpu.budget_mb. Without CUDA: skipped.

capacity / soak (scripts/soak.py): how many conversations stay real time at once; 4 clients that
connect, talk, barge in and leave for ``--minutes`` (default 10), with memory, threads, tasks, CPU
after the last client left and the time to stop on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

from ai_pipeline.assets import default_photo_path
from ai_pipeline.chunks import AudioChunk
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings

TEXT = ("Здравствуйте! Меня зовут Аня, мне двенадцать лет. Я люблю рисовать, читать книги про космос "
        "и гулять с собакой. А чем любите заниматься вы?")


def _progress(stage: str) -> None:
    print(f"[bench] {stage}", file=sys.stderr, flush=True)


def bench_render(runs: int) -> dict[str, object]:
    settings = Settings()
    pipeline = Pipeline(settings)
    t0 = time.perf_counter()
    pipeline.load(stages=("tts", "talking_head"))
    load_s = time.perf_counter() - t0
    photo = default_photo_path(settings.avatars_dir).read_bytes()
    t0 = time.perf_counter()
    avatar = pipeline.avatar(photo)
    prepare_s = time.perf_counter() - t0
    results = []
    for i in range(runs):
        _progress(f"text run {i + 1}/{runs}")
        t0 = time.perf_counter()
        res = asyncio.run(pipeline.render(avatar, text=TEXT))
        wall = time.perf_counter() - t0
        results.append({"wall_s": round(wall, 3), "clip_s": round(res.duration, 3), "frames": res.frames,
                        "fps": round(res.frames / wall, 1), "rtf": round(wall / res.duration, 3),
                        "speed_x_realtime": round(res.duration / wall, 2), "stages": res.timings,
                        "mp4_kb": round(len(res.mp4) / 1024, 1)})
    _progress("audio-driven run")
    speech = asyncio.run(_collect(pipeline))
    audio = AudioChunk(np.concatenate([c.samples for c in speech]), speech[0].sample_rate)
    t0 = time.perf_counter()
    res = asyncio.run(pipeline.render(avatar, audio=audio))
    wall = time.perf_counter() - t0
    audio_run = {"wall_s": round(wall, 3), "clip_s": round(res.duration, 3), "fps": round(res.frames / wall, 1),
                 "rtf": round(wall / res.duration, 3), "stages": res.timings}
    pipeline.close()
    best = min(results, key=lambda r: r["wall_s"])
    return {
        "bench": "render",
        "engines": pipeline.status(),
        "cpu_count": psutil.cpu_count(),
        "load_s": round(load_s, 3),
        "prepare_avatar_s": round(prepare_s, 3),
        "text_runs": results,
        "best": best,
        "audio_driven": audio_run,
        "target": "10 s of speech in <= 5 s (rtf <= 0.5)",
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


async def _collect(pipeline: Pipeline) -> list:
    return [c async for c in pipeline.tts.stream(TEXT)]


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_asr() -> dict[str, object]:
    """WER/CER and real-time factor per clip of tests/data/asr, plus a ~5 s clip and streaming latency."""
    from ai_pipeline.asr.metrics import cer, wer

    settings = Settings()
    pipeline = Pipeline(settings)
    t0 = time.perf_counter()
    pipeline.load(stages=("asr",))
    load_s = time.perf_counter() - t0
    folder = Path(__file__).resolve().parent.parent / "tests" / "data" / "asr"
    refs = json.loads((folder / "references.json").read_text())
    clips, audio = [], {}
    asyncio.run(pipeline.asr.atranscribe(pipeline.decode_utterance((folder / refs[0]["file"]).read_bytes())))  # warm-up
    for ref in refs:
        samples = pipeline.decode_utterance((folder / ref["file"]).read_bytes())
        audio[ref["file"]] = samples
        t0 = time.perf_counter()
        result = asyncio.run(pipeline.asr.atranscribe(samples))
        wall = time.perf_counter() - t0
        dur = len(samples) / 16000
        clips.append({"file": ref["file"], "voice": ref["voice"], "audio_s": round(dur, 2), "wall_s": round(wall, 3),
                      "rtf": round(wall / dur, 3), "wer": round(wer(ref["text"], result.text), 3),
                      "cer": round(cer(ref["text"], result.text), 3), "text": result.text})
        _progress(f"asr {ref['file']}: {result.text}")
    per_voice = {}
    for voice in sorted({c["voice"] for c in clips}):
        sel = [c for c in clips if c["voice"] == voice]
        per_voice[voice] = {"wer": round(sum(c["wer"] for c in sel) / len(sel), 3),
                            "cer": round(sum(c["cer"] for c in sel) / len(sel), 3),
                            "rtf": round(sum(c["rtf"] for c in sel) / len(sel), 3)}
    five = np.concatenate([audio[r["file"]] for r in refs if r["voice"] == "festival"][:2])
    t0 = time.perf_counter()
    asyncio.run(pipeline.asr.atranscribe(five))
    five_wall = time.perf_counter() - t0
    out = {"bench": "asr", "engine": pipeline.asr.describe(), "load_s": round(load_s, 3), "per_voice": per_voice,
           "clip_5s": {"audio_s": round(len(five) / 16000, 2), "wall_s": round(five_wall, 3),
                       "rtf": round(five_wall / (len(five) / 16000), 3)},
           "streaming": _bench_streaming(pipeline, audio[refs[1]["file"]]), "vad": _bench_vad(),
           "targets": "rtf <= 0.3 on 5 s clips; wer <= 0.25 on clear speech",
           "clips": clips, "peak_rss_mb": round(_peak_rss_mb(), 1)}
    pipeline.close()
    return out


def _bench_streaming(pipeline: Pipeline, speech: np.ndarray) -> dict[str, object]:
    """Feed silence + speech + silence in real time (160 ms chunks); time end of speech -> final text."""
    from ai_pipeline.asr.streaming import FinalTranscript, PartialTranscript, StreamingRecognizer

    settings = pipeline.settings
    pad = np.zeros(16000, np.float32)
    audio = np.concatenate([pad, speech, pad, pad])

    async def run() -> dict[str, object]:
        rec = StreamingRecognizer(pipeline.asr, settings.vad, settings.limits.max_utterance_seconds)
        step, partials, final = 2560, 0, None
        for i in range(0, len(audio), step):
            t0 = time.perf_counter()
            for event in await rec.feed(audio[i:i + step]):
                partials += isinstance(event, PartialTranscript)
                final = event if isinstance(event, FinalTranscript) else final
            await asyncio.sleep(max(0.0, step / 16000 - (time.perf_counter() - t0)))
        for event in await rec.flush():
            final = event if isinstance(event, FinalTranscript) else final
        assert final is not None, "no final transcript"
        return {"hangover_ms": settings.vad.hangover_ms, "partials": partials,
                "end_of_speech_to_final_s": round(final.latency_s, 3), "text": final.transcript.text}

    return asyncio.run(run())


def _bench_vad() -> dict[str, object]:
    """silero VAD cost per 32 ms window, one window at a time (live) and batched (whole files)."""
    from ai_pipeline.asr.vad import WINDOW, SileroVAD

    vad = SileroVAD()
    audio = np.random.default_rng(0).normal(0, 0.1, 16000 * 10).astype(np.float32)
    windows = audio[: 100 * WINDOW].reshape(-1, WINDOW)
    vad.reset()
    t0 = time.perf_counter()
    for window in windows:
        vad.probability(window)
    one_ms = (time.perf_counter() - t0) / len(windows) * 1000
    t0 = time.perf_counter()
    count = vad.probabilities(audio).size
    batched_ms = (time.perf_counter() - t0) / count * 1000
    return {"window_ms": WINDOW / 16, "per_window_ms_streaming": round(one_ms, 3),
            "per_window_ms_batched": round(batched_ms, 3), "target": "streaming < 3.2 ms (a tenth of real time)"}


QUESTIONS = ["Привет! Как тебя зовут?", "А что ты любишь делать после школы?",
             "Расскажи, пожалуйста, про своего любимого кота.", "Какая завтра будет погода, как думаешь?"]


def bench_llm() -> dict[str, object]:
    """Time to the first speakable clause, tokens/s and prompt tokens per turn (warm persona cache)."""
    import tempfile

    from backend.conversation import Brain, collect_reply
    from backend.db import init_db
    from backend.db.seed import seed_default_persona

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        pipeline = Pipeline(settings)
        t0 = time.perf_counter()
        pipeline.load(stages=("llm", "emotion"))
        load_s = time.perf_counter() - t0
        db = init_db(settings.db_url)
        asyncio.run(db.call(seed_default_persona))
        brain = Brain(db, pipeline.llm, pipeline.emotion, settings)
        session = asyncio.run(brain.open_session(1))
        t0 = time.perf_counter()
        asyncio.run(brain.warm(1, session))
        warm_s = time.perf_counter() - t0
        turns = []
        for question in QUESTIONS:
            _progress(f"llm: {question}")
            chunks, timings = asyncio.run(collect_reply(brain, 1, session, question))
            stats = getattr(pipeline.llm, "last_stats", None)
            turn = {"question": question, "first_clause_s": timings.get("first_chunk_s"),
                    "first_token_s": timings.get("first_token_s"), "total_s": timings["total_s"],
                    "chunks": len(chunks), "first_clause": chunks[0].text if chunks else "",
                    "reply": "".join(c.text for c in chunks).strip()}
            if stats is not None:
                turn.update(prompt_tokens=stats.prompt_tokens, evaluated_tokens=stats.evaluated_tokens,
                            generated_tokens=stats.generated_tokens, tokens_per_s=round(stats.tokens_per_s, 1))
            turns.append(turn)
        db.close()
        pipeline.close()
    firsts = sorted(t["first_clause_s"] for t in turns if t["first_clause_s"] is not None)
    return {"bench": "llm", "engine": pipeline.status()["llm"], "load_s": round(load_s, 3),
            "persona_prefill_s": round(warm_s, 3), "median_first_clause_s": firsts[len(firsts) // 2] if firsts else None,
            "target": "first speakable clause <= 1.0 s with a warm persona cache", "turns": turns,
            "peak_rss_mb": round(_peak_rss_mb(), 1)}


def bench_enhance(runs: int) -> dict[str, object]:
    """Real-ESRGAN (ncnn, published weights) per model: one 128 -> 512 face upscale, and one 512 frame
    enhanced end to end (face crop -> 128 -> x scale -> back to the crop, feathered paste)."""
    from ai_pipeline.enhance.realesrgan_ncnn import MODELS, RealEsrganNcnn, RealEsrganNcnnSettings
    from ai_pipeline.talking_head.prepare import prepare_face

    face = prepare_face(default_photo_path(Settings().avatars_dir).read_bytes(), size=512)
    models = {}
    for model in MODELS:
        engine = RealEsrganNcnn(RealEsrganNcnnSettings(model=model, input_px=128))
        engine.load()
        region = engine.region_for(face.landmarks, (512, 512))
        crop = face.image[region.slices]
        small = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
        engine.upscale(small)  # warm-up
        n = runs if not model.startswith("x4plus") else min(runs, 2)
        up, frame = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            engine.upscale(small)
            up.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.enhance(face.image[None], region)
            frame.append(time.perf_counter() - t0)
        models[model] = {"scale": MODELS[model][2], "upscale_128_ms": round(min(up) * 1000, 1),
                         "out_px": 128 * MODELS[model][2], "frame_ms": round(min(frame) * 1000, 1),
                         "fps": round(1 / min(frame), 2), "vulkan": engine.vulkan}
        engine.close()
        _progress(f"enhance {model}: {models[model]}")
    return {"bench": "enhance", "engine": "realesrgan_ncnn", "cpu_count": psutil.cpu_count(),
            "load_avg_1m": round(psutil.getloadavg()[0], 2),
            "face_box_px": region.side, "models": models, "peak_rss_mb": round(_peak_rss_mb(), 1)}


NSH_WAVS = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav")
VOICE_TARGETS = {"recorded": 1.0, "faster_higher": 1.19, "slower_lower": 0.87}
VOICE_SENTENCES = ["Вчера вечером мы долго гуляли по набережной и разговаривали о будущем.",
                   "Пожалуйста, закройте окно, на улице становится холодно.",
                   "Мой брат работает инженером на большом заводе.", "В субботу мы поедем к бабушке в деревню.",
                   "Эта книга рассказывает о приключениях двух друзей.", "Сколько стоит билет на поезд до Москвы?",
                   "Летом я научился плавать и кататься на велосипеде.", "Врач сказал, что мне нужно больше отдыхать."]


def bench_voice() -> dict[str, object]:
    """Similarity, intelligibility and speed of light voice matching (see the module docstring)."""
    import io
    import tempfile

    import soundfile
    import soxr

    from ai_pipeline import registry
    from ai_pipeline.asr.metrics import cer, wer
    from ai_pipeline.tts.espeak import EspeakSettings
    from ai_pipeline.tts.festival import FestivalSettings
    from ai_pipeline.tts.rhvoice import RhvoiceSettings
    from ai_pipeline.voice.prepare import prepare_voice
    from ai_pipeline.voice.profile import read_wav
    from ai_pipeline.voice.similarity import cosine, embed, enrolled_speech
    from ai_pipeline.voice.speaker import VoicedTTS
    from ai_pipeline.voice.store import VoiceStore

    def shifted(path: Path, factor: float) -> AudioChunk:
        c = read_wav(path)
        return AudioChunk(soxr.resample(c.samples, c.sample_rate, c.sample_rate / factor).astype(np.float32),
                          c.sample_rate)

    def wav_bytes(chunk: AudioChunk) -> bytes:
        buf = io.BytesIO()
        soundfile.write(buf, chunk.samples, chunk.sample_rate, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    def transcribe(chunks: list) -> list[str]:  # type: ignore[type-arg]
        return [asyncio.run(pipeline.asr.atranscribe(soxr.resample(c.samples, c.sample_rate, 16000)
                                                     .astype(np.float32))).text for c in chunks]

    recordings = sorted(NSH_WAVS.glob("ru_*.wav"))
    refs = json.loads((Path(__file__).resolve().parent.parent / "tests/data/asr/references.json").read_text())
    sentences = list(dict.fromkeys(r["text"] for r in refs)) + VOICE_SENTENCES
    pipeline = Pipeline(Settings())
    pipeline.load(stages=("asr",))
    engines = {"rhvoice": registry.build("tts", RhvoiceSettings()),
               "rhvoice-aleksandr": registry.build("tts", RhvoiceSettings(voice="aleksandr")),
               "festival": registry.build("tts", FestivalSettings()),
               "espeak": registry.build("tts", EspeakSettings())}
    plain: dict[str, list] = {}  # type: ignore[type-arg]
    out: dict[str, object] = {"bench": "voice", "asr": pipeline.asr.describe(), "sentences": len(sentences)}
    for name, tts in engines.items():
        tts.load()
        plain[name] = [c for text in sentences for c in [_joined(tts.synthesize(text))]]
        hyp = transcribe(plain[name])
        out[f"{name}_unmatched_asr"] = {"wer": round(float(np.mean([wer(r, h) for r, h in zip(sentences, hyp)])), 3),
                                        "cer": round(float(np.mean([cer(r, h) for r, h in zip(sentences, hyp)])), 3)}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = VoiceStore(Path(tmp) / "voices")
        for target, factor in VOICE_TARGETS.items():
            _progress(f"voice target {target}")
            files = [(p.name, wav_bytes(shifted(p, factor))) for p in recordings[100:130]]
            voice, report = store.create(target, files)
            held_out = embed([shifted(p, factor) for p in recordings[200:204]])
            ceiling = cosine(held_out, embed(enrolled_speech(voice)))
            for name, tts in engines.items():
                t0 = time.perf_counter()
                prepared = prepare_voice(voice, tts)
                prepare_s = time.perf_counter() - t0
                matcher = VoicedTTS(tts, voice).matcher()
                t0 = time.perf_counter()
                matched = [matcher.apply(c) for c in plain[name]]
                rtf = (time.perf_counter() - t0) / sum(c.duration for c in plain[name])
                hyp = transcribe(matched)
                results.append({
                    "target": target, "engine": name, "enrolled_s": report.usable_s,
                    "similarity": {"unmatched": prepared["similarity"]["unmatched"],
                                   "matched": prepared["similarity"]["matched"],
                                   "same_speaker_held_out": round(ceiling, 4)},
                    "matched_asr": {"wer": round(float(np.mean([wer(r, h) for r, h in zip(sentences, hyp)])), 3),
                                    "cer": round(float(np.mean([cer(r, h) for r, h in zip(sentences, hyp)])), 3)},
                    "matching_rtf": round(rtf, 4), "prepare_s": round(prepare_s, 2), "params": matcher.describe()})
                _progress(f"{target}/{name}: {results[-1]['similarity']} {results[-1]['matched_asr']}")
    for tts in engines.values():
        tts.close()
    pipeline.close()
    out["results"] = results
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


def _joined(chunks: list) -> AudioChunk:  # type: ignore[type-arg]
    return AudioChunk(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate,
                      " ".join(c.text for c in chunks))


def _bench_tts(runs: int) -> dict[str, object]:
    import bench_tts  # scripts/bench_tts.py, beside this file

    result = bench_tts.bench_tts(runs, _progress)
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return result


def _bench_persona() -> dict[str, object]:
    import bench_persona  # scripts/bench_persona.py, beside this file

    result = bench_persona.bench_persona(_progress)
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return result


def main() -> int:
    if sys.argv[1:2] == ["turn"]:  # its own options (see scripts/bench_turn.py)
        import bench_turn  # scripts/bench_turn.py, beside this file

        return bench_turn.main(sys.argv[2:])
    if sys.argv[1:2] == ["brain"]:  # its own options (see scripts/bench_brain.py)
        import bench_brain  # scripts/bench_brain.py, beside this file

        return bench_brain.main(sys.argv[2:])
    if sys.argv[1:2] == ["fold"]:  # its own options (see scripts/bench_fold.py)
        import bench_fold  # scripts/bench_fold.py, beside this file

        return bench_fold.main(sys.argv[2:])
    if sys.argv[1:2] == ["gpu"]:  # its own options (see scripts/bench_gpu.py; scripts/gpu_check.sh runs it)
        import bench_gpu  # scripts/bench_gpu.py, beside this file

        return bench_gpu.main(sys.argv[2:])
    if sys.argv[1:2] == ["lipsync"]:  # its own options (see scripts/bench_lipsync.py)
        import bench_lipsync  # scripts/bench_lipsync.py, beside this file

        return bench_lipsync.main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["render", "asr", "llm", "persona", "turn", "brain", "fold", "lipsync", "gpu",
                                         "enhance", "voice", "tts", "capacity", "soak"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0, help="soak: how long the clients keep coming")
    args = parser.parse_args()
    if args.what in ("capacity", "soak"):
        import soak  # scripts/soak.py, beside this file

        result = soak.capacity() if args.what == "capacity" else soak.soak(args.minutes)
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    result = {"render": lambda: bench_render(args.runs), "asr": bench_asr, "llm": bench_llm,
              "enhance": lambda: bench_enhance(args.runs),
              "voice": bench_voice, "tts": lambda: _bench_tts(args.runs),
              "persona": _bench_persona}[args.what]()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

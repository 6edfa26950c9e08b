"""Benchmarks that print JSON. ``python scripts/bench.py render [--runs N]``.

render: the default avatar speaks ~10 s of Russian text through the configured light engines;
reports per-stage wall time (stages overlap, so they can sum to more than the total), frames per
second, real-time factor (render time / clip duration, lower is better), speed (x real time), time
to the first rendered frames, and peak resident memory. Also an audio-driven run (no TTS), which is
the talking head + encoder alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

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
    pipeline.load()
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["render"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(bench_render(args.runs), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

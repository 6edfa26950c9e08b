"""A question cut at a pause is joined with its rest (the live server, real engines, PCM in real time).

The end of turn here is the plain silence rule (300 ms), so a 0.5 s pause after «Привет,» surely ends
the first turn; the reply is held back (the first piece waits for the whole reply), so the user goes on
speaking before any of it is heard: the turn is cut as ``continued`` and the rest is added to the same
question, which is answered once."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np

from ai_pipeline.llm.llama_cpp import LlamaCppSettings
from ai_pipeline.settings import ChunkerSettings, RedisSettings, Settings, VADSettings
from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS
from backend.background_server import serving
from tests.backend.test_realtime import NS, Client


def test_speaking_on_before_the_reply_is_heard_joins_the_question(tmp_path):
    tts = FestivalTTS(FestivalSettings())
    tts.load()
    first, rest = (tts.synthesize_sentence(t) for t in ("Привет.", "Какой твой любимый цвет?"))
    tts.close()
    last = first.phonemes[-1].end
    pause = np.zeros(int(0.5 * 16000), np.float32)
    audio = np.concatenate([np.zeros(8000, np.float32), first.samples[: int(last * 16000)], pause, rest.samples,
                            np.zeros(16000, np.float32)])
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    settings = Settings(data_dir=tmp_path, redis=RedisSettings(url=None), llm=LlamaCppSettings(max_tokens=24),
                        vad=VADSettings(end_of_turn="silence"),
                        chunker=ChunkerSettings(first_min_chars=400, first_phrase_cut=False))

    async def go(url: str) -> tuple[Client, dict]:
        c = await Client().connect(url)
        await c.sio.emit("start", {"audio_format": "pcm16", "sample_rate": 16000, "greet": False}, namespace=NS)
        ready = await c.wait_for("ready")
        for i in range(0, len(pcm), 3200):  # 100 ms per message, in real time
            await c.sio.emit("audio", pcm[i:i + 3200], namespace=NS)
            await asyncio.sleep(0.1)
        await c.wait_for("turn_end", timeout=120)
        async with httpx.AsyncClient(base_url=url) as http:
            page = (await http.get(f"/api/sessions/{ready['session_id']}/messages")).json()
        await c.sio.disconnect()
        return c, page

    with serving(settings) as url:
        c, page = asyncio.run(go(url))
    print(c.names())
    finals = [d["text"] for d in c.of("transcript") if d["final"]]
    assert [d["reason"] for d in c.of("interrupted")] == ["continued"], c.of("interrupted")
    assert len(c.of("turn_end")) == 1 and c.of("turn_end")[0]["reason"] == "done"
    assert "привет" in finals[0].lower() and "цвет" in finals[-1].lower()
    users = [m["text"] for m in page["items"] if m["role"] == "user"]
    assert len(users) == 1 and "привет" in users[0].lower() and "цвет" in users[0].lower(), page
    assert [m["role"] for m in page["items"]].count("assistant") == 1

"""Fixtures of the browser tests: Debian's Chromium, the media the flows feed it (a face photo, two voice
files spoken by a different synthetic voice, the microphone's question) and one real server with the real
engines, shared by the flows (each flow opens its own browser)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.media.audio_io import write_wav
from ai_pipeline.settings import Settings
from ai_pipeline.tts.espeak import EspeakSettings, EspeakTTS
from backend.background_server import serving
from tests.e2e.flows import Media, mic_recording

VOICE_TEXT = [
    "Здравствуйте! Меня зовут Маша, я живу в большом городе у реки. По утрам я гуляю в парке, "
    "а вечером читаю книги о путешествиях. Летом мы с друзьями ездим в горы и ставим палатки у озера.",
    "Больше всего я люблю осень: жёлтые листья, тёплый чай и долгие разговоры. Я учусь рисовать "
    "акварелью и пою в хоре. Мой любимый писатель пишет о море, о кораблях и о дальних странах.",
    "Сегодня хорошая погода, поэтому после работы я пойду на набережную. Там играет музыка, "
    "продают мороженое, и можно смотреть, как по воде плывут лодки. Приходите и вы!",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), "Chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory, photo_bytes) -> Media:
    folder = tmp_path_factory.mktemp("e2e-media")
    photo = folder / "face.png"
    photo.write_bytes(photo_bytes)
    tts = EspeakTTS(EspeakSettings())
    tts.load()
    parts = [np.concatenate([tts.synthesize_sentence(s).samples for s in tts.prepare_text(t)]) for t in VOICE_TEXT]
    rate = tts.sample_rate
    tts.close()
    wav = folder / "voice_1.wav"
    write_wav(wav, np.concatenate(parts[:2]), rate)
    raw = folder / "voice_2_raw.wav"
    write_wav(raw, parts[2], rate)
    ogg = folder / "voice_2.ogg"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-c:a", "libopus", "-b:a", "48k", str(ogg)], check=True)
    mic, max_hold_ms = mic_recording(folder)
    return Media(photo=photo, voices=[wav, ogg], mic=mic, max_hold_ms=max_hold_ms)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory) -> Iterator[str]:
    """One server (fresh data folder: only the default persona) for the flows of the module."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("e2e-data"))
    assert (settings.server.web_dir / "index.html").is_file(), "build the web app first: bash scripts/setup.sh"
    with serving(settings) as url:
        yield url

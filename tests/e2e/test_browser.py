"""The whole product in a real browser: Debian's Chromium driven by playwright-core (frontend/e2e/run.mjs)
against the real server with the real engines. The wizard gets a photo and two voice files spoken by a
different synthetic voice; the conversation gets a question through Chromium's fake microphone, fed
from a Russian recording. Screenshots are kept in out/e2e/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.media.audio_io import decode_audio, write_wav
from ai_pipeline.settings import REPO_ROOT, Settings
from ai_pipeline.tts.espeak import EspeakSettings, EspeakTTS
from backend.background_server import serving

FRONTEND = REPO_ROOT / "frontend"
OUT = REPO_ROOT / "out" / "e2e"
VOICE_TEXT = [
    "Здравствуйте! Меня зовут Маша, я живу в большом городе у реки. По утрам я гуляю в парке, "
    "а вечером читаю книги о путешествиях. Летом мы с друзьями ездим в горы и ставим палатки у озера.",
    "Больше всего я люблю осень: жёлтые листья, тёплый чай и долгие разговоры. Я учусь рисовать "
    "акварелью и пою в хоре. Мой любимый писатель пишет о море, о кораблях и о дальних странах.",
    "Сегодня хорошая погода, поэтому после работы я пойду на набережную. Там играет музыка, "
    "продают мороженое, и можно смотреть, как по воде плывут лодки. Приходите и вы!",
]


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), "Chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory, photo_bytes) -> dict[str, object]:
    """A face photo, two voice files (wav + ogg, ~40 s of a second voice) and the microphone recording."""
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
    # the question, padded with silence (Chromium loops the file): 48 kHz mono 16-bit as it expects
    question, _ = decode_audio((REPO_ROOT / "tests/data/asr/festival_00.ogg").read_bytes(), 48000)
    mic = folder / "question.wav"
    write_wav(mic, np.concatenate([np.zeros(12000), question, np.zeros(96000)]).astype(np.float32), 48000)
    return {"photo": photo, "voices": [wav, ogg], "mic": mic}


def test_wizard_then_spoken_question_in_chromium(tmp_path, media):
    assert (FRONTEND / "dist" / "index.html").is_file(), "build the web app first: bash scripts/setup.sh"
    settings = Settings(data_dir=tmp_path / "data")
    OUT.mkdir(parents=True, exist_ok=True)
    with serving(settings) as url:
        cmd = ["node", "e2e/run.mjs", "--url", url, "--photo", str(media["photo"]), "--mic", str(media["mic"]),
               "--expect", "привет", "--out", str(OUT), "--chromium", _chromium()]
        for voice in media["voices"]:
            cmd += ["--voice", str(voice)]
        run = subprocess.run(cmd, cwd=FRONTEND, capture_output=True, text=True, timeout=560)
    print(run.stdout)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert (OUT / "conversation.png").stat().st_size > 10_000

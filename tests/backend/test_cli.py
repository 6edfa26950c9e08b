"""The ``avatar`` console command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import decode_mp4

AVATAR = [str(Path(sys.executable).with_name("avatar"))]


def run(args: list[str], data_dir: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "AVATAR_DATA_DIR": str(data_dir)}
    return subprocess.run(AVATAR + args, capture_output=True, text=True, env=env, timeout=300, **kw)


def test_render_text(tmp_path, data_dir):
    out = tmp_path / "hello.mp4"
    r = run(["render", "--text", "Привет, как дела?", "--out", str(out), "--quiet"], data_dir)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    clip = decode_mp4(out.read_bytes())
    assert len(clip.frames) == summary["frames"] > 10


def test_render_audio_with_two_faces_warns(tmp_path, data_dir, photo_rgb):
    import cv2
    import numpy as np

    canvas = np.full((512, 768, 3), 240, np.uint8)
    canvas[:, :512] = photo_rgb
    canvas[128:384, 512:] = cv2.resize(photo_rgb, (256, 256))
    photo = tmp_path / "two.png"
    cv2.imwrite(str(photo), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    audio = tmp_path / "tone.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=220:d=1", str(audio)], check=True)
    out = tmp_path / "two.mp4"
    r = run(["render", "--photo", str(photo), "--audio", str(audio), "--out", str(out), "--quiet"], data_dir)
    assert r.returncode == 0, r.stderr
    assert "несколько лиц" in r.stderr


@pytest.mark.parametrize("make,args,code", [
    (None, ["--text", ""], "empty_text"),
    (None, ["--text", "а" * 2001], "text_too_long"),
    ("notimage.jpg", ["--text", "Привет"], "bad_image"),
    ("garbage.wav", ["--audio", "{file}"], "bad_audio"),
    (None, ["--photo", "/nonexistent.png", "--text", "Привет"], "bad_image"),
])
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path, data_dir, make, args, code):
    file = tmp_path / (make or "none")
    if make:
        file.write_bytes(b"definitely not media " * 40)
    args = [a.replace("{file}", str(file)) for a in args]
    if make == "notimage.jpg":
        args = ["--photo", str(file)] + args
    r = run(["render", *args, "--out", str(tmp_path / "x.mp4"), "--quiet"], data_dir)
    assert r.returncode == 2
    assert "Ошибка:" in r.stderr and f"[{code}]" in r.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_serve_refuses_public_bind_without_token(data_dir):
    r = run(["serve", "--host", "0.0.0.0", "--port", "8799"], data_dir)
    assert r.returncode == 2 and "token_required" in r.stderr


def test_transcribe_json(data_dir):
    clip = Path(__file__).resolve().parent.parent / "data" / "asr" / "festival_00.ogg"
    r = run(["transcribe", str(clip), "--json"], data_dir)
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["language"] == "ru" and "привет" in body["text"].lower() and body["segments"]
    plain = run(["transcribe", str(clip)], data_dir)
    assert plain.returncode == 0 and "привет" in plain.stdout.lower()
    bad = run(["transcribe", "/nonexistent.ogg"], data_dir)
    assert bad.returncode == 2 and "[bad_audio]" in bad.stderr


@pytest.mark.parametrize("args,code,message", [
    (["--text", "Привет", "--audio", "{file}"], "bad_request", "не оба сразу"),
    (["--audio", "{file}", "--voice", "Аня"], "bad_request", "Голос применяется только к тексту"),
    ([], "empty_text", "Нужен текст или аудиозапись"),
])
def test_render_checks_the_same_rule_as_the_api(tmp_path, data_dir, args, code, message):
    file = tmp_path / "a.wav"
    file.write_bytes(b"RIFF" * 100)
    r = run(["render", *[a.replace("{file}", str(file)) for a in args], "--out", str(tmp_path / "x.mp4")], data_dir)
    assert r.returncode == 2 and f"[{code}]" in r.stderr and message in r.stderr


def test_render_uses_the_choices_saved_in_the_web_app(tmp_path):
    """The CLI lays ``ui_settings.json`` over the configuration as the server and the render workers do."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "ui_settings.json").write_text(json.dumps({"quality": "speed"}))
    out = tmp_path / "fast.mp4"
    r = run(["render", "--text", "Да.", "--out", str(out), "--quiet"], data)
    assert r.returncode == 0, r.stderr
    clip = decode_mp4(out.read_bytes())
    assert (clip.width, clip.height) == (384, 384) and round(clip.fps) == 20

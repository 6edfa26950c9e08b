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


# -- avatar models: bring your own GGUF ---------------------------------------------------------


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    """A models dir of its own with one model added by `avatar models add-llm` (a hard link of the
    embedded GGUF under another name, self-tested for real), and the data dir the CLI saves choices in."""
    from tests.gguf_files import embedded_gguf, linked_copy

    root = tmp_path_factory.mktemp("own-model")
    gguf = linked_copy(embedded_gguf(), root / "downloads" / "my-qwen.gguf")
    env = {"AVATAR_MODELS_DIR": str(root / "models")}
    r = run_env(["models", "add-llm", str(gguf), "--name", "Своя", "--context", "2048", "--json"], root / "data", env)
    assert r.returncode == 0, r.stderr
    return root, gguf, env, json.loads(r.stdout)


def run_env(args: list[str], data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(AVATAR + args, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AVATAR_DATA_DIR": str(data_dir), **env})


def test_add_llm_registers_self_tests_and_selects_a_local_gguf(own_model):
    root, gguf, env, entry = own_model
    assert entry["name"] == "Своя" and entry["path"] == str(gguf) and entry["n_ctx"] == 2048
    assert (entry["architecture"], entry["quantization"], entry["chat_template"]) == ("qwen2", "Q4_K_M", "gguf")
    assert entry["context_length"] == 32768 and entry["size_bytes"] == gguf.stat().st_size
    test = entry["self_test"]
    assert test["tokens"] > 0 and test["tokens_per_s"] > 0 and test["load_s"] > 0
    assert test["cyrillic"] >= 0.8, test["reply"]  # the reply really came through the file's chat template

    listed = json.loads(run_env(["models", "list", "--json"], root / "data", env).stdout)
    assert [m["name"] for m in listed] == ["embedded", "Своя"]
    assert listed[0]["selected"] and not listed[1]["selected"] and listed[1]["model"] == str(gguf)

    r = run_env(["models", "use", "Своя"], root / "data", env)
    assert r.returncode == 0, r.stderr
    saved = json.loads((root / "data" / "ui_settings.json").read_text())
    assert saved["engines"]["llm"] == "llama_cpp" and saved["options"]["llm"] == {"model": str(gguf), "n_ctx": 2048}
    listed = json.loads(run_env(["models", "list", "--json"], root / "data", env).stdout)
    assert [m["name"] for m in listed if m["selected"]] == ["Своя"]
    r = run_env(["models", "use", "нет-такой"], root / "data", env)
    assert r.returncode == 2 and "[unknown_model]" in r.stderr


@pytest.mark.parametrize("kind,message", [
    ("folder", "папка"),
    ("text", "не модель GGUF"),
    ("cut_header", "обрезан"),
    ("cut_data", "не хватает"),
    ("no_template", "нет шаблона диалога"),
    ("not_loadable", "Не удалось загрузить языковую модель"),
])
def test_add_llm_refuses_bad_files_and_changes_nothing(own_model, kind, message):
    from tests.gguf_files import cut_copy, write_gguf

    root, gguf, env, _ = own_model
    bad = root / "bad" / f"{kind}.gguf"
    bad.parent.mkdir(exist_ok=True)
    if kind == "folder":
        bad.mkdir(exist_ok=True)
    elif kind == "text":
        bad.write_text("это не модель\n" * 100)
    elif kind == "cut_header":
        cut_copy(gguf, bad, 1 << 20)  # inside the vocabulary
    elif kind == "cut_data":
        cut_copy(gguf, bad, 20 << 20)  # the header is whole, most tensors are missing
    elif kind == "no_template":
        write_gguf(bad, {"general.architecture": "llama", "tokenizer.ggml.tokens": ["<s>", "a", "b"]})
    else:  # a well-formed header with a template, but no weights llama.cpp could run
        write_gguf(bad, {"general.architecture": "llama", "tokenizer.chat_template": "{{ messages }}"})
    registry = root / "models" / "llm" / "local_models.json"
    before = registry.read_bytes()
    r = run_env(["models", "add-llm", str(bad), "--name", "Плохая"], root / "data", env)
    assert r.returncode == 2 and "Ошибка:" in r.stderr and message in r.stderr, r.stderr
    assert registry.read_bytes() == before

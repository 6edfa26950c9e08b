"""``avatar voice ...`` run as a real subprocess on real recordings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.voice_samples import ASR_CLIPS, chords, encode, festival_speech, wav_bytes

AVATAR = [str(Path(sys.executable).with_name("avatar"))]


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "AVATAR_DATA_DIR": str(data_dir)}
    return subprocess.run(AVATAR + args, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli_voices")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recordings")
    music = folder / "song.wav"
    music.write_bytes(wav_bytes(chords(8)))
    return {"speech": encode(festival_speech(12), "ogg", folder), "music": music,
            "short": ASR_CLIPS / "festival_01.ogg"}


def test_add_prints_a_russian_table_then_list_show_rm(data_dir, recordings):
    r = run(["voice", "add", "Диктор", str(recordings["speech"]), str(recordings["music"])], data_dir)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Голос «Диктор»" in out and "Итого пригодной речи" in out and "достаточно" in out
    lines = out.splitlines()
    speech_line = next(line for line in lines if line.startswith(recordings["speech"].name))
    assert speech_line.rstrip().endswith("принят")
    assert next(line for line in lines if line.startswith("song.wav")).rstrip().endswith("отклонён")
    assert any("музыку" in line for line in lines)

    listed = run(["voice", "list", "--json"], data_dir)
    voices = json.loads(listed.stdout)
    assert [v["name"] for v in voices] == ["Диктор"] and voices[0]["usable_s"] > 30
    voice_id = voices[0]["id"]
    plain = run(["voice", "list"], data_dir)
    assert voice_id in plain.stdout and "Диктор" in plain.stdout

    shown = run(["voice", "show", "Диктор"], data_dir)
    assert shown.returncode == 0 and voice_id in shown.stdout and "не подготовлен" in shown.stdout
    assert json.loads(run(["voice", "show", voice_id, "--json"], data_dir).stdout)["current_version"] == 1

    removed = run(["voice", "rm", voice_id], data_dir)
    assert removed.returncode == 0 and "удалён" in removed.stdout
    missing = run(["voice", "show", voice_id], data_dir)
    assert missing.returncode == 2 and "[voice_not_found]" in missing.stderr


def test_rejection_exits_2_with_the_report(data_dir, recordings):
    r = run(["voice", "add", "Песня", str(recordings["music"])], data_dir)
    assert r.returncode == 2
    assert "отклонён" in r.stdout and "Ошибка:" in r.stderr and "[voice_rejected]" in r.stderr
    as_json = run(["voice", "add", "Песня", str(recordings["music"]), "--json"], data_dir)
    assert as_json.returncode == 2
    report = json.loads(as_json.stdout)["error"]["report"]
    assert report["files"][0]["accepted"] is False and report["usable_s"] == 0
    nofile = run(["voice", "add", "Нет", "/nonexistent.wav"], data_dir)
    assert nofile.returncode == 2 and "[bad_audio]" in nofile.stderr


def test_prepare_needs_enough_speech_then_reports_progress(data_dir, recordings):
    short = run(["voice", "add", "Коротко", str(recordings["short"]), "--json"], data_dir)
    assert short.returncode == 0, short.stderr
    assert json.loads(short.stdout)["report"]["level"] == "not_enough"
    refused = run(["voice", "prepare", "Коротко"], data_dir)
    assert refused.returncode == 2 and "[not_enough_audio]" in refused.stderr

    added = run(["voice", "add", "Готовый", str(recordings["speech"]), "--json"], data_dir)
    voice_id = json.loads(added.stdout)["voice"]["id"]
    r = run(["voice", "prepare", voice_id], data_dir)
    assert r.returncode == 0, r.stderr
    assert "100.0%" in r.stderr  # the progress line
    result = json.loads(r.stdout)
    assert result["voice"] == voice_id and isinstance(result["result"], dict)
    assert json.loads(run(["voice", "show", "Готовый", "--json"], data_dir).stdout)["prepared"] is True

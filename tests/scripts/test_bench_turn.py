"""scripts/bench.py turn end to end, small: spoken questions to the real server in one conversation,
recorded by a person (festvox-ru's nsh database, the default) and, where RHVoice is installed, synthesized.

No timing is asserted (the machine decides those); the report must be whole and every turn answered."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from ai_pipeline import models
from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings
from ai_pipeline.asr.metrics import wer
from ai_pipeline.settings import REPO_ROOT, Settings
from ai_pipeline.tts.rhvoice import RhvoiceSettings, RhvoiceTTS

BENCH = [sys.executable, str(REPO_ROOT / "scripts" / "bench.py"), "turn"]


def _run(*options: str, runs: int) -> dict[str, Any]:
    done = subprocess.run([*BENCH, "--runs", str(runs), "--set", "redis.url=null", *options], capture_output=True,
                          text=True, timeout=600, cwd=REPO_ROOT)
    assert done.returncode == 0, f"bench turn failed:\n{done.stderr[-4000:]}"
    assert f"[bench] turn {runs}/{runs}" in done.stderr  # progress goes to stderr, the report alone to stdout
    return json.loads(done.stdout)


@pytest.fixture
def bench_turn(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """scripts/bench_turn.py imported as bench.py imports it: its folder on the path (for this test only)."""
    monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
    return importlib.import_module("bench_turn")


def test_recorded_questions_whole_then_cut_then_dialogue_then_again(bench_turn: ModuleType) -> None:
    questions = bench_turn.human_questions(40)
    names = [q.recording for q in questions]
    period = len(set(names))
    assert names[period:] == names[:len(names) - period]  # the list again once it ran out
    full = {name: _database_text(name) for name in set(names)}
    is_whole = [q.text == full[q.recording] for q in questions[:period]]
    single = is_whole.index(False)  # one-sentence questions first, then those cut out of a longer recording,
    rest = is_whole[single:]  # then whole dialogue lines ending with a question
    cuts = rest.index(True) if True in rest else len(rest)
    cut = questions[single:single + cuts]
    assert single >= 5 and len(cut) >= 5 and all(rest[cuts:])
    for q in questions[:single]:
        assert q.text.count("?") == 1 and " - " not in q.text, q.text
    for q in questions[:period]:
        assert q.voice == "nsh" and q.text.endswith("?") and "+" not in q.text
        assert 0.5 < q.duration <= bench_turn.MAX_HUMAN_S + 2 * bench_turn.MARGIN_S + 0.01, (q.recording, q.duration)
        assert q.samples.dtype == np.float32 and np.abs(q.samples).max() > 0.05
    for q in cut:
        assert full[q.recording].startswith(q.text) and len(full[q.recording]) > len(q.text) + 3, q.text
    # a cut recording says its question and no more: the packaged Whisper base hears them
    settings = Settings()
    models.assemble_folder("whisper/base", settings.models_dir)
    asr = FasterWhisperASR(FasterWhisperSettings(cpu_threads=1), settings.models_dir)
    asr.load()
    try:
        heard = {q.recording: asr.transcribe(q.samples).text for q in cut}
    finally:
        asr.close()
    assert float(np.mean([wer(q.text, heard[q.recording]) for q in cut])) < 0.35, heard
    assert sum(len(t.split()) for t in heard.values()) <= 1.2 * sum(len(q.text.split()) for q in cut), heard


def _database_text(name: str) -> str:
    """The nsh recording's text, stress marks removed."""
    nsh = importlib.import_module("bench_turn_detect").NSH  # scripts/, on the path in these tests
    for line in (nsh / "etc" / "txt.done.data").read_text().splitlines():
        if line.split()[1] == name:
            return line.split('"')[1].replace("+", "").strip()
    raise KeyError(name)


def test_two_recorded_questions_are_answered_and_reported() -> None:
    report = _run(runs=2)
    voices = report["question_voices"]
    assert voices["speech"] == "human"
    assert len(voices["recordings"]) == 2 and all(re.fullmatch(r"ru_\d{4}", r) for r in voices["recordings"])
    assert [t["recording"] for t in report["turns"]] == voices["recordings"]
    for turn in report["turns"]:
        assert turn["voice"] == "nsh" and turn["question"].endswith("?") and "+" not in turn["question"]
        assert 0.5 < turn["question_audio_s"] <= 7.7, turn
    _check(report, runs=2)


def test_synthesized_questions_are_spoken_by_rhvoice_voices(bench_turn: ModuleType) -> None:
    """``--speech tts`` differs from the default only in its questions (the conversation is the same)."""
    reason = RhvoiceTTS.availability(RhvoiceSettings(voice="aleksandr", phonemes=False), Settings().models_dir)
    if reason is not None:
        pytest.skip(f"RHVoice unavailable: {reason}")
    engine, questions = bench_turn.speak_questions(bench_turn.QUESTIONS[:2], lambda _: None)
    assert engine == "rhvoice" and [q.voice for q in questions] == ["aleksandr", "elena"]
    for q in questions:
        assert q.recording is None and 0.5 < q.duration < 5 and np.abs(q.samples).max() > 0.05


def _check(report: dict[str, Any], runs: int) -> None:
    assert report["bench"] == "turn"
    assert report["settings"] == {"redis.url": None}
    assert report["persona_preparation"]["status"] == "ready"
    assert report["targets"]["p50"] > 0 and report["targets"]["p95"] > 0
    assert report["cpu_count"] >= 1 and report["peak_rss_mb"] > 0
    turns = report["turns"]
    assert len(turns) == runs
    for turn in turns:
        assert "error" not in turn, turn
        assert turn["turns_started"] >= 1 and turn["finals"] >= 1, turn
        # a question is cut when the server ended the user's turn more than once or before its end
        assert turn["cut"] == (turn["turns_started"] > 1 or turn["finals"] > 1 or turn["finals_before_speech_end"] > 0)
        assert turn["heard"].strip(), turn  # a non-empty final transcript
        assert turn["reply"].strip() and turn["reply_audio_s"] > 0, turn  # speech was sent
        assert turn["reason"] == "done"
        for key in ("speech_end_to_first_segment_s", "plays_after_s", "speech_end_to_turn_end_s",
                    "speech_end_to_playback_end_s"):
            assert turn[key] > 0, (key, turn)
        assert turn["speech_end_to_playback_end_s"] >= turn["speech_end_to_first_segment_s"]
        for key in ("asr_final_s", "first_token_s", "first_chunk_s", "first_segment_s", "total_s"):
            assert turn["server"][key] > 0, (key, turn["server"])
        assert set(turn["stages"]) == {"asr_final_s", "llm_first_token_s", "first_clause_s", "tts_and_video_s"}
        assert 0 <= turn["wer"] <= 1.5
    summary = report["summary"]
    assert summary["turns"] == runs and summary["failed_turns"] == 0
    assert summary["early_cuts"] == sum(t["cut"] for t in turns) == len(summary["early_cut_turns"])
    for key in ("speech_end_to_first_segment_s", "plays_after_s", "speech_end_to_turn_end_s"):
        stats = summary[key]
        assert stats["n"] == runs and 0 < stats["p50"] <= stats["p95"] <= stats["max"], (key, stats)
    assert summary["server_milestones"]["first_segment_s"]["n"] == runs
    assert summary["server_stages"]["asr_final_s"]["p50"] > 0
    assert summary["asr_wer_mean"] is not None


def test_an_unknown_setting_is_refused_before_anything_runs() -> None:
    done = subprocess.run([*BENCH, "--set", "vad.hangover=200"], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)
    assert done.returncode == 2
    assert "vad.hangover" in done.stderr and "Extra inputs are not permitted" in done.stderr
    assert not done.stdout

"""scripts/bench.py turn end to end, small: two spoken questions to the real server in one conversation.

No timing is asserted (the machine decides those); the report must be whole and every turn answered."""

from __future__ import annotations

import json
import subprocess
import sys

from ai_pipeline.settings import REPO_ROOT

BENCH = [sys.executable, str(REPO_ROOT / "scripts" / "bench.py"), "turn"]


def test_two_spoken_questions_are_answered_and_reported() -> None:
    done = subprocess.run([*BENCH, "--runs", "2", "--set", "redis.url=null"], capture_output=True, text=True,
                          timeout=600, cwd=REPO_ROOT)
    assert done.returncode == 0, f"bench turn failed:\n{done.stderr[-4000:]}"
    assert "[bench] turn 2/2" in done.stderr  # progress goes to stderr, the report alone to stdout
    report = json.loads(done.stdout)
    assert report["bench"] == "turn"
    assert report["settings"] == {"redis.url": None}
    assert report["persona_preparation"]["status"] == "ready"
    assert report["targets"]["p50"] > 0 and report["targets"]["p95"] > 0
    assert report["cpu_count"] >= 1 and report["peak_rss_mb"] > 0
    turns = report["turns"]
    assert len(turns) == 2
    for turn in turns:
        assert "error" not in turn, turn
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
    assert summary["turns"] == 2 and summary["failed_turns"] == 0
    for key in ("speech_end_to_first_segment_s", "plays_after_s", "speech_end_to_turn_end_s"):
        stats = summary[key]
        assert stats["n"] == 2 and 0 < stats["p50"] <= stats["p95"] <= stats["max"], (key, stats)
    assert summary["server_milestones"]["first_segment_s"]["n"] == 2
    assert summary["server_stages"]["asr_final_s"]["p50"] > 0
    assert summary["asr_wer_mean"] is not None


def test_an_unknown_setting_is_refused_before_anything_runs() -> None:
    done = subprocess.run([*BENCH, "--set", "vad.hangover=200"], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)
    assert done.returncode == 2
    assert "vad.hangover" in done.stderr and "Extra inputs are not permitted" in done.stderr
    assert not done.stdout

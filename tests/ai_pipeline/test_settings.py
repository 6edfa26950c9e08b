"""Settings: defaults < YAML < environment, validated at start-up; registry and fallbacks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ai_pipeline.registry import TALKING_HEAD_ENGINES, TTS_ENGINES, build_talking_head, build_tts
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import FestivalSettings, Settings


def test_defaults_are_the_light_engines():
    s = Settings()
    assert s.tts.engine == "festival" and s.talking_head.engine == "mesh_warp"
    assert s.server.host == "127.0.0.1" and s.server.token is None


def test_yaml_then_env(tmp_path, monkeypatch):
    cfg = tmp_path / "avatar.yaml"
    cfg.write_text("tts:\n  engine: espeak\n  rate_wpm: 200\ntalking_head:\n  fps: 30\n")
    monkeypatch.setenv("AVATAR_CONFIG", str(cfg))
    s = Settings()
    assert s.tts.engine == "espeak" and s.tts.rate_wpm == 200 and s.talking_head.fps == 30
    monkeypatch.setenv("AVATAR_TTS__RATE_WPM", "150")
    assert Settings().tts.rate_wpm == 150


@pytest.mark.parametrize("yaml_text", [
    "tts:\n  engine: nope\n",
    "tts:\n  engine: espeak\n  rate_wpm: 5\n",
    "talking_head:\n  size: 10\n",
    "unknown_section: 1\n",
    "tts:\n  engine: festival\n  typo_option: 1\n",
])
def test_bad_config_fails_loudly(tmp_path, monkeypatch, yaml_text):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    monkeypatch.setenv("AVATAR_CONFIG", str(cfg))
    with pytest.raises(ValidationError):
        Settings()


def test_missing_config_file_is_an_error(monkeypatch):
    monkeypatch.setenv("AVATAR_CONFIG", "/does/not/exist.yaml")
    with pytest.raises(FileNotFoundError):
        Settings()


def test_registry_builds_every_engine():
    from ai_pipeline.settings import EspeakSettings, MeshWarpSettings, Wav2LipSettings, XttsSettings

    defaults = {"festival": FestivalSettings(), "espeak": EspeakSettings(), "mesh_warp": MeshWarpSettings(),
                "xtts": XttsSettings(), "wav2lip": Wav2LipSettings()}
    for name in TTS_ENGINES:
        assert build_tts(defaults[name]).name == name
    for name in TALKING_HEAD_ENGINES:
        assert build_talking_head(defaults[name]).name == name


def test_broken_engine_falls_back_and_says_so(data_dir):
    pipeline = Pipeline(Settings(data_dir=data_dir, tts=FestivalSettings(festival_bin="/nonexistent/festival")))
    pipeline.load(stages=("tts",))
    try:
        assert pipeline.tts.name == "espeak"
        assert any("festival" in n and "espeak" in n for n in pipeline.status()["notices"])
    finally:
        pipeline.close()

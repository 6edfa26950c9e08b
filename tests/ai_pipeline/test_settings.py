"""Settings: defaults < YAML < environment, validated at start-up; registry and fallbacks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ai_pipeline import registry
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.tts.festival import FestivalSettings
from ai_pipeline.tts.rhvoice import RhvoiceSettings


def test_defaults_are_the_light_engines():
    s = Settings()
    assert s.tts.engine == "rhvoice" and s.talking_head.engine == "mesh_warp"
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
    for stage in registry.stages():
        for name, cls in registry.engine_classes(stage).items():
            assert registry.build(stage, cls.settings_class()).name == name


def test_stage_defaults_are_unchanged():
    """Settings() defaults, and what a section without ``engine`` configures (enhance: options turn it on)."""
    s = Settings()
    assert {stage: getattr(s, stage).engine for stage in registry.stages()} == {
        "asr": "faster_whisper", "llm": "llama_cpp", "emotion": "lexicon", "tts": "rhvoice",
        "talking_head": "mesh_warp", "enhance": "none"}
    assert registry.build("enhance", s.enhance) is None
    sections = Settings(asr={"beam_size": 2}, llm={"max_tokens": 64}, emotion={}, tts={"voice": "elena"},
                        talking_head={"fps": 30}, enhance={"strength": 0.5})
    assert {stage: getattr(sections, stage).engine for stage in registry.stages()} == {
        "asr": "faster_whisper", "llm": "llama_cpp", "emotion": "lexicon", "tts": "rhvoice",
        "talking_head": "mesh_warp", "enhance": "realesrgan_ncnn"}
    assert sections.enhance.strength == 0.5 and sections.talking_head.fps == 30


def test_fallbacks_come_from_the_catalogue():
    fallbacks = {(stage, name): registry.fallback_settings(stage, name)
                 for stage in registry.stages() for name in registry.engine_table()[stage]}
    assert {k: v.engine for k, v in fallbacks.items() if v is not None} == {
        ("asr", "openai_whisper"): "faster_whisper", ("llm", "ollama"): "llama_cpp",
        ("emotion", "rubert"): "lexicon", ("tts", "rhvoice"): "festival", ("tts", "festival"): "espeak",
        ("tts", "xtts"): "rhvoice",
        ("talking_head", "wav2lip"): "mesh_warp"}
    assert registry.fallback_settings("tts", "xtts") == RhvoiceSettings()


def test_engine_settings_are_not_reexported_by_settings():
    """Engine settings live beside their engines only: one place per fact."""
    import ai_pipeline.settings as module

    assert not hasattr(module, "FestivalSettings")


def test_broken_engine_falls_back_and_says_so(data_dir):
    pipeline = Pipeline(Settings(data_dir=data_dir, tts=FestivalSettings(festival_bin="/nonexistent/festival")))
    pipeline.load(stages=("tts",))
    try:
        assert pipeline.tts.name == "espeak"
        assert any("festival" in n and "espeak" in n for n in pipeline.status()["notices"])
    finally:
        pipeline.close()

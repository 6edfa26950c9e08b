"""Whether a machine can train, and why not: the settings switch, the base checkpoint, CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ai_pipeline.settings import Settings, TrainingSettings
from ai_pipeline.voice.train.capability import BASE_FILES, estimate_seconds, training_capability


def _base(folder: Path, names: tuple[str, ...] = BASE_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")
    return folder


def test_reasons_in_russian_when_training_is_not_possible(tmp_path: Path) -> None:
    off = training_capability(TrainingSettings(force=False), _base(tmp_path / "full"))
    assert not off.can_train and "выключено" in off.reason
    partial = training_capability(TrainingSettings(), _base(tmp_path / "partial", ("config.json", "model.pth")))
    assert not partial.can_train and "dvae.pth" in partial.reason and "download_models.py" in partial.reason
    forced = training_capability(TrainingSettings(force=True), _base(tmp_path / "full"))
    assert forced.can_train and forced.forced and forced.reason is None


def test_settings_from_the_environment_and_the_estimate(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AVATAR_TRAINING__EPOCHS", "4")
    monkeypatch.setenv("AVATAR_TRAINING__FORCE", "true")
    options = Settings().training
    assert options.epochs == 4 and options.force is True
    short, long = estimate_seconds(60, 4, options), estimate_seconds(600, 4, options)
    assert 0 < short < long and estimate_seconds(600, 8, options) > long


def test_the_old_variable_names_are_refused_not_ignored(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AVATAR_TRAIN_FORCE", "false")
    with pytest.raises(ValidationError, match="AVATAR_TRAIN_FORCE.*AVATAR_TRAINING__EPOCHS"):
        Settings()

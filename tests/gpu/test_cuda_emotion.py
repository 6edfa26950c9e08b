"""RuBERT emotion on the device under test against the CPU, on the tiny sentiment model of
tests/ai_pipeline/test_emotion.py (fp32 on both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ai_pipeline.test_emotion import rubert, sentiment_model  # noqa: F401 - the fixture
from tests.gpu.compare import DEVICE

pytestmark = pytest.mark.gpu

TEXTS = ["Мне очень грустно.", "Привет, Аня!", "", "привет как дела " * 40, "Я рад, мне весело — очень!"]


def test_rubert_on_the_device_matches_the_cpu(sentiment_model: Path) -> None:  # noqa: F811
    cpu, dev = rubert(sentiment_model, "cpu"), rubert(sentiment_model, DEVICE)
    want, got = cpu.classify_batch(TEXTS), dev.classify_batch(TEXTS)
    info = dev.describe()
    assert info["device"] == DEVICE and info["loaded"] is True
    assert [r.label for r in got] == [r.label for r in want]
    for g, w in zip(got, want):
        assert abs(g.confidence - w.confidence) <= 2e-3, (got, want)  # confidences are rounded to 0.001

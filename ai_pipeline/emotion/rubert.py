"""The heavy emotion engine: a BERT sequence classifier (RuBERT-tiny2 and kin) from a local folder.

``settings.model`` is a folder under ``<models_dir>`` (default ``emotion/rubert-tiny2-sentiment``)
or an absolute path, holding what ``save_pretrained`` writes: ``config.json``, the weights and the
tokenizer files. It is loaded with ``local_files_only=True``: nothing is ever downloaded, and a
missing or unreadable folder raises :class:`EngineUnavailable` (the registry then falls back to
the lexicon engine).

The model's own labels (``config.id2label``) are mapped onto :data:`EMOTIONS` with
:data:`LABEL_MAP`; the probabilities of labels that map to the same emotion are added (softmax
models) or the largest is taken (multi-label models, ``problem_type=multi_label_classification``,
scored with a sigmoid). A model with a label missing from the table is refused at load time.

=====================================  =========  ============================================
model label                            emotion    models that use it
=====================================  =========  ============================================
neutral, no_emotion                    neutral    RuBERT sentiment; CEDR emotion models
positive                               happy      seara/rubert-tiny2-russian-sentiment
negative                               sad        (a negative reply from a friendly avatar is
                                                  sympathy or regret far more often than anger)
joy, happiness, enthusiasm             happy      CEDR / Aniemore emotion models
sadness, guilt, shame                  sad
surprise                               surprised
fear                                   scared
anger, disgust                         angry
=====================================  =========  ============================================

No such model says "thinking"; that label comes from the lexicon engine only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ai_pipeline.emotion.base import EMOTIONS, EmotionEngine, EmotionResult
from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_package
from ai_pipeline.errors import EngineFailed, EngineUnavailable

INSTALL = "pip install transformers"
MAX_TOKENS = 512  # longer texts are truncated; a reply chunk is far shorter

LABEL_MAP: dict[str, str] = {
    "neutral": "neutral", "no_emotion": "neutral",
    "positive": "happy", "joy": "happy", "happiness": "happy", "enthusiasm": "happy",
    "negative": "sad", "sadness": "sad", "guilt": "sad", "shame": "sad",
    "surprise": "surprised",
    "fear": "scared",
    "anger": "angry", "disgust": "angry",
}


def resolve_model_path(model: str, models_dir: str | Path | None) -> Path:
    """An absolute (or ``~``) path as given, anything else under ``models_dir``."""
    path = Path(model).expanduser()
    if path.is_absolute():
        return path
    if models_dir is None:
        from ai_pipeline.settings import Settings

        models_dir = Settings().models_dir
    return Path(models_dir) / model


def _unavailable(path: Path, detail: str) -> EngineUnavailable:
    return EngineUnavailable(
        f"Модель эмоций не найдена или повреждена: {path}. "
        "Скачайте её командой «python scripts/download_models.py» или выберите движок «lexicon».",
        f"emotion model unavailable at {path}: {detail}",
    )


class RuBertEmotionSettings(EngineSettings):
    """A BERT sequence classifier (e.g. a RuBERT sentiment model) from a local folder."""

    engine: Literal["rubert"] = "rubert"
    model: str = "emotion/rubert-tiny2-sentiment"  # under models_dir, or an absolute path
    device: Literal["auto", "cpu", "cuda"] = "auto"


class RuBertEmotion(EmotionEngine):
    """A ``transformers`` BERT classifier on CPU or CUDA; labels mapped by :data:`LABEL_MAP`."""

    name = "rubert"
    settings_class = RuBertEmotionSettings
    # rubert-tiny2 (29M parameters) with CUDA working memory; no measured figure yet
    info = EngineInfo(label_ru="RuBERT (нейросеть)", heavy=True, fallback="lexicon", vram_mb=200)

    def __init__(self, settings: RuBertEmotionSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self.model_path = resolve_model_path(self.settings.model, models_dir)
        self.device = ""
        self._model: Any = None
        self._tokenizer: Any = None
        self._emotions: list[str] = []  # EMOTIONS label of each model output
        self._gpu_slot: Any = None  # on CUDA: the VRAM ledger moves the weights there for each use
        self._lock = threading.Lock()

    @classmethod
    def availability(cls, settings: RuBertEmotionSettings, models_dir: Path) -> str | None:
        path = resolve_model_path(settings.model, models_dir)
        return (missing_package("transformers", "torch")
                or (None if (path / "config.json").is_file()
                    else f"нет модели {path} (python scripts/download_models.py)")
                or cuda_missing(settings.device))

    def load(self) -> None:
        """Load tokenizer and model (blocking); a no-op when loaded."""
        with self._lock:
            self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise EngineUnavailable("Движок эмоций «rubert» недоступен: не установлен пакет transformers.",
                                    f"{exc}; {INSTALL}") from None
        if not (self.model_path / "config.json").is_file():
            raise _unavailable(self.model_path, "no config.json")
        device = self.settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise EngineUnavailable("Видеокарта CUDA недоступна для модели эмоций.",
                                    "device=cuda but torch sees no CUDA device")
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(self.model_path, local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:  # missing or corrupt files
            raise _unavailable(self.model_path, str(exc)) from exc
        labels = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
        unknown = sorted({label for label in labels if label.lower() not in LABEL_MAP})
        if unknown:
            raise EngineUnavailable(
                f"Модель эмоций {self.model_path} выдаёт неизвестные метки: {', '.join(unknown)}.",
                f"labels {unknown} are not in LABEL_MAP (ai_pipeline/emotion/rubert.py)",
            )
        self._emotions = [LABEL_MAP[label.lower()] for label in labels]
        self._tokenizer, self._model, self.device = tokenizer, model.eval(), device
        if device == "cuda":  # weights go to the GPU on first use and back to RAM if the budget needs room
            from ai_pipeline.gpu import gpu_manager

            manager = gpu_manager()
            try:
                self._gpu_slot = manager.register(self.name, self, self.info.vram_mb)
            except ValueError:  # another pipeline in this process holds the name
                self._gpu_slot = manager.register(f"{self.name}#{id(self):x}", self, self.info.vram_mb)

    def gpu_load(self) -> None:
        self._model.to(self.device)

    def gpu_unload(self) -> None:
        self._model.to("cpu")

    def close(self) -> None:
        with self._lock:
            if self._gpu_slot is not None:
                from ai_pipeline.gpu import gpu_manager

                gpu_manager().unregister(self._gpu_slot.name)
                self._gpu_slot = None
            self._model = self._tokenizer = None

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "model": str(self.model_path), "device": self.device or self.settings.device,
                "labels": sorted(set(self._emotions)), "loaded": self._model is not None}

    def classify(self, text: str) -> EmotionResult:
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: Sequence[str]) -> list[EmotionResult]:
        """One result per text, in one forward pass; texts are truncated to the model's limit."""
        if not texts:
            return []
        import torch

        with self._lock:
            self._ensure_loaded()
            limit = min(MAX_TOKENS, getattr(self._model.config, "max_position_embeddings", MAX_TOKENS))
            try:
                batch = self._tokenizer([t or " " for t in texts], padding=True, truncation=True,
                                        max_length=limit, return_tensors="pt").to(self.device)
                on_device = self._gpu_slot.use() if self._gpu_slot is not None else contextlib.nullcontext()
                with on_device, torch.inference_mode():
                    logits = self._model(**batch).logits.float().cpu()
            except (RuntimeError, ValueError, IndexError) as exc:
                raise EngineFailed("Не удалось определить эмоцию.", f"emotion model failed: {exc}") from exc
            multi_label = self._model.config.problem_type == "multi_label_classification"
        probs = torch.sigmoid(logits) if multi_label else torch.softmax(logits, dim=-1)
        return [self._result(row.tolist(), multi_label) for row in probs]

    def _result(self, probs: list[float], multi_label: bool) -> EmotionResult:
        per_emotion = dict.fromkeys(EMOTIONS, 0.0)
        for emotion, p in zip(self._emotions, probs):
            per_emotion[emotion] = max(per_emotion[emotion], p) if multi_label else per_emotion[emotion] + p
        label = max(EMOTIONS, key=per_emotion.__getitem__)
        return EmotionResult(label=label, confidence=round(min(per_emotion[label], 1.0), 3))

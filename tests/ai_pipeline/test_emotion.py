"""Emotion engines: the lexicon rules as a table; RuBERT on a tiny randomly initialised BERT.

The tiny model has the architecture of the real checkpoints (``BertForSequenceClassification``,
a WordPiece vocabulary, ``id2label`` like seara/rubert-tiny2-russian-sentiment or the CEDR
emotion models) and is saved with ``save_pretrained``, so it loads through exactly the code path
of a downloaded model. Its classifier bias is set so that the expected label wins.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from ai_pipeline import registry
from ai_pipeline.emotion.base import EMOTIONS, EmotionResult
from ai_pipeline.emotion.lexicon import LexiconEmotion, LexiconEmotionSettings
from ai_pipeline.emotion.rubert import RuBertEmotion, RuBertEmotionSettings
from ai_pipeline.errors import EngineUnavailable

# --- lexicon -------------------------------------------------------------------------------------

LEXICON_CASES = [
    ("Ура! Мы победили!", "happy"),
    ("Я так рада тебя видеть 😊", "happy"),
    ("Какое чудесное солнышко!", "happy"),
    ("Спасибо, это замечательно!", "happy"),
    ("Мне очень грустно, я скучаю по бабушке.", "sad"),
    ("Как жаль...", "sad"),
    ("Увы, так бывает 😢", "sad"),
    ("Ого, правда?!", "surprised"),
    ("Вот это да! Не может быть!", "surprised"),
    ("Это так неожиданно 😮", "surprised"),
    ("Хм, интересно.", "thinking"),
    ("Давай подумаем вместе.", "thinking"),
    ("Возможно, ответ в книге 🤔", "thinking"),
    ("Я боюсь темноты.", "scared"),
    ("Мне страшно, там что-то шуршит 😨", "scared"),
    ("Меня это бесит!", "angry"),
    ("Хватит! Я злюсь 😠", "angry"),
    ("Сегодня вторник.", "neutral"),
    ("Столица России — Москва.", "neutral"),
    ("Это уравнение решается за два шага.", "neutral"),  # "ура" inside a word
    ("Не бойся, всё будет хорошо.", "neutral"),  # negated
    ("Не грусти.", "neutral"),
    ("", "neutral"),
]


@pytest.mark.parametrize(("text", "label"), LEXICON_CASES)
def test_lexicon_table(text: str, label: str) -> None:
    result = LexiconEmotion().classify(text)
    assert result.label == label
    assert 0.0 < result.confidence <= 1.0


def test_lexicon_confidence_grows_with_cues() -> None:
    engine = LexiconEmotion()
    weak, strong = engine.classify("Ура!"), engine.classify("Ура!!! Я так счастлива 😊🎉")
    assert weak.label == strong.label == "happy"
    assert strong.confidence > weak.confidence
    assert engine.classify("Сегодня вторник.") == EmotionResult("neutral", 1.0)


def test_lexicon_from_registry(tmp_path: Path) -> None:
    engine = registry.build("emotion", LexiconEmotionSettings(), tmp_path)
    assert isinstance(engine, LexiconEmotion) and engine.name == "lexicon"
    engine.load()
    assert engine.classify("Ура!").label in EMOTIONS


# --- rubert on a tiny random model ---------------------------------------------------------------

SENTIMENT_LABELS = {0: "neutral", 1: "positive", 2: "negative"}  # seara/rubert-tiny2-russian-sentiment
CEDR_LABELS = {0: "no_emotion", 1: "joy", 2: "sadness", 3: "surprise", 4: "fear", 5: "anger"}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "!", "?", ".", ",", "—",
         "привет", "я", "аня", "мне", "тебе", "очень", "груст", "рад", "страш", "весел", "как", "дела",
         "##но", "##а", "##ть", "##ый", "##и", "##е", "##о"]
MAX_POSITIONS = 32


def make_model(folder: Path, id2label: dict[int, str], winner: int, *, multi_label: bool = False) -> Path:
    """A BERT classifier with the real architecture, tiny sizes and random weights, saved to folder."""
    vocab_dir = folder / "vocab"
    vocab_dir.mkdir(parents=True)
    (vocab_dir / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer.from_pretrained(vocab_dir, do_lower_case=True)
    assert tokenizer.tokenize("Привет, Аня") == ["привет", ",", "аня"]
    config = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=MAX_POSITIONS, id2label=id2label, label2id={v: k for k, v in id2label.items()},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.full((len(id2label),), -4.0))
        model.classifier.bias[winner] = 4.0
    path = folder / "model"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def sentiment_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model(tmp_path_factory.mktemp("sentiment"), SENTIMENT_LABELS, winner=2)


def rubert(path: Path | str, device: str = "cpu") -> RuBertEmotion:
    return RuBertEmotion(RuBertEmotionSettings(model=str(path), device=device))


def test_rubert_sentiment_model(sentiment_model: Path) -> None:
    engine = rubert(sentiment_model)
    engine.load()
    assert engine.describe()["loaded"] is True and engine.device == "cpu"
    result = engine.classify("Мне очень грустно.")
    assert result.label == "sad"  # "negative" maps to sad
    assert 0.9 < result.confidence <= 1.0


def test_rubert_batch_and_truncation(sentiment_model: Path) -> None:
    engine = rubert(sentiment_model)
    too_long = "привет как дела " * 100  # ~300 tokens > 32 positions: must be truncated
    results = engine.classify_batch(["Привет!", too_long, "", "Я Аня, мне весело — очень!"])
    assert len(results) == 4
    assert all(r.label in EMOTIONS and 0.0 < r.confidence <= 1.0 for r in results)
    assert engine.classify_batch([]) == []


def test_rubert_multi_label_emotion_model(tmp_path: Path) -> None:
    path = make_model(tmp_path, CEDR_LABELS, winner=4, multi_label=True)  # fear
    result = rubert(path).classify("Мне страшно!")
    assert result.label == "scared"
    assert result.confidence > 0.9


def test_rubert_relative_path_under_models_dir_and_registry(sentiment_model: Path) -> None:
    engine = registry.build("emotion", RuBertEmotionSettings(model=sentiment_model.name, device="cpu"),
                            sentiment_model.parent)
    assert isinstance(engine, RuBertEmotion) and engine.name == "rubert"
    assert engine.model_path == sentiment_model
    assert engine.classify("Привет").label in EMOTIONS


def test_rubert_missing_folder_is_unavailable(tmp_path: Path) -> None:
    engine = rubert(tmp_path / "nope")
    with pytest.raises(EngineUnavailable) as error:
        engine.load()
    assert "nope" in error.value.message_ru and error.value.retryable
    with pytest.raises(EngineUnavailable):
        engine.classify("Привет")


def test_rubert_corrupt_folder_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EngineUnavailable):
        rubert(tmp_path / "broken").load()


def test_rubert_unknown_labels_are_refused(tmp_path: Path) -> None:
    path = make_model(tmp_path, {0: "LABEL_0", 1: "LABEL_1"}, winner=0)
    with pytest.raises(EngineUnavailable, match="LABEL_0"):
        rubert(path).load()


def test_rubert_cuda(sentiment_model: Path) -> None:
    """On a CUDA machine the model runs there; without one, device=cuda is refused loudly."""
    engine = rubert(sentiment_model, device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(EngineUnavailable, match="CUDA"):
            engine.load()
        return
    assert engine.classify("Мне очень грустно.").label == "sad"
    assert engine.device == "cuda"

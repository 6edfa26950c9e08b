"""The light, default emotion engine: Russian word stems, interjections, emoji and punctuation.

Instant and dependency-free. Every cue adds a weight to one label:

* word stems (a word *starting with* the stem): "радост", "грус", "удив", "страш", "злю"...;
  a stem right after "не"/"ни"/"без" does not count ("не бойся", "не грусти");
* whole words and phrases: interjections ("ура", "увы", "ого", "хм") and "давай подумаем",
  "интересно", "может быть" (thinking);
* emoji (😊 happy, 😢 sad, 😮 surprised, 🤔 thinking, 😠 angry, 😨 scared...);
* diminutive and affectionate words ("солнышко", "маленький", "котик") lean happy;
* punctuation: "?!" leans surprised, "?" thinking, "!" happy - weak cues that only decide when
  nothing else does, while "!" also strengthens whatever emotion the words carry.

"neutral" has a constant prior weight of 1; the label with the largest weight wins and its
confidence is its share of all the weights (so a lone weak cue stays neutral).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from ai_pipeline.emotion.base import EMOTIONS, EmotionEngine, EmotionResult
from ai_pipeline.engine import EngineInfo, EngineSettings

STEM_WEIGHT, WORD_WEIGHT, EMOJI_WEIGHT, DIMINUTIVE_WEIGHT = 1.5, 2.0, 2.0, 1.0
NEUTRAL_PRIOR = 1.0

STEMS: dict[str, tuple[str, ...]] = {
    "happy": ("радост", "радуе", "радую", "радуй", "обрадов", "счаст", "весел", "люблю", "любим", "нрав",
              "прекрасн", "замечательн", "чудесн", "отличн", "классн", "здорово", "обожа", "молодец",
              "улыб", "смеш", "приятн", "восторг", "восхит", "поздравл", "праздн", "супер", "круто",
              "крутой", "крутая", "повезл", "спасибо", "благодар"),
    "sad": ("грус", "грущ", "печал", "жаль", "жалко", "сожал", "плач", "плак", "слез", "тоск", "скуч",
            "обид", "расстро", "одино", "несчаст", "горьк", "скорб", "бедн", "потерял", "умер", "больно"),
    "surprised": ("удив", "неожидан", "невероятн", "потрясающ", "поразит", "поражен", "изумл", "неужели"),
    "scared": ("страх", "страш", "боюсь", "боят", "боит", "боиш", "боим", "испуг", "пуга", "ужас", "тревог",
               "опасн", "паник", "жутк", "кошмар", "волнуюсь"),
    "angry": ("злю", "злит", "злой", "злая", "злое", "злость", "злющ", "разозл", "бесит", "бешен",
              "раздраж", "ярост", "гнев", "возмут", "возмущ", "ненавиж", "ненавист", "достал",
              "надоел", "серди", "сержусь"),
    "thinking": ("подума", "думаю", "дума", "размышл", "предполож", "наверн", "возможно", "пожалуй",
                 "посмотрим", "допуст", "интересн", "любопытн", "загадк", "вопрос"),
}
# Whole words or phrases (matched on the lowercased text with word boundaries).
PHRASES: dict[str, tuple[str, ...]] = {
    "happy": ("ура", "рад", "рада", "рады", "ха-ха", "хаха", "ахаха", "йес", "класс", "вот здорово"),
    "sad": ("увы", "эх", "горе", "ох-ох", "как жаль", "очень жаль"),
    "surprised": ("ого", "ух ты", "вот это да", "ничего себе", "надо же", "не может быть", "вау", "ой",
                  "ах", "неужели", "правда?"),
    "scared": ("мамочки", "помогите", "ой-ой"),
    "angry": ("хватит", "прекрати", "отстань", "безобразие", "черт", "черти"),
    "thinking": ("хм", "хмм", "хммм", "м-м", "интересно", "давай подумаем", "дай подумать",
                 "может быть", "как думаешь", "с одной стороны", "если подумать"),
}
EMOJI: dict[str, str] = {
    **dict.fromkeys("😊😀😃😄😁🙂😍🥰😘😂🤣😆😺😻❤💖💕👍🎉🥳✨🌞☺", "happy"),
    **dict.fromkeys("😢😭😞😔☹🙁😿💔😥😓", "sad"),
    **dict.fromkeys("😮😲😯🤯😳🙀😦", "surprised"),
    **dict.fromkeys("🤔🧐💭", "thinking"),
    **dict.fromkeys("😠😡🤬👿😤", "angry"),
    **dict.fromkeys("😨😱😰😧😬👻", "scared"),
}
NEGATIONS = frozenset({"не", "ни", "без"})
_DIMINUTIVE = re.compile(r"\w{2,}(?:еньк|оньк|ышк|ушк|ечк|юшк|ульк)\w*")
_AFFECTION = ("солныш", "котик", "котенок", "зайк", "зайчик", "малыш", "милый", "милая", "милаш", "дружок",
              "ласк", "обнима", "обнимаш")
_WORD = re.compile(r"[а-яёa-z]+(?:-[а-яёa-z]+)?")
_STEM_PATTERNS = {label: re.compile("|".join(stems)) for label, stems in STEMS.items()}
_PHRASE_PATTERNS = {label: re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, phrases)) + r")(?![\w-])")
                    for label, phrases in PHRASES.items()}


class LexiconEmotionSettings(EngineSettings):
    engine: Literal["lexicon"] = "lexicon"


class LexiconEmotion(EmotionEngine):
    """Rule-based Russian emotion classifier (the default; no model, no load time)."""

    name = "lexicon"
    settings_class = LexiconEmotionSettings
    info = EngineInfo(label_ru="Словарь эмоций (CPU)", heavy=False, vram_mb=0)

    def __init__(self, settings: LexiconEmotionSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)

    def scores(self, text: str) -> dict[str, float]:
        """The weight of every label in EMOTIONS for ``text`` (neutral = the constant prior)."""
        scores = dict.fromkeys(EMOTIONS, 0.0)
        scores["neutral"] = NEUTRAL_PRIOR
        low = text.lower().replace("ё", "е")  # the tables are written with "е"
        words = _WORD.findall(low)
        for position, word in enumerate(words):
            if position and words[position - 1] in NEGATIONS:
                continue
            label = next((name for name, stems in _STEM_PATTERNS.items() if stems.match(word)), None)
            if label:
                scores[label] += STEM_WEIGHT
            elif word.startswith(_AFFECTION) or (len(word) > 4 and _DIMINUTIVE.fullmatch(word)):
                scores["happy"] += DIMINUTIVE_WEIGHT
        for label, phrases in _PHRASE_PATTERNS.items():
            scores[label] += WORD_WEIGHT * len(phrases.findall(low))
        for ch in text:
            if ch in EMOJI:
                scores[EMOJI[ch]] += EMOJI_WEIGHT
        self._punctuation(text, scores)
        return scores

    @staticmethod
    def _punctuation(text: str, scores: dict[str, float]) -> None:
        mixed = len(re.findall(r"\?!|!\?", text))
        questions = text.count("?") - mixed
        exclamations = text.count("!") - mixed
        scores["surprised"] += 1.5 * mixed
        scores["thinking"] += min(0.6 * questions, 1.2)
        emotional = max((label for label in EMOTIONS if label != "neutral"), key=scores.__getitem__)
        if exclamations and scores[emotional] > 0:
            scores[emotional] *= 1.0 + min(0.25 * exclamations, 0.75)  # "!" amplifies what is there
        elif exclamations:
            scores["happy"] += min(0.6 * exclamations, 1.8)  # a bare "Привет!" is friendly

    def classify(self, text: str) -> EmotionResult:
        scores = self.scores(text)
        label = max(EMOTIONS, key=lambda name: (scores[name], name == "neutral"))
        return EmotionResult(label=label, confidence=round(scores[label] / sum(scores.values()), 3))

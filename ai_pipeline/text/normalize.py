"""Turn written Russian (chat replies, markdown, numbers, abbreviations) into speakable text.

``normalize_for_speech`` runs a fixed sequence of small passes; each is a table or a regex:

1. markdown, HTML, URLs and e-mails (:mod:`ai_pipeline.text.markup`);
2. ru-normalizr (1.3.0, rule-based, MIT) for the two things it reads better than our tables:
   Roman numerals in context ("Пётр I", "при Николае II", "XX в.") via its ``roman`` stage, and
   proper fractions ("3/4" -> "три четвёртых") via its ``numerals`` stage on the fraction alone.
   It is only called when the sentence has such a token, and its answer is dropped if it turned
   letters into digits ("XL" -> "40");
3. Latin brand names and loan words from a table ("iPhone" -> "айфон"); other Latin words stay;
4. abbreviations that do not depend on a number ("т.е." -> "то есть", "пр. Мира" -> "проспект");
5. numbers with their units, dates, times, phone numbers, money and ordinals
   (:mod:`ai_pipeline.text.numbers`);
6. emoji and pictographs, leftover unit abbreviations, acronyms spelled letter by letter
   ("РФ" -> "эр эф", "USB" -> "ю эс би");
7. punctuation: dashes become a comma pause, quotes and brackets go, ellipsis stays a pause,
   symbols a synthesiser cannot read are dropped or named ("−" -> "минус"), whitespace collapsed.

Why this mix: on the hand-written table ``tests/data/text/normalisation_cases.tsv`` (170 rows,
14 categories; ``python -m ai_pipeline.text.evaluation`` prints the scores) the project's passes
alone read 153 rows right, ru-normalizr alone (its "tts" profile) 136, the combination 164; the
6 rows it still misses are marked there as known failures with the reason. ru-normalizr alone
loses on date and number case ("Сегодня 1 сентября" -> "первого"), money, times, Latin words and
phone numbers and takes about 2.7 ms a sentence against about 0.4 ms here; the combination costs
the same 0.4 ms on a typical sentence and about 3 ms on one that needs ru-normalizr. The package
is imported on first use (about 0.3 s once; :func:`warm_up` does it ahead of time). All passes are
pure functions over module constants and ru-normalizr keeps its per-call state in context
variables, so ``normalize_for_speech`` is safe to call from several threads.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ai_pipeline.text import lexicon as lx
from ai_pipeline.text.markup import speak_links, strip_emoji, strip_markdown
from ai_pipeline.text.numbers import expand_numbers

_ABBREVIATIONS = tuple((re.compile(p, re.IGNORECASE), r) for p, r in lx.ABBREVIATIONS)
_BARE_UNITS = tuple((re.compile(p), r) for p, r in lx.BARE_UNITS)
_ACRONYM = re.compile(r"\b[А-ЯЁ]{2,}\b")
_LATIN_WORD = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(re.escape(w) for w in sorted(lx.LATIN_WORDS, key=len, reverse=True)) + r")(?![A-Za-z])",
    re.IGNORECASE,
)
_LATIN_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z]{2,5}(?![A-Za-z])")
_ROMAN_NUMERAL = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_VULGAR_FRACTION = re.compile("[" + "".join(lx.VULGAR_FRACTIONS) + "]")
# Spans handed to ru-normalizr: a Roman numeral token, a proper fraction "3/4".
_ROMAN_TOKEN = re.compile(r"(?<![A-Za-z])[IVXLC]+(?![A-Za-z])")
_FRACTION = re.compile(r"(?<![\d/.,])(\d{1,3})/(\d{1,3})(?![\d/])")

# Punctuation passes, in order.
_PUNCTUATION: tuple[tuple[str, str], ...] = (
    (r"…|\.{3,}", "..."),
    (r"[«»„“”‟\"″‹›]", " "),  # double quotes
    (r"(?<![^\W\d_])['‘’‚′`]|['‘’‚′`](?![^\W\d_])", " "),  # single quotes, not apostrophes in words
    (r"[’‘]", "'"),
    (r"(?m)^\s*[-–—―]+\s*", ""),  # dialogue dash at a line start
    (r"\s*[–—―‒]\s*|\s+-+\s+|\s+-(?=\w)|(?<=\w)-\s+", ", "),  # dashes -> pause
    (r"\s*[(\[{]\s*", ", "),
    (r"\s*[)\]}]", ","),
    (r"[^\w\s.,!?;:'-]", " "),  # anything else unspeakable (\w keeps letters of every script)
    (r"_", " "),
    (r"\s+", " "),
    (r"\s+([.,!?;:])", r"\1"),
    (r"([!?])[!?.]*", r"\1"),
    (r"(?<!\.)\.\.(?!\.)", "."),
    (r",[,;:\s]*(?=[,.!?;:])|(?<=[.!?;:])[,\s]*,", ""),  # a comma next to a stronger mark
    (r"([,;:])(?=\w)", r"\1 "),
    (r"^[\s,.;:!?]+", ""),
    (r"[\s,;:]+$", ""),
)


def _spell_acronym(m: re.Match[str]) -> str:
    word = m.group(0)
    if word in lx.ACRONYMS:
        return lx.ACRONYMS[word]
    if any(ch in lx.CYRILLIC_VOWELS for ch in word):
        return word.lower()  # "ООН", "ВУЗ" are read as words
    return " ".join(lx.LETTER_NAMES[ch] for ch in word)


def _spell_latin_acronym(m: re.Match[str]) -> str:
    word = m.group(0)
    if _ROMAN_NUMERAL.fullmatch(word):  # "XL", "MIX": left to the engine
        return word
    return " ".join(lx.LATIN_LETTER_NAMES[ch] for ch in word)


_ru_lock = threading.Lock()
_ru_normalizer: Any = None


def _ru() -> Any:
    """The shared ru-normalizr ``Normalizer`` (imported on first use: about 0.4 s)."""
    global _ru_normalizer
    if _ru_normalizer is None:
        with _ru_lock:
            if _ru_normalizer is None:
                from ru_normalizr import NormalizeOptions, Normalizer

                _ru_normalizer = Normalizer(NormalizeOptions.safe())
    return _ru_normalizer


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _ru_fraction(m: re.Match[str]) -> str:
    numerator, denominator = int(m.group(1)), int(m.group(2))
    if not 0 < numerator < denominator <= 100:  # "24/7", "50/50" are not fractions
        return m.group(0)
    spoken = _ru().run_stage("numerals", m.group(0))
    return m.group(0) if _digits(spoken) else spoken


def _ru_normalizr_passes(text: str) -> str:
    """Where ru-normalizr reads better than the project's tables: Roman numerals in context
    ("Пётр I", "при Николае II", "XX в.") and proper fractions ("3/4" -> "три четвёртых")."""
    if _ROMAN_TOKEN.search(text):
        spoken = _ru().run_stage("roman", text)
        if _digits(spoken) == _digits(text):  # it rewrote "XL" or "MIX" as digits: keep the original
            text = spoken
    return _FRACTION.sub(_ru_fraction, text) if "/" in text else text


def _apply(text: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, replacement in table:
        text = pattern.sub(replacement, text)
    return text


def _normalize(text: str, use_ru_normalizr: bool) -> str:
    text = speak_links(strip_markdown(text))
    if use_ru_normalizr:
        text = _ru_normalizr_passes(text)
    text = _LATIN_WORD.sub(lambda m: lx.LATIN_WORDS[m.group(0).lower()], text)
    text = _VULGAR_FRACTION.sub(lambda m: f" {lx.VULGAR_FRACTIONS[m.group(0)]} ", text)
    text = expand_numbers(_apply(text, _ABBREVIATIONS))
    text = _apply(strip_emoji(text), _BARE_UNITS)
    text = _ACRONYM.sub(_spell_acronym, text)
    text = _LATIN_ACRONYM.sub(_spell_latin_acronym, text)
    text = "".join(lx.SYMBOL_WORDS.get(ch, ch) for ch in text)
    for pattern, replacement in _PUNCTUATION:
        text = re.sub(pattern, replacement, text)
    return text.strip()


def normalize_for_speech(text: str) -> str:
    """Return ``text`` rewritten for a Russian synthesiser (may be "" if nothing is speakable)."""
    return _normalize(text, use_ru_normalizr=True)


def warm_up() -> None:
    """Import ru-normalizr and load its dictionaries now rather than during the first reply."""
    _ru().run_stage("roman", "Пётр I")


def normalize_project_only(text: str) -> str:
    """The project's own passes without ru-normalizr (compared on the case table)."""
    return _normalize(text, use_ru_normalizr=False)


def normalize_ru_normalizr_only(text: str) -> str:
    """ru-normalizr 1.3.0 alone in its "tts" profile (compared on the case table)."""
    global _ru_tts
    if _ru_tts is None:
        from ru_normalizr import NormalizeOptions, Normalizer

        _ru_tts = Normalizer(NormalizeOptions.tts())
    return _ru_tts.normalize(text)


_ru_tts: Any = None


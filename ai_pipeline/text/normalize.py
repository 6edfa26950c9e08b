"""Turn written Russian (chat replies, markdown, numbers, abbreviations) into speakable text.

``normalize_for_speech`` runs a fixed sequence of small passes; each is a table or a regex:

1. markdown, HTML, URLs and e-mails (:mod:`ai_pipeline.text.markup`);
2. abbreviations that do not depend on a number ("т.е." -> "то есть");
3. numbers with their units, dates, times, money and ordinals (:mod:`ai_pipeline.text.numbers`);
4. emoji and pictographs, leftover unit abbreviations, acronyms spelled letter by letter ("РФ");
5. punctuation: dashes become a comma pause, quotes and brackets go, ellipsis stays a pause,
   symbols a synthesiser cannot read are dropped, whitespace is collapsed.

Latin words are left as they are; each engine decides how to read them.
"""

from __future__ import annotations

import re

from ai_pipeline.text import lexicon as lx
from ai_pipeline.text.markup import speak_links, strip_emoji, strip_markdown
from ai_pipeline.text.numbers import expand_numbers

_ABBREVIATIONS = tuple((re.compile(p, re.IGNORECASE), r) for p, r in lx.ABBREVIATIONS)
_BARE_UNITS = tuple((re.compile(p), r) for p, r in lx.BARE_UNITS)
_ACRONYM = re.compile(r"\b[А-ЯЁ]{2,}\b")

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


def _apply(text: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, replacement in table:
        text = pattern.sub(replacement, text)
    return text


def normalize_for_speech(text: str) -> str:
    """Return ``text`` rewritten for a Russian synthesiser (may be "" if nothing is speakable)."""
    text = speak_links(strip_markdown(text))
    text = expand_numbers(_apply(text, _ABBREVIATIONS))
    text = _apply(strip_emoji(text), _BARE_UNITS)
    text = _ACRONYM.sub(_spell_acronym, text)
    text = "".join(lx.SYMBOL_WORDS.get(ch, ch) for ch in text)
    for pattern, replacement in _PUNCTUATION:
        text = re.sub(pattern, replacement, text)
    return text.strip()

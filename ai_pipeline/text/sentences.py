"""Split text into sentences small enough to synthesise one at a time.

Paragraphs, markdown headings and list items are split first (they often lack a full stop), then
``razdel.sentenize`` finds sentence ends (it knows "т. е.", "г.", "3.5" and initials). A sentence
longer than ``max_chars`` is cut at the strongest clause boundary that fits: ``;`` then ``:`` then
``,`` or a dash, then before a conjunction, then at a space - never inside a number.
"""

from __future__ import annotations

import re

from razdel import sentenize

_HEADING = re.compile(r"^\s*#{1,6}\s")
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|>)")
_MIN_PIECE = 0.3  # a cut is not made before this share of max_chars

# Clause boundaries, strongest first. Each match position is where the second piece starts.
_BOUNDARIES = (
    re.compile(r"(?<=;)\s+"),
    re.compile(r"(?<=:)\s+"),
    re.compile(r"(?<=,)\s+|\s+(?=[—–]\s)|(?<=\s[—–])\s+"),
    re.compile(r"\s+(?=(?:и|а|но|или|либо|что|чтобы|потому|поэтому|однако|если|когда|который|которая|"
               r"которое|которые|где|хотя|зато|также|then|and|but)\s)", re.IGNORECASE),
    re.compile(r"(?<!\d)\s+|\s+(?!\d)"),
)


def _blocks(text: str) -> list[str]:
    """Paragraphs, with every heading or list-item line made a block of its own."""
    blocks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for line in paragraph.splitlines():
            if _BLOCK_START.match(line) and current:
                blocks.append("\n".join(current))
                current = []
            if _HEADING.match(line):
                blocks.append(line)
            else:
                current.append(line)
        if current:
            blocks.append("\n".join(current))
    return [b for b in blocks if b.strip()]


def _cut_point(sentence: str, max_chars: int) -> int:
    """Where to cut an overlong sentence: the last strongest boundary that fits, else a hard limit."""
    lowest = int(max_chars * _MIN_PIECE)
    for boundary in _BOUNDARIES:
        cuts = [m.start() for m in boundary.finditer(sentence, 0, max_chars + 1) if lowest <= m.start() <= max_chars]
        if cuts:
            return cuts[-1]
    match = re.search(r"\s", sentence[max_chars:])  # one huge token: cut after it
    return max_chars + match.start() if match else len(sentence)


def _split_long(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    while len(sentence) > max_chars:
        cut = _cut_point(sentence, max_chars)
        head, sentence = sentence[:cut].strip(), sentence[cut:].strip()
        if head:
            pieces.append(head)
    if sentence:
        pieces.append(sentence)
    return pieces


def split_sentences(text: str, max_chars: int = 220) -> list[str]:
    """Split ``text`` into sentences of at most about ``max_chars`` characters, whitespace collapsed."""
    sentences: list[str] = []
    for block in _blocks(text):
        for sentence in sentenize(block):
            clean = " ".join(sentence.text.split())
            if clean:
                sentences.extend(_split_long(clean, max_chars))
    return sentences

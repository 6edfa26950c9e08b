"""Remove what is written but not spoken: markdown, HTML tags, URLs, e-mail addresses, emoji."""

from __future__ import annotations

import re
import unicodedata

_LINE_END_PUNCT = ".!?…:;,"

# (pattern, replacement) applied in order; patterns are multiline so ^/$ match per line.
_MARKDOWN: tuple[tuple[str, str], ...] = (
    (r"^\s*```[\w+-]*\s*$", ""),  # code fences (the code itself is kept)
    (r"!\[([^\]]*)\]\([^)]*\)", r"\1"),  # images -> alt text
    (r"\[([^\]]+)\]\([^)]*\)", r"\1"),  # links -> link text
    (r"\[([^\]]+)\]\[[^\]]*\]", r"\1"),  # reference links
    (r"^\s*\[[^\]]+\]:\s*\S+.*$", ""),  # reference definitions
    (r"</?[a-zA-Z][^>\n]*>", " "),  # HTML tags
    (r"^\s*(?:[-*_]\s*){3,}$", ""),  # horizontal rules
    (r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$", ""),  # table separator rows
    (r"^\s{0,3}>\s?", ""),  # block quotes
    (r"(\*\*|__|~~)(.+?)\1", r"\2"),  # bold, strikethrough
    (r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1"),  # *italic*
    (r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)", r"\1"),  # _italic_
    (r"`+", ""),  # inline code
)

_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>()\[\]\"«»]+[^\s<>()\[\]\"«».,;:!?]", re.IGNORECASE)
_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_BARE_DOMAIN = re.compile(r"\b((?:[a-z0-9-]+\.)+(?:ru|рф|com|org|net|io|ai|dev|su|info|me|app))\b", re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•▪◦‣]|\d{1,3}[.)])\s+(.*)$", re.MULTILINE)

# Dropped silently: modifiers and skin tones, joiners and tags, variation selectors and stress
# marks, keycaps, surrogates, private and unassigned code points. "So" (emoji, pictographs) -> space.
_DROPPED_CATEGORIES = frozenset({"Sk", "Cf", "Cs", "Co", "Cn", "Mn", "Me"})


def _end_line(m: re.Match[str]) -> str:
    """Give a heading or list item a sentence end so it is spoken as its own phrase."""
    body = m.group(1).rstrip()
    return body if not body or body[-1] in _LINE_END_PUNCT else body + "."


def _speak_domain(domain: str) -> str:
    return " точка ".join(part for part in domain.lower().split(".") if part)


def _speak_url(m: re.Match[str]) -> str:
    host = re.sub(r"^(?:https?://|ftp://)?(?:www\.)?", "", m.group(0), flags=re.IGNORECASE)
    host = re.split(r"[/?#:]", host, maxsplit=1)[0]
    return " " + _speak_domain(host) + " "


def strip_markdown(text: str) -> str:
    """Drop markdown markup, keeping the words (link text, emphasised text, headings, list items)."""
    text = _HEADING.sub(_end_line, text)
    text = _LIST_ITEM.sub(_end_line, text)
    for pattern, replacement in _MARKDOWN:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    text = re.sub(r"^\s*\|(.*)\|\s*$", lambda m: m.group(1).replace("|", ",") + ".", text, flags=re.MULTILINE)
    return text.replace("|", ",")


def speak_links(text: str) -> str:
    """Replace URLs and e-mail addresses by their spoken host ("ya.ru" -> "ya точка ru")."""
    text = _URL.sub(_speak_url, text)
    text = _EMAIL.sub(lambda m: f" {_speak_domain(m.group(1))} собака {_speak_domain(m.group(2))} ", text)
    return _BARE_DOMAIN.sub(lambda m: _speak_domain(m.group(1)), text)


def strip_emoji(text: str) -> str:
    """Remove emoji, pictographs and other invisible or symbol-only characters (NFC first)."""
    kept = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category == "So":
            kept.append(" ")
        elif category not in _DROPPED_CATEGORIES:
            kept.append(ch)
    return "".join(kept)

"""The summary of folded turns, written by the LLM: the request it is given and the checks its text must pass.

When old turns are folded out of the prompt, the LLM writes a short Russian note about them in the
third person (what the user told about themself, what was talked about, what the persona promised),
which is appended to the rolling summary (``append_summary``). Each part covers only the turns folded
then: a 1.5B model asked to rewrite the previous note together with new turns drops the older details
(measured with ``scripts/bench.py brain``), so the older parts are kept as written. The request is a small prompt of its own, not
the persona's: a 1.5B model asked inside its character answers in character instead of summing up.
The reply is begun for it (``SummaryRequest.opening``, e.g. «Собеседника зовут Петя, ему 8 лет.»,
from the stored facts), which keeps it in the third person and keeps the model from mixing up who is
who (asked to name the user's age, it gave the persona's).

``accept_summary`` guards the result before it is stored: Cyrillic only, no lists or markup, a length
cap at a sentence boundary, and nothing checkable that is not in the input (every number, and every
capitalised name inside a sentence, must occur in the turns or the facts it was given). A text that fails
is dropped and the extractive summary (first sentences) is used instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.text.numwords import plural_form

SUMMARY_TOKENS = 140  # most tokens the LLM may write for one summary
SUMMARY_MAX_CHARS = 360  # one part of the summary is cut to whole sentences within this
ROLLING_MAX_CHARS = 760  # the rolling summary keeps its first and newest parts within this
MIN_CHARS = 20
TURN_CHARS = 300  # each folded message is quoted up to this many characters
CYRILLIC_SHARE = 0.9
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s*", re.MULTILINE)
_MARKUP = re.compile(r"[*_`#<>{}\[\]|\\]")
_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"[А-ЯЁа-яёA-Za-z]+")
# capitalised words that may start a clause or name roles without being facts from the input
_COMMON = {"Собеседник", "Собеседника", "Собеседнику", "Собеседником", "Собеседнике", "Он", "Она", "Они", "Его", "Её",
           "Ее", "Ему", "Ей", "Им", "Их", "Мы", "Также", "Ещё", "Еще", "Потом", "Затем", "Кроме", "Раньше",
           "Сначала", "Позже", "В", "На", "О", "Об", "А", "И", "Но", "Что", "Как", "Когда", "Разговор"}


@dataclass(frozen=True)
class SummaryRequest:
    """What the LLM is asked, and what its answer is checked against.

    ``messages`` end with the reply's opening (an assistant message the LLM continues where it can);
    ``opening`` is that text, to be put in front of what the LLM writes; ``source`` is all the text the
    summary may draw on; ``previous`` the rolling summary the new part goes after."""

    messages: list[ChatMessage]
    opening: str
    source: str
    previous: str | None = None


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TURN_CHARS else text[: TURN_CHARS - 1] + "…"


def summary_request(persona_name: str, persona_age: int, turns: Sequence[ChatMessage], *, previous: str | None = None,
                    user_name: str | None = None, user_age: str | None = None, continues: bool = True,
                    female: bool = True) -> SummaryRequest:
    """The request to sum up ``turns`` (oldest first), the next part of the rolling summary.

    ``user_name``, ``user_age``: what is known of the user (stored facts): the first part starts with
    them, written for the model, so it cannot mix up who is who or whose age is whose; ``previous``: the
    rolling summary so far (then the part starts «Потом они»; it is not shown to the model); ``continues``: the engine continues a
    begun reply (else the opening is left out); ``female``: the persona's grammatical gender."""
    speaker = user_name or "Собеседник"
    lines = [f"{persona_name if m.role == 'assistant' else speaker}: {_quote(m.content)}"
             for m in turns if m.role in ("user", "assistant") and m.content.strip()]
    transcript = "\n".join(lines)
    system = (f"Ты ведёшь короткую памятку о разговорах персонажа по имени {persona_name} "
              f"({persona_age} {plural_form(persona_age, ('год', 'года', 'лет'))}) "
              "с собеседником. Пиши по-русски, в третьем лице, обычными предложениями, без списков. Только то, "
              "что сказано в разговоре, ничего не выдумывай.")
    promised = "пообещала" if female else "пообещал"
    ask = (f"Разговор:\n\n{transcript}\n\nНапиши памятку в 2-4 предложениях: что собеседник рассказал о себе "
           f"(семья, питомцы, где был и что делал, что любит), о чём говорили и что {persona_name} {promised} "
           f"(если обещал{'а' if female else ''}).")
    known = [f"Собеседника зовут {user_name}" if user_name else "",
             f"ему {user_age} {plural_form(int(user_age), ('год', 'года', 'лет'))}"
             if user_age and user_age.isdigit() else ""]
    opening = "Потом они" if previous else ", ".join(filter(None, known)) + "." if any(known) else "Собеседник"
    messages = [ChatMessage("system", system), ChatMessage("user", ask)]
    if continues:
        messages.append(ChatMessage("assistant", opening))
    return SummaryRequest(messages, opening if continues else "", f"{persona_name} {opening}\n{transcript}", previous)


def append_summary(previous: str | None, part: str, max_chars: int) -> str:
    """The rolling summary with ``part`` on a line after ``previous``. When the whole is longer than
    ``max_chars``, the parts between the first (who the user is: told when they meet) and the newest go,
    oldest first; then the first part's end."""
    parts = [line for line in (previous or "").split("\n") if line.strip()] + [part]
    while len(parts) > 2 and len("\n".join(parts)) > max_chars:
        parts.pop(1)
    if len(parts) == 2 and len("\n".join(parts)) > max_chars:
        room = max(0, max_chars - len(parts[1]) - 2)
        parts[0] = parts[0][:room].rsplit(" ", 1)[0] + "…" if room else ""
    return "\n".join(p for p in parts if p)[-max_chars:]


def _root(word: str) -> str:
    return word.lower()[: max(2, len(word) - 2)]


def _known(word: str, source: str) -> bool:
    """``word`` occurs in ``source``, maybe in another case (Аня, Аной, Ане: one root, the ending differs)."""
    root = _root(word)
    return any(other.lower().startswith(root) or root.startswith(_root(other)) and len(other) > 2
               for other in _WORD.findall(source))


def accept_summary(text: str, source: str, max_chars: int = SUMMARY_MAX_CHARS) -> str | None:
    """``text`` cleaned up and cut to whole sentences within ``max_chars``, or None when it fails a check
    (not Russian, too short, or a number or name that the ``source`` does not hold)."""
    text = _LIST_MARK.sub("", text)
    text = " ".join(_MARKUP.sub("", text).split())
    if len(text) > max_chars:
        kept = ""
        for sentence in _SENTENCE_END.split(text):
            if len(kept) + len(sentence) + 1 > max_chars:
                break
            kept = f"{kept} {sentence}".strip()
        text = kept
    elif text and text[-1] not in ".!?…":  # cut off by the token limit: the unfinished sentence goes
        sentences = _SENTENCE_END.split(text)
        text = " ".join(sentences[:-1]) if len(sentences) > 1 else text + "."
    letters = [c for c in text if c.isalpha()]
    if len(text) < MIN_CHARS or not letters:
        return None
    if sum("а" <= c.lower() <= "я" or c.lower() == "ё" for c in letters) / len(letters) < CYRILLIC_SHARE:
        return None
    if any(number not in source for number in _NUMBER.findall(text)):
        return None
    for sentence in _SENTENCE_END.split(text):
        for word in _WORD.findall(sentence)[1:]:  # a sentence's first word is capitalised anyway
            if word[0].isupper() and word not in _COMMON and not _known(word, source):
                return None
    return text

"""A short opener the avatar can say at once while the model works on the rest of its reply.

A person asked a question often starts with «Так,» or «Хороший вопрос!» before the answer itself. The
live conversation does the same: the opener is spoken the moment the user's turn ends, and the LLM
continues *after* it (it is the start of the assistant's message), so the reply reads as one.

Only questions get an opener: a greeting or something the user tells about themselves is answered
directly (an opener there would sound inattentive). "Why" and "how" questions get a sentence that
buys more time; other questions a one-word start. Openers rotate: never the same twice in a row.
Openers are chosen for how RHVoice and Festival say them («Хм» is spelled out letter by letter).

In the prompt's history an earlier reply appears without its opener (:func:`without_opener`): a small
model shown many replies that begin alike starts copying them whole.
"""

from __future__ import annotations

import re
import zlib

WHY = ("Хороший вопрос!", "Интересный вопрос!", "Дай подумать.")
OTHER = ("Так,", "Ну,")

_WHY_WORDS = re.compile(r"\b(почему|зачем|отчего|как\s+(так|это|же)|каким\s+образом)\b", re.IGNORECASE)
_QUESTION_WORDS = re.compile(
    r"^\W*(а\s+|и\s+|ну\s+)?(кто|что|чем|чего|какой|какая|какое|какие|каких|где|куда|откуда|когда|сколько|"
    r"почему|зачем|как|ли|можно|правда|расскажи|объясни)\b", re.IGNORECASE)
_GREETING = re.compile(r"^\W*(привет|здравствуй|здравствуйте|добрый\s+(день|вечер)|доброе\s+утро|пока|спасибо)\b",
                       re.IGNORECASE)


def is_question(text: str) -> bool:
    """Whether ``text`` asks something (a question mark, or an opening question word)."""
    text = text.strip()
    return bool(text) and (text.endswith("?") or bool(_QUESTION_WORDS.match(text)))


def choose_opener(text: str, last: str | None = None) -> str | None:
    """The opener for a reply to ``text`` (None: answer directly), never ``last`` again. The choice
    depends only on the text and ``last``, so a reply begun ahead on a speculative transcript and
    the turn that confirms it pick the same opener."""
    words = text.strip()
    if not is_question(words) or _GREETING.match(words):
        return None
    pool = [o for o in (WHY if _WHY_WORDS.search(words) else OTHER) if o != last]
    return pool[zlib.crc32(words.lower().encode()) % len(pool)]


def without_opener(text: str) -> str:
    """``text`` without an opener at its start (the rest capitalised), as the history shows it."""
    for opener in (*WHY, *OTHER):
        if text.startswith(opener):
            rest = text[len(opener):].lstrip()
            return rest[:1].upper() + rest[1:] if rest else text
    return text

"""A short opener the avatar can say at once while the model works on the rest of its reply.

A person who is asked something often starts with «Так,» or «Хороший вопрос!», and one who is told
something with «Ага,» or «Ох,», before the answer itself. The live conversation does the same: the
opener is spoken the moment the user's turn ends, and the LLM continues *after* it (it is the start
of the assistant's message), so the reply reads as one.

* "why" and "how" questions get a sentence that buys more time, other questions a one-word start;
* something the user tells gets an acknowledgement that fits its tone, read from the words by the
  lexicon emotion engine: «Ох,» to a sad or scared one, «Здорово!» to a happy one, «Ага,» otherwise;
* a greeting, a thank-you or a goodbye is answered directly (an opener there sounds inattentive), and
  so is a request that may have to be refused (:data:`~ai_pipeline.text.guard.UNSAFE_ASK`): «Здорово!»
  or «Так,» before «нет» would sound like agreement.

Openers rotate: never the same twice in a row. They are chosen for how RHVoice and Festival say them
and were checked by ear through Whisper: «Хм» is spelled out letter by letter, «Ого» is heard as
«А вот», so neither is used.

In the prompt's history an earlier reply appears without its opener (:func:`without_opener`): a small
model shown many replies that begin alike starts copying them whole.
"""

from __future__ import annotations

import re
import zlib

from ai_pipeline.emotion.lexicon import LexiconEmotion
from ai_pipeline.text.guard import UNSAFE_ASK

WHY = ("Хороший вопрос!", "Интересный вопрос!", "Дай подумать.")
OTHER = ("Так,", "Ну,")
SORRY = ("Ох,", "Понимаю.")  # told something sad, scary or annoying
GLAD = ("Здорово!", "Ух ты!")  # told something happy, surprising or exclaimed
NOTED = ("Ага,", "Вот как!")  # told something plain
ALL = (*WHY, *OTHER, *SORRY, *GLAD, *NOTED)

_TONE = {"sad": SORRY, "scared": SORRY, "angry": SORRY, "happy": GLAD, "surprised": GLAD}
_WHY_WORDS = re.compile(r"\b(почему|зачем|отчего|как\s+(так|это|же)|каким\s+образом)\b", re.IGNORECASE)
_QUESTION_WORDS = re.compile(
    r"^\W*(а\s+|и\s+|ну\s+|но\s+)?(кто|что|чем|чего|какой|какая|какое|какие|каких|где|куда|откуда|когда|сколько|"
    r"почему|зачем|как|ли|можно|правда|разве|неужели|верно|расскажи|объясни|"
    r"напиши|покажи|помоги|придумай|сделай|спой|скажи|посчитай|нарисуй|научи|давай|угадай|прочитай|"
    r"загадай|дай|найди|реши|переведи|сочини|поиграй|представь)\b"
    r"|^\W*[\w-]+\s+ли\b", re.IGNORECASE)  # "Можно ли...", "Правда ли..."
_GREETING = re.compile(r"^\W*(привет|здравствуй|здравствуйте|добрый\s+(день|вечер)|доброе\s+утро|пока|"
                       r"спасибо|до\s+свидания)\b", re.IGNORECASE)
_emotion: LexiconEmotion | None = None


def is_question(text: str) -> bool:
    """Whether ``text`` asks something (a question mark, an opening question word, or a request:
    «Напиши…», «Давай…»)."""
    text = text.strip()
    return bool(text) and (text.endswith("?") or bool(_QUESTION_WORDS.search(text)))


def _pool(text: str) -> tuple[str, ...]:
    global _emotion
    if is_question(text):
        return WHY if _WHY_WORDS.search(text) else OTHER
    _emotion = _emotion or LexiconEmotion()  # word lists only: instant, nothing to load
    tone = _TONE.get(_emotion.classify(text).label)
    return tone or (GLAD if text.endswith("!") else NOTED)


def choose_opener(text: str, last: str | None = None) -> str | None:
    """The opener for a reply to ``text`` (None: answer directly), never ``last`` again. The choice
    depends only on the text and ``last``, so a reply begun ahead on a speculative transcript and
    the turn that confirms it pick the same opener."""
    words = text.strip()
    if not words or _GREETING.match(words) or UNSAFE_ASK.search(words):
        return None
    pool = [o for o in _pool(words) if o != last]
    return pool[zlib.crc32(words.lower().encode()) % len(pool)]


def without_opener(text: str) -> str:
    """``text`` without an opener at its start (the rest capitalised), as the history shows it."""
    for opener in ALL:
        if text.startswith(opener):
            rest = text[len(opener):].lstrip()
            return rest[:1].upper() + rest[1:] if rest else text
    return text

"""Cut a streamed LLM reply into speakable pieces while the tokens are still arriving.

:class:`ReplyChunker` is fed token text with :meth:`~ReplyChunker.push` and finished with
:meth:`~ReplyChunker.flush`. Every :class:`ReplyChunk` carries the original ``text`` (markdown and
emoji kept, for the chat) and the ``speech`` a synthesiser should say
(:func:`~ai_pipeline.text.normalize_for_speech` of that text; never empty).

Where a cut may fall (a *boundary*), and of which strength:

* sentence: ``.`` ``!`` ``?`` ``…`` ``...`` (and runs such as ``?!`` or ``!..``), followed by
  whitespace and then anything but a lowercase letter; a line break before a blank line, a
  list item, a heading or a capital letter; a ``!``/``?`` run before a lowercase letter is only
  a clause boundary;
* clause: ``,`` ``;`` ``:`` followed by whitespace, and a dash (``—``, ``–``, `` - ``) with
  whitespace on both sides that is neither a line-start list/dialogue dash nor a minus or a range
  between two numbers;
* phrase (the first piece only, when ``first_phrase_cut`` is on): the spaces before a word that
  opens a phrase (:data:`PHRASE_OPENERS`: conjunctions, relative words, ``который`` in any form,
  prepositions) once the piece has ``first_phrase_min_words`` words, and the spaces before any
  word once it has ``first_max_words`` words. The word must have arrived in full (a character
  after it), so ``в`` is never taken for the start of ``восемь``, nor ``из`` for ``из-за``. Never
  inside a quote, a bracket, code or markdown emphasis (an odd number of ``*``/``_``/``~`` runs
  before it); never next to a number (``мне 12 | лет``) or after a mark (``т. | к.``,
  ``ул. | Ленина``); never before an initial or an abbreviation (``поэт | А. С. Пушкин``,
  ``музей | им. Пушкина``); never after a word that needs the next one (:data:`DANGLING`:
  ``не | в``, ``потому | что``, ``так | как``, ``из-за | того``, ``вместе | с``); never between
  ``время``/``пор``/``раньше``/... and ``как``/``что``/``когда`` (``в то время | как``), nor
  between an adjective-looking word and ``и``/``или``/``либо`` (``тёплый | и солнечный``) or,
  for the ``first_max_words`` cut, any word (``солнечный | день``).

Closing quotes, brackets, markdown emphasis right after the mark, and emoji on the same line
after it, stay with the piece before the cut; the whitespace after the cut starts the next piece.

Never a boundary: a mark without whitespace after it (``3.14``, ``1,5``, ``12:30``, ``т.е.``,
``ya.ru``); a ``.`` or an ellipsis before a lowercase letter (``т. д. и``, ``см. ниже``,
``Ну... я``); a ``.`` after an initial (``А. С. Пушкин``), after an abbreviation that
introduces a name or a number (``ул.``, ``им.``, ``г. Москва``, ``стр. 5``), after ``т. е.``-like
pairs, after an abbreviation that may end a sentence (``и т. д.``, ``и др.``, ``2024 г.``,
``10 тыс.``) unless a capital letter follows, and after a list number (``1.`` at a line start);
any place where a quote, a bracket, an inline code span or a fenced code block is still open (a
blank line closes all but a code fence).
Numbers with spaces (``10 000``) contain no mark, so they are never cut.

When to cut (sizes are counted in characters of ``speech``): the first piece at the first boundary
of any strength (phrase included) once it has at least ``first_min_chars`` (latency matters most); later pieces at a
sentence boundary once they reach ``min_chars``. A piece that would grow past ``max_chars`` is cut
at its last earlier boundary of any strength if that piece is long enough (``first_min_chars``
for the first piece, ``min_chars`` after), else at the boundary where it went past. Text with no
boundary at all waits for :meth:`~ReplyChunker.flush`.

Every decision looks only at text that has already arrived, up to the first letter or digit after
the boundary (plus a few characters after a line break): a mark at the end of the buffer might
still be a decimal point or an abbreviation, so it waits. The result therefore does not depend on
how the stream was split into deltas.

Invariant: ``"".join(c.text for c in chunks) == "".join(deltas)`` exactly, for any reply with at
least one letter or digit: a piece ends right after its boundary and every cut is followed by
whitespace, which begins the next piece (so a chunk's text may start with a space or a newline).
A reply with nothing speakable at all (only emoji) gives no chunk; its text is kept in
:attr:`ReplyChunker.unspoken`. Emoji-only stretches inside a reply are merged into
a neighbouring piece (the one before on the same line, else the one after), never emitted alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache

from ai_pipeline.chunks import ReplyChunk, TokenChunk
from ai_pipeline.settings import ChunkerSettings
from ai_pipeline.text.normalize import normalize_for_speech

SENTENCE_MARKS = ".!?…"
CLAUSE_MARKS = ",;:"
DASHES = "—–-"
# Characters that close something right after a mark and stay with the piece before the cut.
CLOSERS = "»)]}“”\"*_~`"
_OPEN_CLOSE = {"«": "»", "(": ")", "[": "]", "{": "}", "„": "“”", "“": "”"}
_SYMBOL_CATEGORIES = frozenset({"So", "Cf", "Mn", "Me"})  # emoji, joiners, variation selectors

# Abbreviations that introduce a name or a number and so never end a sentence.
PREFIX_ABBREVIATIONS = frozenset(
    "ул просп пер пл наб им проф акад доц см ср стр рис табл гл напр ок обл корп кв ст св тов гр "
    "тел букв англ лат нем франц греч mr mrs ms dr st vs".split()
)
# Abbreviations that may end a sentence: a boundary only when a capital letter follows.
FINAL_ABBREVIATIONS = frozenset(
    "др пр тыс млн млрд трлн руб коп долл мин сек гг вв мес нед шт чел etc "
    "янв фев февр мар апр авг сент сен окт нояб ноя дек".split()
)
_BLOCK_START = re.compile(r"[ \t]*(?:#{1,6}\s|[-*+•—–]\s|\d{1,3}[.)]\s|>|\||```)")
_LIST_NUMBER = re.compile(r"[ \t]*\d{1,3}")
_TE_PAIR = re.compile(r"(?:^|[^\w])т\.\s?[екнч]$", re.IGNORECASE)  # т. е., т. к., т. н., в т. ч.
_YEAR_G = re.compile(r"\d\s?г$")
_LAST_WORD = re.compile(r"[^\W\d_]+$")
_TRIGGER = re.compile(r"[.!?…,;:\n—–-]")  # where a boundary may start
_BALANCE_TOKEN = re.compile(r'```|[`"«»()\[\]{}„“”]|(?<=\n)[ \t]*\n')

# Words that open a new phrase: the first piece may end at the spaces before one of them.
PHRASE_OPENERS = frozenset(
    "и а но или либо что чтобы чтоб потому поэтому когда если как где куда откуда почему зачем ведь "
    "хотя пока будто словно зато однако причём причем поскольку ибо потом затем "
    "в во на с со по для из изо из-за из-под у к ко о об обо про после перед передо без от до за под "
    "над через при между вокруг около возле среди вместо кроме ради благодаря вдоль сквозь против "
    "насчёт насчет".split()
)
_RELATIVE = re.compile(r"котор(?:ый|ая|ое|ые|ого|ой|ому|ом|ую|ым|ыми|ых)")
# Words that need the next word: a piece never ends with one ("не | в", "потому | что", "так | как").
DANGLING = PHRASE_OPENERS | frozenset(
    "не ни же ж бы б ли ль даже только лишь уже ещё еще вот вон именно почти так то того тем том тех "
    "такой такая такое такие оттого несмотря вместе рядом наряду независимо вплоть судя вслед "
    "навстречу согласно".split()
)
_PAIRED = frozenset("как что чтобы когда".split())  # "в то время | как", "с тех пор | как"
_PAIR_LEADERS = frozenset("время пор прежде раньше тогда также".split())
_COORDINATORS = frozenset("и или либо".split())  # "тёплый | и солнечный" would split a phrase
_ADJECTIVE = re.compile(r"\w{2,}(?:ый|ий|ой|ая|яя|ое|ее|ые|ие)")
_SPACES = re.compile(r"[ \t]+")
_WORD = re.compile(r"\w+(?:-\w+)*")
_EMPHASIS = re.compile(r"\*+|(?<!\w)_+|_+(?!\w)|~+")  # runs of markdown emphasis marks

SENTENCE, CLAUSE, LINE = "sentence", "clause", "line"
Candidate = tuple[int, str | None]  # (cut position, boundary kind or None when it is not one)


def is_symbol(ch: str) -> bool:
    """Emoji, pictographs and the invisible characters that glue them together."""
    return unicodedata.category(ch) in _SYMBOL_CATEGORIES or "\U0001f3fb" <= ch <= "\U0001f3ff"


@lru_cache(maxsize=4096)
def speech_for(text: str) -> str:
    """What a synthesiser says for ``text``; the bare words if normalisation dropped them all."""
    speech = normalize_for_speech(text)
    if not speech and any(ch.isalnum() for ch in text):
        speech = " ".join(re.findall(r"[^\W_]+", text))
    return speech


def _balance(text: str) -> list[bool]:
    """``ok[k]``: no quote, bracket or code span is open just before ``text[k]`` (k = 0..len)."""
    ok = [True] * (len(text) + 1)
    stack: list[str] = []
    since = 0  # where the current open/closed state began
    for match in _BALANCE_TOKEN.finditer(text):
        token, was_open = match.group(), bool(stack)
        code = was_open and stack[-1] in ("```", "`")
        if token.endswith("\n"):  # a blank line ends unclosed quotes, brackets and inline code
            stack = [s for s in stack if s == "```"]
        elif token == "```":
            if stack and stack[-1] == "```":
                stack.pop()
            elif not code:
                stack.append(token)
        elif code:
            if token == "`" and stack[-1] == "`":
                stack.pop()
        elif token in "`\"" and stack and stack[-1] == token:
            stack.pop()
        elif token in "`\"":
            stack.append(token)
        elif stack and token in _OPEN_CLOSE.get(stack[-1], ""):
            stack.pop()
        elif token in _OPEN_CLOSE:
            stack.append(token)
        if bool(stack) != was_open:
            if was_open:
                ok[since + 1:match.start() + 1] = [False] * (match.start() - since)
            since = match.start()
    if stack:
        ok[since + 1:] = [False] * (len(text) - since)
    return ok


def _next_alnum(text: str, start: int) -> int | None:
    for k in range(start, len(text)):
        if text[k].isalnum():
            return k
    return None


def _period_kind(text: str, i: int, nxt: str) -> str | None:
    """A single ``.`` at ``text[i]`` followed by whitespace and ``nxt`` (not lowercase)."""
    before = text[max(0, i - 40):i]  # a window: words and abbreviations are short
    line_start = text.rfind("\n", 0, i) + 1
    if _LIST_NUMBER.fullmatch(text, line_start, i) or _TE_PAIR.search(text[max(0, i - 6):i]):
        return None
    match = _LAST_WORD.search(before)
    if not match:
        return SENTENCE
    word = match.group(0)
    low = word.lower()
    if (len(word) == 1 and word.isupper()) or low in PREFIX_ABBREVIATIONS:
        return None  # an initial, or "ул. Ленина"
    if low == "г" and not _YEAR_G.search(before):
        return None  # "г. Москва" (a year "2024 г." may end a sentence)
    if len(word) == 1 or low in FINAL_ABBREVIATIONS:
        return SENTENCE if nxt.isupper() else None
    return SENTENCE


def _mark(text: str, i: int, j: int, ok: list[bool], final: bool) -> Candidate | None:
    """The punctuation run ``text[i:j]``; None while the text after it has not arrived."""
    n = len(text)
    k = j
    while k < n and text[k] in CLOSERS:
        k += 1
    cut, m = k, k
    while m < n and (text[m] in " \t" or is_symbol(text[m])):  # emoji on the same line join in
        m += 1
        if is_symbol(text[m - 1]):
            cut = m
    nxt = _next_alnum(text, cut)
    if nxt is None:
        return (cut, None) if final else None
    if not text[cut].isspace():
        cut = k  # "Да! 😊Нет": cut before the emoji instead
        if not text[cut].isspace():
            return cut, None  # "3.14", "т.е.", "1,5"
    marks, c = text[i:j], text[nxt]
    if marks in CLAUSE_MARKS:
        kind: str | None = CLAUSE
    elif "!" in marks or "?" in marks:
        kind = CLAUSE if c.islower() else SENTENCE
    elif c.islower():
        kind = None  # "т. д. и", "см. ниже", "Ну... я"
    elif marks == ".":
        kind = _period_kind(text, i, c)
    else:
        kind = SENTENCE  # an ellipsis before a capital letter
    return cut, kind if ok[cut] else None


def _dash(text: str, i: int, j: int, ok: list[bool], final: bool) -> Candidate | None:
    """A dash run ``text[i:j]`` that has whitespace before it (checked by the caller)."""
    if j >= len(text):
        return (j, None) if final else None
    if text[j] not in " \t\n":
        return j, None  # "-5", "из-за"
    k = i
    while k > 0 and text[k - 1] in " \t":
        k -= 1
    nxt = _next_alnum(text, j)
    if nxt is None:
        return (j, None) if final else None
    if k == 0 or text[k - 1] == "\n":
        return j, None  # a list item or a dialogue dash at a line start
    if text[k - 1].isdigit() and text[nxt].isdigit() and not text[j:nxt].strip():
        return j, None  # "10 - 5", "1941 – 1945"
    return j, CLAUSE if ok[j] else None


def _line(text: str, i: int, ok: list[bool], final: bool) -> Candidate | None:
    """A line break at ``text[i]`` after a line that is not blank."""
    line_start = text.rfind("\n", 0, i) + 1
    line = text[line_start:i]
    cut = line_start + len(line.rstrip())
    nxt = _next_alnum(text, i + 1)
    if nxt is None or (nxt + 4 >= len(text) and not final):  # "1. " list numbers need a look
        return (cut, None) if final else None
    k = i + 1
    while text[k] in " \t":
        k += 1
    blank = text[k] == "\n"
    if blank or _BLOCK_START.match(text, i + 1) or _BLOCK_START.match(line) or not text[nxt].islower():
        return cut, LINE if ok[cut] else None
    return cut, None


def boundaries(text: str, final: bool, *, stop: int | None = None,
               ok: list[bool] | None = None) -> Iterator[Candidate | None]:
    """Every punctuation or line candidate cut in ``text`` in order (those that start before
    ``stop``); yields None and stops where more text is needed."""
    ok = _balance(text) if ok is None else ok
    i, n = 0, len(text)
    while (trigger := _TRIGGER.search(text, i)) is not None:
        i = trigger.start()
        if stop is not None and i >= stop:
            return
        ch = text[i]
        j = i + 1
        if ch in SENTENCE_MARKS or ch in CLAUSE_MARKS:
            while ch in SENTENCE_MARKS and j < n and text[j] in SENTENCE_MARKS:
                j += 1
            found = _mark(text, i, j, ok, final)
        elif ch in DASHES and i > 0 and text[i - 1] in " \t":
            while j < n and text[j] in DASHES:
                j += 1
            found = _dash(text, i, j, ok, final)
        elif ch == "\n" and text[text.rfind("\n", 0, i) + 1:i].strip():
            found = _line(text, i, ok, final)
        else:
            i += 1
            continue
        yield found
        if found is None:
            return
        i = j


def _phrase_cut_allowed(text: str, start: int, word: re.Match[str], ok: list[bool],
                        settings: ChunkerSettings) -> bool:
    """May the first piece end at ``start``, the spaces before ``word`` (see the module docs)?"""
    if not ok[start] or not word.group()[0].isalpha():
        return False
    head = text[:start]
    if len(_EMPHASIS.findall(head)) % 2:
        return False  # inside markdown emphasis
    k = start
    while k > 0 and (text[k - 1] in CLOSERS or text[k - 1] in " \t" or is_symbol(text[k - 1])):
        k -= 1
    if k == 0 or not text[k - 1].isalpha():
        return False  # after a number, a mark ("т. | к.", "ул. | Ленина") or nothing
    last = _LAST_WORD.search(text, 0, k)
    before = last.group().lower() if last else ""
    after = word.group().lower()
    if before in DANGLING or _RELATIVE.fullmatch(before):
        return False
    if after in _PAIRED and before in _PAIR_LEADERS:
        return False
    if after in _COORDINATORS and _ADJECTIVE.fullmatch(before):
        return False
    if text[word.end()] == "." and (len(after) == 1 or after in PREFIX_ABBREVIATIONS or after in FINAL_ABBREVIATIONS):
        return False  # "поэт | А. С. Пушкин", "музей | им. Пушкина"
    words = sum(any(ch.isalnum() for ch in token) for token in head.split())
    opener = after in PHRASE_OPENERS or bool(_RELATIVE.fullmatch(after))
    if not (opener and words >= settings.first_phrase_min_words):
        if words < settings.first_max_words or _ADJECTIVE.fullmatch(before):
            return False  # too few words, or "солнечный | день"
    return len(speech_for(head)) >= settings.first_min_chars


def phrase_cut(text: str, settings: ChunkerSettings, ok: list[bool]) -> int | None:
    """The first word boundary where the first piece may end; None if none has arrived yet."""
    n = len(text)
    for spaces in _SPACES.finditer(text):
        word = _WORD.match(text, spaces.end())
        if word is None:
            continue
        end = word.end()
        if end == n or (text[end] == "-" and end + 1 == n):
            return None  # the word may go on ("в" -> "восемь", "из-" -> "из-за")
        if _phrase_cut_allowed(text, spaces.start(), word, ok, settings):
            return spaces.start()
    return None


def find_cut(text: str, settings: ChunkerSettings, *, first: bool, final: bool) -> int | None:
    """Where the next piece of ``text`` ends, or None while that is not yet decided."""
    previous: tuple[int, int] | None = None  # (cut, speech length) of the last boundary passed
    least = settings.first_min_chars if first else settings.min_chars
    ok = _balance(text)
    phrase = phrase_cut(text, settings, ok) if first and settings.first_phrase_cut else None
    for found in boundaries(text, final, stop=phrase, ok=ok):
        if found is None:
            return None
        cut, kind = found
        if kind is None:
            continue
        size = len(speech_for(text[:cut]))
        if not size:
            continue
        if size > settings.max_chars and previous and previous[1] >= least:
            return previous[0]
        if first and size >= settings.first_min_chars:
            return cut if phrase is None else min(cut, phrase)
        if not first and (size > settings.max_chars or (kind != CLAUSE and size >= settings.min_chars)):
            return cut
        previous = (cut, size)
    if phrase is not None:
        return phrase
    if not final:
        return None
    if previous and previous[1] >= least and len(speech_for(text)) > settings.max_chars:
        return previous[0]
    return len(text)


class ReplyChunker:
    """Streamed reply text in, speakable :class:`ReplyChunk` pieces out (see the module docs)."""

    def __init__(self, settings: ChunkerSettings | None = None) -> None:
        self.settings = settings or ChunkerSettings()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new reply, or barge-in dropped the old one)."""
        self._buffer = ""
        self._index = 0
        self.unspoken = ""  # a reply with nothing to say (only emoji): shown, never spoken

    def push(self, delta: str) -> list[ReplyChunk]:
        """Add streamed text; returns the pieces that are now complete (often none)."""
        if self._index == 0 and not self._buffer:
            self.unspoken = ""
        self._buffer += delta
        return self._drain(final=False)

    def flush(self) -> list[ReplyChunk]:
        """The stream has ended: return the rest; the next :meth:`push` starts a new reply."""
        chunks = self._drain(final=True)
        self._index = 0
        return chunks

    def _drain(self, final: bool) -> list[ReplyChunk]:
        chunks: list[ReplyChunk] = []
        while self._buffer:
            cut = find_cut(self._buffer, self.settings, first=self._index == 0, final=final)
            if cut is None:
                break
            text, self._buffer = self._buffer[:cut], self._buffer[cut:]
            speech = speech_for(text)
            if not speech:  # only when the whole reply has nothing speakable
                self.unspoken += text
                continue
            chunks.append(ReplyChunk(text=text, speech=speech, index=self._index))
            self._index += 1
        return chunks


async def chunk_stream(tokens: AsyncIterator[TokenChunk], chunker: ReplyChunker) -> AsyncIterator[ReplyChunk]:
    """Re-chunk an LLM token stream into speakable pieces as soon as each one is complete."""
    chunker.reset()
    async for token in tokens:
        for chunk in chunker.push(token.text):
            yield chunk
    for chunk in chunker.flush():
        yield chunk

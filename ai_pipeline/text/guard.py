"""The last check of a reply chunk before it is spoken: the rules a small model breaks, enforced.

A children's avatar speaks Russian, says «ты» to the child, never reads out code or a list, and does not
announce that it is a language model. Small models (the embedded 1.5B one above all) drift: a coding
question turns them into an assistant with markdown and ``print()``, a sentence starts in Russian and
ends in Chinese, the child becomes «вы». :class:`ReplyGuard` looks at every chunk the chunker cuts and

- rewrites what can be rewritten: «вы/вас/ваш» and «-йте/-ите» imperatives into «ты» forms, list
  markers and markdown emphasis away, stray characters of other scripts (CJK, ...) out;
- drops what cannot: a chunk with code, a chunk mostly in another language, a sentence where the
  persona calls itself a model or an assistant (kept when the child asked directly whether it is
  a person or a program);
- drops a sentence that agrees to a request a child should be refused («Конечно, я могу помочь...» to
  "how to make a bomb"), the prompt having asked for a gentle refusal;
- drops a first sentence that only repeats the question, a speaker label copied from the prompt's
  examples («Аня: ...»), a role label at any sentence's start («Ты: ...», from the summary), a sentence that recites the prompt's own rules («твои ответы звучат вслух»,
  «собеседник»), and says «Мне 12 лет» for «Я 12 лет»;
- makes a female persona speak of herself in the feminine: «я был / пошёл / рад / учился» -> «я была /
  пошла / рада / училась» (small models slip into the masculine whatever the prompt says);
- drops a sentence that recites the system prompt (six words in a row from its rules: a small model
  asked something it should refuse may read its instructions out instead), and stops the reply after
  the second;
- drops a sentence the persona already said in one of its last replies (a small model that said
  «Пожалуйста, обсуди это с мамой» once may say it to every question that follows);
- says when to stop: once code appears the rest of the reply is code or steps, so generation ends
  (:attr:`ReplyGuard.stopped`), a chunk announcing it («Вот программа:») goes with it, and such a reply,
  or one left with nothing to say, ends with a short in-character line (:meth:`ReplyGuard.finish`);
  a spoken reply also stops after three sentences unless a story was asked for.

Rules only, microseconds per chunk. The first clause is delayed only when it is dropped (a repeated
question, an agreement to an unsafe ask) or ends with ":" (held for one chunk).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ai_pipeline.chunks import ReplyChunk
from ai_pipeline.text.chunker import speech_for

FALLBACK = "Ой, давай лучше поговорим о чём-нибудь другом! Что тебе сегодня понравилось?"
# what an unsafe ask gets when the model's own reply could not be said
REFUSAL = "Нет, об этом я рассказывать не буду, это опасно. Давай лучше поговорим о чём-нибудь другом!"
# when FALLBACK itself was said lately
FALLBACKS = (FALLBACK, "Слушай, а давай о другом! Расскажи, что у тебя сегодня было интересного?",
             "Ой, я задумалась. А что ты больше всего любишь делать?")
MIN_CYRILLIC = 0.5  # a chunk with fewer Cyrillic letters than this share is in another language

_I = re.IGNORECASE
_CODE = re.compile(
    r"```|`[^`\s][^`]*`|^\s*(?:def|class|import|from|for|while|if|return|print|let|const|var|function)\b.*[:({=]|"
    r"\b(?:print|input|range|len|console\.log|System\.out|printf|main)\s*\(|[a-zA-Z_]\w*\s*\([^()]*\)\s*[:;{]?\s*$|"
    r"^\s*[a-zA-Z_]\w*\s*(?:=|\+=|-=)\s*\S|[{};]\s*$|</?[a-zA-Z][^>]*>|\bpython\s+\w+\.py\b|\bpip\s+install\b|"
    r"^\s*\$\s|#include|=>|==|!=|\w+\.\w+\(", re.MULTILINE)
_LIST_MARK = re.compile(r"^(\s*)(?:[-*•▪◦‣+]|\d{1,2}[.)]|#{1,6})\s+", re.MULTILINE)
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)|~~")
_OTHER_SCRIPT = re.compile(r"[\u0370-\u03ff\u0590-\u06ff\u0e00-\u0e7f\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af"
                           r"\uf900-\ufaff\uff00-\uffef]+")
_SELF_AS_MACHINE = re.compile(r"языков\w*\s+модел|искусствен\w*\s+интеллект|\bИИ\b|ассистент|нейросет|чат-?бот|"
                              r"\bя\s+(?:просто\s+|всего\s+лишь\s+|твой\s+|твоя\s+|виртуальн\w*\s+|компьютерн\w*\s+)?"
                              r"(?:помощни\w*|программа|модель|бот)\b|\bAI\b|OpenAI|Alibaba|Qwen|Tongyi|\bсервер|"
                              r"чем (?:ещё |еще )?(?:я )?могу (?:вам |тебе )?помочь|помочь (?:вам|тебе) с этим", _I)
# words of the system prompt's rules that a persona never says to a child: a sentence with them recites the prompt
_PROMPT_TALK = re.compile(r"собеседник|твои\s+ответы|звуч\w*\s+вслух|слушают,?\s+а\s+не\s+читают|инструкци|"
                          r"в\s+образе|от\s+первого\s+лица|markdown|одно-три\s+предложени|образец\s+стиля", _I)
_IDENTITY_QUESTION = re.compile(r"робот|человек|программ|живая|живой|настоящ|\bИИ\b|нейросет|компьютер|"
                                r"искусствен|\bбот\b|модел", _I)
_SPEAKER = re.compile(r"^(\s*)[А-ЯЁA-Z][\w-]{1,20}\s*:\s+")  # "Аня: ..." copied from the prompt's examples
# the summary's and the examples' role labels, wherever a sentence starts («Вот как! Ты: Надеюсь, ...»)
_ROLE_LABEL = re.compile(r"(^\s*|[.!?…][\s\"»)]*\s)(?:Ты|Я|Собеседник|Собеседница|Пользователь|Ассистент)\s*:(?:\s+|$)")
_STORY = re.compile(r"сказк|истори|расскажи\s+(?:про|о|об)\b|сочини|придумай", re.IGNORECASE)
# a request a child should be gently refused (weapons, fire, medicine, drugs, alcohol, smoking, swearing, heights,
# meeting strangers, other people's secrets, violence); a match only means "look twice", not "refuse"
UNSAFE_ASK = re.compile(r"бомб|взрыв|оружи|пистолет|ружь|\bнож|поджечь|подожг|поджиг|спичк|зажигалк|\bогн[ёея]|\bогонь|"
                        r"пожар|таблетк|лекарств|аптечк|наркот|алкогол|\bпив[оа]|водк|сигарет|кури(?:ть|шь)|"
                        r"ругат|плох\w*\s+слов|матерн|\bматом|на\s+крыш|с\s+балкона|из\s+окна|прыгнуть\s+с|встрет|"
                        r"\bприходи|адрес|пароль|убить|убей|ударить|драться|отрав|\bяд\b", re.IGNORECASE)
_AGREES = re.compile(r"^\W*(?:конечно|да|хорошо|ладно|отлично|вот)\b|могу\s+помочь|(?:тебе|вам)\s+нужно", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?…]*(?:[.!?…]+[\s\"»)]*|$)")

_PRONOUNS = {"вы": "ты", "вас": "тебя", "вам": "тебе", "вами": "тобой", "ваш": "твой", "ваша": "твоя",
             "ваше": "твоё", "ваши": "твои", "вашего": "твоего", "вашей": "твоей", "вашему": "твоему",
             "вашим": "твоим", "вашими": "твоими", "ваших": "твоих", "вашу": "твою",
             "здравствуйте": "привет", "спасибо вам": "спасибо тебе"}
_IRREGULAR = {"хотите": "хочешь", "хотели": "хотел", "есть": "есть", "будете": "будешь", "едите": "ешь",
              "дайте": "дай", "можете": "можешь", "идите": "иди", "пойдёте": "пойдёшь", "сможете": "сможешь"}
# imperatives in -ите: these stems, and any stem ending in д/ж/ш/ч/с/м (найдите, покажите, спросите,
# возьмите); nouns in -ите (защите, орбите, магните, ките) are left alone
_ITE_VERBS = ("скаж", "расскаж", "напиш", "пиш", "посмотр", "смотр", "спрос", "извин", "прост", "помог",
              "заход", "приход", "звон", "позвон", "говор", "повтор", "выбер", "возьм", "уточн", "сообщ",
              "учт", "обрат", "пришл", "введ", "установ", "запуст", "сохран", "включ", "выключ", "подел",
              "постав", "остан", "бер", "реш", "вход", "выход", "ход", "нос", "нес", "сид", "слуш", "дыш",
              "держ", "гляд", "лет", "хран", "поговор", "попрос", "отправ", "уч")
_ITE = re.compile(r"\b(" + "|".join(sorted(_ITE_VERBS, key=len, reverse=True)) + r"|\w+[джшчсм])ите(сь)?\b", _I)
_YTE = re.compile(r"\b(?!сайте\b)(\w{2,}?)(й|ь)те(сь)?\b", _I)
_VY_VERB = re.compile(r"\b(ты)(\s+(?:не\s+|уже\s+|тоже\s+|очень\s+|ещё\s+|еще\s+|так\s+|правда\s+)?)(\w+?)(ете|ёте|ите)"
                      r"(сь)?\b", _I)


def _key(sentence: str) -> str:
    """A sentence's words, lower case, for comparing sentences («Привет, Петя!» ~ «привет петя»)."""
    return " ".join(re.findall(r"[а-яёa-z0-9]+", sentence.lower().replace("ё", "е")))


RECITED_WORDS = 6  # this many words in a row from the prompt's rules: the sentence recites them
_TO_SAY = re.compile(r"скажи,?\s+что[^.;]*", re.IGNORECASE)  # words the rules ask the persona to say
_EXAMPLE_LINE = re.compile(r"^\s*(?:-\s|[^\s:]{1,24}:\s)")  # a fact line, or an example's «Собеседник: ...»


def _grams(key: str) -> set[tuple[str, ...]]:
    words = key.split()
    return {tuple(words[i:i + RECITED_WORDS]) for i in range(len(words) - RECITED_WORDS + 1)}


def _cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("а" <= c.lower() <= "я" or c.lower() == "ё" for c in letters) / len(letters) if letters else 1.0


def _keep_case(word: str, new: str) -> str:
    return new[:1].upper() + new[1:] if word[:1].isupper() else new


def to_ty(text: str) -> str:
    """«Вы» addressed to one child -> «ты»: pronouns, «-йте»/«-ьте»/«-ите» imperatives, «вы знаете» -> «ты знаешь»."""
    def pronoun(m: re.Match[str]) -> str:
        word = m.group(0)
        return _keep_case(word, _PRONOUNS[" ".join(word.lower().split())])

    text = re.sub(r"\b(?:" + "|".join(sorted(_PRONOUNS, key=len, reverse=True)) + r")\b", pronoun, text, flags=_I)

    def irregular(m: re.Match[str]) -> str:
        return _keep_case(m.group(0), _IRREGULAR[m.group(0).lower()])

    text = re.sub(r"\b(?:" + "|".join(k for k in _IRREGULAR if k != "есть") + r")\b", irregular, text, flags=_I)
    text = _VY_VERB.sub(lambda m: m.group(1) + m.group(2) + m.group(3)
                        + {"ете": "ешь", "ёте": "ёшь", "ите": "ишь"}[m.group(4).lower()] + ("ся" if m.group(5) else ""),
                        text)
    text = _YTE.sub(lambda m: m.group(1) + m.group(2) + ("ся" if m.group(3) and m.group(2) == "й" else
                                                         "ся" if m.group(3) else ""), text)
    return _ITE.sub(lambda m: m.group(1) + ("ись" if m.group(2) else "и"), text)


_MIXED_WORD = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[а-яёА-ЯЁ])\w+\b[ \t]?")  # «Бecause»: half a token in each script
# an English word inside a Russian sentence («солнце светит не так long»); acronyms in capitals (HTML) stay
_STRAY_LATIN = re.compile(r"(?<=[а-яёА-ЯЁ,] )(?![A-Z]{2,6}\b)[a-zA-Z][a-z]+\b ?")


_I_AM_YEARS = re.compile(r"\b([Яя])\s+(\d{1,3}|\w+)\s+(лет|год|года)\b")  # «Я 12 лет» -> «Мне 12 лет»


# "я" (+ up to two short adverbs) then a masculine past-tense verb (a vowel other than «о» before «л»:
# «был», «хотел», «понял»; «стол», «пол» are nouns) or a short adjective about oneself
_I_MASCULINE = re.compile(r"\b([Яя]\s+(?:(?:не|уже|тоже|так|очень|сегодня|вчера|всегда|никогда|бы|же|ведь|сама?)\s+){0,2})"
                          r"(?:(\w*?)(шёл|шел)|(\w*[аеиыуяю])(л|лся)|(рад|готов|уверен|должен|согласен|счастлив|занят))\b(?!-)")
# «буду рад», «стану счастлив» with no «я» before them: still about herself
_WILL_BE = re.compile(r"\b((?:[Бб]уду|[Сс]тану)\s+(?:очень\s+|так\s+)?)(рад|готов|уверен|должен|счастлив|согласен)\b(?!-)")
_SHORT_FEMININE = {"должен": "должна", "согласен": "согласна"}
_FEMININE = {"шёл": "шла", "шел": "шла", "л": "ла", "лся": "лась"}
_NOT_VERBS = {"мел", "пепел", "дятел", "котел", "осел", "посол", "павел", "кисел", "узел", "пенал", "канал",
              "финал", "сигнал", "металл", "журнал", "зал", "бал", "вал", "шакал", "идеал", "генерал", "материал"}


def to_feminine(text: str) -> str:
    """What a female persona says about herself in the masculine, in the feminine («я был» -> «я была»)."""
    def swap(m: re.Match[str]) -> str:
        lead = m.group(1)
        if m.group(6):
            return lead + _SHORT_FEMININE.get(m.group(6), m.group(6) + "а")
        stem, ending = (m.group(2), m.group(3)) if m.group(3) else (m.group(4), m.group(5))
        if (stem + "л").lower() in _NOT_VERBS:
            return m.group(0)
        return lead + stem + _FEMININE[ending.lower()]

    text = _WILL_BE.sub(lambda m: m.group(1) + _SHORT_FEMININE.get(m.group(2), m.group(2) + "а"), text)
    return _I_MASCULINE.sub(swap, text)


def _clean_markup(text: str) -> str:
    text = _I_AM_YEARS.sub(lambda m: ("Мне" if m[1] == "Я" else "мне") + f" {m[2]} {m[3]}", text)
    text = _MIXED_WORD.sub("", text)
    text = _STRAY_LATIN.sub("", text)
    text = _LIST_MARK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    return _OTHER_SCRIPT.sub("", text)


def _going_on(before: str, line: str) -> str:
    """``line`` said after ``before``: a sentence of its own after a finished one, else its continuation."""
    return " " + (line if re.search(r"[.!?…]\W*$", before) else line[0].lower() + line[1:])


@dataclass
class ReplyGuard:
    """Reviews the chunks of one reply (make one per reply; ``question``: what the user just said)."""

    question: str = ""
    female: bool = False  # the persona is female: what she says of herself is put in the feminine
    said_before: tuple[str, ...] = ()  # the persona's last replies: a sentence from them is not said again
    opener: str = ""  # what the reply began with before the model's words («Хороший вопрос!»): its sentences count
    instructions: str = ""  # the prompt's rules (not the persona's own facts, nor the example exchanges)
    max_sentences: int = 3  # a spoken reply ends after this many sentences unless a story was asked for
    stopped: bool = False  # code appeared or the reply is long enough: the caller should stop generating
    dropped: list[str] = field(default_factory=list)  # the texts taken out (for logs and benchmarks)
    _index: int = 0
    _skip_rest: bool = False  # the rest of a dropped sentence is still to come
    _sentences: int = 0  # sentences said so far
    code: bool = False  # the reply turned into code (and was stopped)
    # chunks that wait for the next one: one ending with ":" (is code coming?), or the start of a sentence that
    # begins like one said before (is it a repeat?)
    _held: list[ReplyChunk] = field(default_factory=list)
    _open: str = ""  # the words of the sentence under way (its chunks so far), as _key gives them
    _repeat_dropped: bool = False  # the sentence under way turned out to be a repeat: its held start goes too
    _yielded: int = 0
    _last: str = ""  # the text of the last chunk handed on

    def __post_init__(self) -> None:
        self._unsafe = bool(UNSAFE_ASK.search(self.question))  # agreeing to it is not said
        self._before = {key for reply in self.said_before for s in _SENTENCE.findall(reply) if (key := _key(s))}
        self._sentences = self._opened = len(re.findall(r"[.!?…]+", self.opener))
        self._rules = {gram for line in self.instructions.splitlines() if not _EXAMPLE_LINE.match(line)
                       for part in _TO_SAY.split(line) for gram in _grams(_key(part))}
        self._recited = 0  # sentences dropped for reciting the rules
        self._tail: list[str] = []  # the last words before this sentence (a recital runs across sentences)
        if _STORY.search(self.question):
            self.max_sentences = 0  # a story takes as long as it takes (max_tokens still bounds it)

    def review(self, chunk: ReplyChunk) -> ReplyChunk | None:
        """The chunk as it may be spoken, or None when nothing of it may."""
        if self.stopped:
            return None
        if _CODE.search(chunk.text):
            self.stopped = self.code = True
            self.dropped.append(chunk.text)
            return None
        text = re.sub(r"\s+([.,!?…])", r"\1", to_ty(_clean_markup(chunk.text)))
        if self.female:
            text = to_feminine(text)
        if self._index == 0:
            text = _SPEAKER.sub(r"\1", text)
        text = _ROLE_LABEL.sub(r"\1", text)
        machine_ok = bool(_IDENTITY_QUESTION.search(self.question))
        kept = []
        for sentence in filter(None, _SENTENCE.findall(text)):
            ends = bool(re.search(r"[.!?…][\s\"»)]*$", sentence))
            whole, self._open = " ".join(filter(None, (self._open, _key(sentence)))), ""
            if ends and self._repeats(whole):
                self._repeat_dropped = True
                continue
            context = self._tail + _key(sentence).split()  # the words before it too: a recital runs across sentences
            self._tail = context[-RECITED_WORDS + 1:]
            if not self._skip_rest and (_PROMPT_TALK.search(sentence)
                                        or not self._rules.isdisjoint(_grams(" ".join(context)))):
                self._recited += 1
                self._skip_rest = not ends
                if self._recited >= 2:
                    self.stopped = True  # it is reading its instructions out: nothing more will be worth saying
                    break
                continue
            if (self._skip_rest or not self._speakable(sentence, machine_ok) or self._echoes(sentence)
                    or (self._unsafe and _AGREES.search(sentence))):
                self._skip_rest = not ends  # a dropped sentence goes on in the next chunk: drop that part too
                continue
            if not ends:
                self._open = whole
            kept.append(sentence)
            self._sentences += ends
            if self.max_sentences and self._sentences >= self.max_sentences:
                self.stopped = True  # long enough for speech: the rest is not said
                break
        if "".join(kept) != text:
            self.dropped.append(text)
            text = "".join(kept)
        speech = speech_for(text) if text != chunk.text else chunk.speech
        if not text.strip() or not speech.strip():
            return None
        self._index += 1
        return replace(chunk, text=text, speech=speech)

    def _repeats(self, key: str) -> bool:
        """A whole sentence (its words) of four words or more that one of the last replies already had."""
        return key.count(" ") >= 3 and key in self._before

    def _may_repeat(self) -> bool:
        """The sentence under way begins like a long one said before."""
        return bool(self._open) and any((b + " ").startswith(self._open + " ") for b in self._before
                                        if b.count(" ") >= 3)

    def _echoes(self, sentence: str) -> bool:
        """The reply's first sentence only repeats the question («Почему зимой холодно? Это потому...»)."""
        if self._index or self._sentences > self._opened or not re.search(r"[.!?…]\W*$", sentence):
            return False
        words = re.findall(r"[а-яёa-z]+", sentence.lower())
        asked = [re.findall(r"[а-яёa-z]+", q.lower()) for q in _SENTENCE.findall(self.question) if q]
        return len(words) >= 2 and any(q[-len(words):] == words for q in asked)  # "А почему..." asked

    @staticmethod
    def _speakable(sentence: str, machine_ok: bool) -> bool:
        """A sentence in Russian (or with no letters: an emoji) that does not call the persona a machine."""
        if any(c.isalpha() for c in sentence) and _cyrillic_share(sentence) < MIN_CYRILLIC:
            return False
        return machine_ok or not _SELF_AS_MACHINE.search(sentence)

    def filter(self, chunks: Iterable[ReplyChunk]) -> Iterator[ReplyChunk]:
        """The reviewed chunks that may be spoken, numbered again from 0. A chunk that announces what
        follows («Вот программа:») is held until the next one shows whether that is code, and the start
        of a sentence that begins like one said before until the sentence shows whether it repeats it."""
        for chunk in chunks:
            out = self.review(chunk)
            if self.code:
                self._held = []
                return
            if self._repeat_dropped:
                self._held, self._repeat_dropped = [], False
            if out is None:
                continue
            if out.text.rstrip().endswith(":") or self._may_repeat():
                self._held.append(out)
                continue
            for held in self._held:
                yield self._number(held)
            self._held = []
            yield self._number(out)

    def finish(self) -> list[ReplyChunk]:
        """At the end of the reply: what was held, and a short in-character line when nothing could be said,
        or the reply turned into code or into the prompt's rules (a refusal when an unsafe ask was made)."""
        out = [self._number(held) for held in self._held] if not self.code else []
        self._held = []
        lines = (REFUSAL, *FALLBACKS) if self._unsafe else FALLBACKS
        line = next((f for f in lines if not any(_key(s) in self._before for s in _SENTENCE.findall(f))), lines[0])
        if not (self._yielded or out):
            text = _going_on(self.opener, line) if self.opener.strip() else line  # «Ага, ой, давай лучше...»
            out.append(self._number(ReplyChunk(text, speech_for(text))))
        elif self.code or self._recited >= 2:  # after what was said: «Конечно, ой, давай лучше...» or «Конечно! Ой, ...»
            text = _going_on(out[-1].text if out else self._last, line)
            out.append(self._number(ReplyChunk(text, speech_for(text))))
        return out

    def _number(self, chunk: ReplyChunk) -> ReplyChunk:
        self._yielded += 1
        self._last = chunk.text
        return replace(chunk, index=self._yielded - 1)

"""ReplyChunker: streamed reply text -> speakable pieces. Property tests plus tables of tricky cases.

The invariant under test (see ``ai_pipeline/text/chunker.py``): for any reply with a letter or a
digit in it, ``"".join(chunk.text) == reply`` exactly; each cut is followed by whitespace (which
starts the next chunk) and sits at a boundary, never inside a number, an abbreviation, an open
quote or bracket, or an ellipsis that goes on in lowercase. The first chunk may also end at the
spaces before a phrase opener or after ``first_max_words`` words, never inside a number, an
abbreviation, a quote or a bracket, and never depending on how the stream was split into deltas.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_pipeline.chunks import ReplyChunk, TokenChunk
from ai_pipeline.settings import ChunkerSettings
from ai_pipeline.text.chunker import (
    CLOSERS,
    DANGLING,
    PHRASE_OPENERS,
    ReplyChunker,
    chunk_stream,
    is_symbol,
    speech_for,
)

# --- helpers -------------------------------------------------------------------------------------


def run(text: str | list[str], chunker_settings: ChunkerSettings | None = None) -> list[ReplyChunk]:
    """Push ``text`` (one string, or a list of deltas) and flush."""
    chunker = ReplyChunker(chunker_settings or ChunkerSettings())
    chunks: list[ReplyChunk] = []
    for delta in [text] if isinstance(text, str) else text:
        chunks += chunker.push(delta)
    return chunks + chunker.flush()


def llm_tokens(text: str) -> list[str]:
    """Split text roughly like an LLM tokenizer: a word with its leading space, punctuation apart."""
    tokens = re.findall(r"\s*[\w-]+|\s*[^\w\s]|\s+", text)
    assert "".join(tokens) == text
    return tokens


def first_chunk_at(tokens: list[str], chunker_settings: ChunkerSettings | None = None) -> tuple[int, str]:
    """(index of the token whose push produced the first chunk, its text); index -1 = at flush."""
    chunker = ReplyChunker(chunker_settings or ChunkerSettings())
    for position, token in enumerate(tokens):
        if chunks := chunker.push(token):
            return position, chunks[0].text
    return -1, chunker.flush()[0].text


def cut_positions(chunks: list[ReplyChunk]) -> list[int]:
    positions, total = [], 0
    for chunk in chunks[:-1]:
        total += len(chunk.text)
        positions.append(total)
    return positions


# --- generated replies ---------------------------------------------------------------------------

WORDS = ("мама", "кот", "дом", "солнце", "книга", "читать", "гулять", "сегодня", "очень", "весело", "мы",
         "ты", "школа", "море", "лето", "друг", "играть", "вместе", "потом", "тихо", "и", "в", "на", "что",
         "который", "из-за", "потому", "про", "когда")
STARTS = ("Привет", "Давай", "Смотри", "Сегодня", "Мама", "Кот", "Это", "Потом", "Хорошо", "Знаешь")
# Pieces that must not be cut inside: (text, protected) - a cut strictly inside a protected piece
# is a bug. Each piece is preceded by a space in a sentence.
PROTECTED = (
    "3.14", "1,5", "10 000", "12:30", "1 000 000", "2,5 кг", "0.5", "7:05",
    "т. е. дома", "т.е. дома", "т. к. поздно", "см. ниже", "и т. д. и ещё", "и т.п. и всё",
    "на ул. Ленина", "музей им. Пушкина", "в г. Москва", "поэт А. С. Пушкин", "проф. Иванов", "стр. 5",
    "«Привет! Как дела?»", "«ну, да»", "(например, так)", "(см. выше. Это важно)", "„Да. Нет“",
    "ну... я думаю", "ну… а ты", "хм... дай подумать",
)
# Of those, the ones a first-chunk word cut (after first_max_words words) may still go inside.
SOFT = ("ну... я думаю", "хм... дай подумать")
DECOR = ("😊", "🤔", "❤️", "👍🏻", "**важно**", "*тихо*", "`код`")
ENDS = (".", "!", "?", "…", "?!", "!..", "...")
ENDING_PIECES = ("и т. д.", "и др.", "в 2024 г.", "10 тыс.")  # may end a sentence with their dot


@st.composite
def sentences(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(st.sampled_from(STARTS))
    spans: list[tuple[int, int]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("word", "word", "protected", "decor", "comma", "dash")))
        if kind == "comma":
            text += ","
        elif kind == "dash":
            text += " —"
        text += " "
        if kind == "protected":
            piece = draw(st.sampled_from(PROTECTED))
            spans.append((len(text), len(text) + len(piece)))
            text += piece
        elif kind == "decor":
            text += draw(st.sampled_from(DECOR))
        else:
            text += draw(st.sampled_from(WORDS))
    if draw(st.booleans()) and draw(st.booleans()):
        piece = draw(st.sampled_from(ENDING_PIECES))
        spans.append((len(text) + 1, len(text) + len(piece)))  # a cut after its last dot is fine
        text += " " + piece
    else:
        text += draw(st.sampled_from(ENDS))
    if draw(st.integers(0, 4)) == 0:
        text += " " + draw(st.sampled_from(DECOR[:4]))
    return text, spans


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """A Russian reply of 1-6 sentences, sometimes as a markdown list or after a heading."""
    text, spans = "", []
    if draw(st.integers(0, 5)) == 0:
        text = "## " + draw(st.sampled_from(STARTS)) + "\n\n"
    for position in range(draw(st.integers(1, 6))):
        if position:
            text += draw(st.sampled_from((" ", " ", " ", "\n", "\n\n", "\n- ", "\n1. ")))
        sentence, sentence_spans = draw(sentences())
        spans += [(start + len(text), end + len(text)) for start, end in sentence_spans]
        text += sentence
    return text, spans


chunker_settings = st.builds(
    lambda first, low, high, phrase, least, most: ChunkerSettings(
        first_min_chars=first, min_chars=min(low, high), max_chars=high,
        first_phrase_cut=phrase, first_phrase_min_words=least, first_max_words=most),
    st.integers(1, 30), st.integers(1, 80), st.integers(40, 160),
    st.booleans(), st.integers(1, 4), st.integers(1, 9),
)


def split_points(text_len: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, text_len), max_size=12).map(sorted)


def deltas(text: str, points: list[int]) -> list[str]:
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- properties ----------------------------------------------------------------------------------


@FAST
@given(replies(), chunker_settings)
def test_concatenation_speech_and_sizes(reply: tuple[str, list[tuple[int, int]]], config: ChunkerSettings) -> None:
    text, _ = reply
    chunks = run(text, config)
    assert "".join(c.text for c in chunks) == text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.speech and chunk.speech == speech_for(chunk.text)
    if len(chunks) > 1:
        assert len(chunks[0].speech) >= config.first_min_chars
    for chunk in chunks[1:-1]:
        assert len(chunk.speech) >= config.min_chars


def is_word_cut(text: str, p: int, config: ChunkerSettings) -> bool:
    """A first-chunk cut at the spaces before a phrase opener or after first_max_words words."""
    head, tail = text[:p], text[p:]
    words = [w for w in head.split() if any(ch.isalnum() for ch in w)]
    after = re.match(r"[ \t]+(\w+(?:-\w+)*)", tail)
    if not after or not after.group(1)[0].isalpha() or words[-1].rstrip(CLOSERS)[-1:].isdigit():
        return False
    last = re.findall(r"[^\W\d_]+", head)[-1].lower()
    if last in DANGLING:
        return False
    opener = after.group(1).lower() in PHRASE_OPENERS or after.group(1).lower().startswith("котор")
    return len(words) >= config.first_max_words or (opener and len(words) >= config.first_phrase_min_words)


@FAST
@given(replies(), chunker_settings)
def test_every_cut_is_an_allowed_boundary(reply: tuple[str, list[tuple[int, int]]], config: ChunkerSettings) -> None:
    text, spans = reply
    for number, p in enumerate(cut_positions(run(text, config))):
        assert text[p].isspace(), (text, p)
        before = text[p - 1]
        line_break = text[p:].lstrip(" \t").startswith("\n")
        word_cut = number == 0 and config.first_phrase_cut and is_word_cut(text, p, config)
        assert before in ".!?…,;:—" or before in CLOSERS or is_symbol(before) or line_break or word_cut, \
            (text[:p], text[p:])
        inside = [text[a:b] for a, b in spans if a < p < b and not (word_cut and text[a:b] in SOFT)]
        assert not inside, (text[:p], inside)
        assert text[:p].count("«") == text[:p].count("»") and text[:p].count("(") == text[:p].count(")")


@FAST
@given(st.data(), chunker_settings)
def test_result_does_not_depend_on_the_delta_split(data: st.DataObject, config: ChunkerSettings) -> None:
    text, _ = data.draw(replies())
    points = data.draw(split_points(len(text)))
    whole = run(text, config)
    assert run(deltas(text, points), config) == whole
    assert run(list(text), config) == whole  # one character at a time


@FAST
@given(replies())
def test_first_chunk_arrives_before_the_reply_ends(reply: tuple[str, list[tuple[int, int]]]) -> None:
    text, _ = reply
    chunks = run(text)
    if len(chunks) > 1:
        first_cut = len(chunks[0].text)
        chunker = ReplyChunker()
        early = [chunker.push(ch) for ch in text[:first_cut + 20]]  # the cut, the next word, a look
        assert any(early), text


# --- typical replies: the first chunk comes early -----------------------------------------------

TYPICAL = [
    ("Привет! Я Аня, мне двенадцать лет. А как тебя зовут?", "Привет!"),
    ("Хм, интересный вопрос! Давай подумаем вместе: что будет, если лёд растает?", "Хм, интересный вопрос!"),
    ("Конечно! Столица России — Москва. Это очень большой и красивый город.", "Конечно!"),
    ("Ого, ты уже в 5-м классе? Здорово! Какой твой любимый предмет?", "Ого, ты уже в 5-м классе?"),
    ("Число π примерно равно 3.14, но точнее — 3.14159. Это иррациональное число.",
     "Число π примерно равно 3.14,"),
]


@pytest.mark.parametrize(("reply", "first"), TYPICAL)
def test_typical_reply_first_chunk_is_early(reply: str, first: str) -> None:
    tokens = llm_tokens(reply)
    position, text = first_chunk_at(tokens)
    assert text == first
    completing = next(k for k in range(len(tokens)) if len("".join(tokens[:k + 1])) >= len(first))
    assert position == completing + 1  # the very next token decides
    assert position < len(tokens) - 3


def test_first_chunk_speech_is_normalised() -> None:
    chunks = run("**Привет!** 😊 Мне 12 лет, а тебе? Давай дружить!", ChunkerSettings(first_min_chars=12))
    assert chunks[0].text == "**Привет!** 😊 Мне 12 лет,"
    assert chunks[0].speech == "Привет! Мне двенадцать лет"
    assert "".join(c.text for c in chunks) == "**Привет!** 😊 Мне 12 лет, а тебе? Давай дружить!"


# --- tables of tricky cases ----------------------------------------------------------------------

EVERY_SENTENCE = ChunkerSettings(first_min_chars=1, min_chars=1, max_chars=220)
LEAD = "Начнём."  # a first chunk, so that the case itself is cut at sentence ends only

SENTENCE_CASES = [
    # numbers
    ("Пи равно 3.14. Это много.", ["Пи равно 3.14.", " Это много."]),
    ("Рост 1,5 метра. Ого!", ["Рост 1,5 метра.", " Ого!"]),
    ("Нас 10 000 человек. Ура!", ["Нас 10 000 человек.", " Ура!"]),
    ("Встреча в 12:30. Не опоздай.", ["Встреча в 12:30.", " Не опоздай."]),
    ("Версия 1.2.3 вышла. Сайт ya.ru. Заходи.", ["Версия 1.2.3 вышла.", " Сайт ya.ru.", " Заходи."]),
    ("Было 5. 6 стало потом.", ["Было 5.", " 6 стало потом."]),
    # abbreviations
    ("Это т.е. пример. Да.", ["Это т.е. пример.", " Да."]),
    ("Это т. е. пример. Да.", ["Это т. е. пример.", " Да."]),
    ("Яблоки, груши и т.п. Всё свежее.", ["Яблоки, груши и т.п.", " Всё свежее."]),
    ("Яблоки и т. д. и всё такое. Да.", ["Яблоки и т. д. и всё такое.", " Да."]),
    ("Купи хлеб и др. Потом домой.", ["Купи хлеб и др.", " Потом домой."]),
    ("Он живёт на ул. Ленина. Там тихо.", ["Он живёт на ул. Ленина.", " Там тихо."]),
    ("Музей им. Пушкина открыт. Приходи.", ["Музей им. Пушкина открыт.", " Приходи."]),
    ("Я был в г. Москва летом. Было жарко.", ["Я был в г. Москва летом.", " Было жарко."]),
    ("Это было в 2024 г. Потом всё изменилось.", ["Это было в 2024 г.", " Потом всё изменилось."]),
    ("Это было в 2024 г. в мае. Да.", ["Это было в 2024 г. в мае.", " Да."]),
    ("Роман написал А. С. Пушкин. Читай!", ["Роман написал А. С. Пушкин.", " Читай!"]),
    ("Смотри стр. 5 и рис. 2. Понятно?", ["Смотри стр. 5 и рис. 2.", " Понятно?"]),
    ("Стоит 10 тыс. руб. в месяц. Дёшево.", ["Стоит 10 тыс. руб. в месяц.", " Дёшево."]),
    ("Смотри 1 янв. 2025 года. Вот.", ["Смотри 1 янв. 2025 года.", " Вот."]),
    # ellipses
    ("Ну... я не знаю. Давай так.", ["Ну... я не знаю.", " Давай так."]),
    ("Ну… я подумаю. Хорошо.", ["Ну… я подумаю.", " Хорошо."]),
    ("Может быть… Да, точно.", ["Может быть…", " Да, точно."]),
    ("Неужели?.. Не верю!", ["Неужели?..", " Не верю!"]),
    # quotes and brackets
    ("Она сказала: «Привет. Как дела?» Я ответил.", ["Она сказала: «Привет. Как дела?»", " Я ответил."]),
    ("Он крикнул \"Стой! Подожди!\" и убежал. Вот.", ["Он крикнул \"Стой! Подожди!\" и убежал.", " Вот."]),
    ("Это (см. рис. 2. Схема) важно. Да.", ["Это (см. рис. 2. Схема) важно.", " Да."]),
    ("«Ура!» — сказал он. Вот.", ["«Ура!» — сказал он.", " Вот."]),
    ("Ура! сказал он. Вот.", ["Ура! сказал он.", " Вот."]),
    # emoji and markdown
    ("Привет! 😊 Как дела?", ["Привет! 😊", " Как дела?"]),
    ("Отлично! 👍🏻🎉\n😊 Пока!", ["Отлично! 👍🏻🎉", "\n😊 Пока!"]),
    ("**Важно!** Мой руки. `Код.` Тут.", ["**Важно!**", " Мой руки.", " `Код.`", " Тут."]),
    ("Список:\n- хлеб\n- молоко\nВсё.", ["Список:", "\n- хлеб", "\n- молоко", "\nВсё."]),
    ("Шаги:\n1. Встань.\n2. Иди.", ["Шаги:", "\n1. Встань.", "\n2. Иди."]),
    ("Код:\n```\nx = 1. Y = 2.\n```\nГотово.", ["Код:", "\n```\nx = 1. Y = 2.\n```", "\nГотово."]),
]


@pytest.mark.parametrize(("case", "expected"), SENTENCE_CASES)
def test_sentence_cuts(case: str, expected: list[str]) -> None:
    chunks = run(f"{LEAD} {case}", EVERY_SENTENCE)
    assert [c.text for c in chunks] == [LEAD, " " + expected[0], *expected[1:]]
    assert all(c.speech for c in chunks)


FIRST_CLAUSE_CASES = [
    ("Москва — столица России, да.", 5, "Москва —"),
    ("Считаем 10 - 5. Ответ пять.", 1, "Считаем 10 - 5."),
    ("Годы 1941 – 1945, война.", 1, "Годы 1941 – 1945,"),
    ("Кто-то пришёл; мы рады.", 1, "Кто-то пришёл;"),
    ("Итак: начнём.", 1, "Итак:"),
    ("— Привет, — сказала она.", 1, "— Привет,"),
    ("Смотри: 3,14 и 2,71, вот.", 8, "Смотри: 3,14 и 2,71,"),
]


@pytest.mark.parametrize(("case", "first_min", "first"), FIRST_CLAUSE_CASES)
def test_first_clause(case: str, first_min: int, first: str) -> None:
    chunks = run(case, ChunkerSettings(first_min_chars=first_min, min_chars=200, max_chars=220))
    assert chunks[0].text == first
    assert "".join(c.text for c in chunks) == case


@pytest.mark.parametrize(("deltas_", "held"), [
    (["Пи равно 3.", "14. Дальше"], 1),  # "3." might be a decimal point
    (["Это т.", "е. пример. Дальше"], 1),  # "т." might be "т. е."
    (["Привет,", " ", "Аня"], 2),  # "," needs the next word (it might be "1,5")
    (["Привет!", " 😊", " Как"], 2),  # an emoji may still join the first sentence
    (["Ну...", " я", " тут. Вот"], 2),
])
def test_ambiguous_tail_is_held_back(deltas_: list[str], held: int) -> None:
    chunker = ReplyChunker(ChunkerSettings(first_min_chars=1))
    for delta in deltas_[:held]:
        assert chunker.push(delta) == []
    assert chunker.push("".join(deltas_[held:]))  # now it is clear


def test_long_sentence_is_cut_at_a_clause_past_max_chars() -> None:
    clause = "мы пошли гулять в большой зелёный парк"
    text = "Привет. " + ", ".join([clause] * 12) + "."
    chunks = run(text, ChunkerSettings(first_min_chars=1, min_chars=40, max_chars=100, first_phrase_cut=False))
    assert "".join(c.text for c in chunks) == text
    assert len(chunks) >= 5
    assert all(len(c.speech) <= 100 for c in chunks)
    assert all(c.text.endswith((",", ".")) for c in chunks)


def test_text_without_boundaries_waits_for_flush() -> None:
    chunker = ReplyChunker(ChunkerSettings(first_min_chars=1, max_chars=40, first_phrase_cut=False))
    assert chunker.push("слово " * 60) == []
    assert [c.text for c in chunker.flush()] == ["слово " * 60]


def test_emoji_only_reply_is_not_spoken() -> None:
    chunker = ReplyChunker()
    assert chunker.push("😊 ") == []
    assert chunker.flush() == []
    assert chunker.unspoken == "😊 "
    assert [c.text for c in chunker.push("Ок. ") + chunker.flush()] == ["Ок. "]  # the next reply
    assert chunker.unspoken == ""


def test_reset_drops_a_half_pushed_reply() -> None:
    chunker = ReplyChunker(ChunkerSettings(first_min_chars=1))
    chunker.push("Привет! Я тут")
    chunker.reset()
    assert [c.text for c in chunker.push("Пока") + chunker.flush()] == ["Пока"]


def test_chunk_stream() -> None:
    reply = "Привет! Я Аня, мне двенадцать лет. А как тебя зовут?"

    async def tokens() -> AsyncIterator[TokenChunk]:
        for index, token in enumerate(llm_tokens(reply)):
            yield TokenChunk(token, index)

    async def collect() -> list[ReplyChunk]:
        return [chunk async for chunk in chunk_stream(tokens(), ReplyChunker())]

    chunks = asyncio.run(collect())
    assert [c.text for c in chunks] == ["Привет!", " Я Аня, мне двенадцать лет. А как тебя зовут?"]
    assert [c.index for c in chunks] == [0, 1]


# --- the first chunk at a phrase break -----------------------------------------------------------

PHRASE_CASES = [
    ("Я люблю рисовать в основном на компьютере.", "Я люблю рисовать"),
    ("Моя любимая книга про космос называется «Звёздный мальчик».", "Моя любимая книга"),
    ("Кошки мурлыкают когда им тепло и спокойно.", "Кошки мурлыкают когда им тепло"),
    ("Я очень люблю кошек потому что они мягкие и тёплые.", "Я очень люблю кошек"),
    ("Мне нравится зима из-за того что можно кататься на санках.", "Мне нравится зима"),
    ("Я хожу в художественную школу по вторникам и четвергам.", "Я хожу в художественную школу"),
    ("У меня есть собака которую зовут Бим.", "У меня есть собака"),
    ("Мы с мамой часто печём пироги с яблоками.", "Мы с мамой часто печём пироги"),
    ("Вчера мы ходили в зоопарк и видели жирафа!", "Вчера мы ходили"),
    ("Летом я поеду к бабушке в деревню.", "Летом я поеду"),
    ("Я мечтаю стать художницей когда вырасту.", "Я мечтаю стать художницей"),
    ("Больше всего я люблю гулять с собакой в парке.", "Больше всего я люблю гулять"),
    ("Мой брат любит футбол но я больше люблю плавать.", "Мой брат любит футбол"),
    # no opener: seven words or more (not after an adjective), once the next word has arrived
    ("Ой мне очень нравится эта весёлая добрая сказка правда.", "Ой мне очень нравится эта весёлая добрая сказка"),
]


@pytest.mark.parametrize(("reply", "first"), PHRASE_CASES)
def test_first_chunk_ends_at_a_phrase_break(reply: str, first: str) -> None:
    tokens = llm_tokens(reply)
    position, text = first_chunk_at(tokens)
    assert text == first
    assert "".join(c.text for c in run(tokens)) == reply
    next_word = len(llm_tokens(first)) + 1  # the token after the first chunk's is the next word
    assert position == next_word  # only once the next word is known in full: the token after it


@pytest.mark.parametrize(("reply", "first"), [
    ("Привет!", "Привет!"),
    ("Я думаю что завтра будет солнечно.", "Я думаю что завтра будет солнечно."),  # "Я думаю": too few
    ("Привет! Я люблю рисовать в основном красками.", "Привет!"),
    ("Да, я люблю рисовать в основном красками.", "Да, я люблю рисовать"),  # "Да," is too short
    ("Мне двенадцать лет, а тебе сколько?", "Мне двенадцать лет,"),  # the comma comes first
    ("Мне 12 лет и я учусь в шестом классе.", "Мне 12 лет"),  # never next to a number
    ("У нас 10 000 книг в библиотеке.", "У нас 10 000 книг"),
    ("Я не знаю потому что не читала.", "Я не знаю"),  # before "потому", never before "что"
    ("Я не пошла гулять так как шёл сильный дождь.", "Я не пошла гулять так как шёл"),
    ("Я осталась дома так как было холодно.", "Я осталась дома так как было холодно."),
    ("Мы с Машей рисовали всё то время как папа готовил.", "Мы с Машей рисовали всё то время как папа"),
    ("Я рисую картины с тех пор как мне было пять лет.", "Я рисую картины"),
    ("Она сказала «я пойду в парк и в кино» и ушла.", "Она сказала «я пойду в парк и в кино»"),
    ("Я читала (это было в школе и дома) весь день.", "Я читала (это было в школе и дома)"),
    ("Я живу на ул. Ленина в большом доме.", "Я живу на ул. Ленина"),
    ("Я прочитала стихи поэта А. С. Пушкина про осень.", "Я прочитала стихи поэта А. С. Пушкина"),
    ("Я тоже не в восторге от этого.", "Я тоже не в восторге"),  # never after "не"
    ("Завтра будет очень тёплый и солнечный день.", "Завтра будет очень тёплый и солнечный день."),
    ("Ой мне очень нравится эта смешная зелёная черепаха.", "Ой мне очень нравится эта смешная зелёная черепаха."),
    ("Я была там **вместе с мамой и братом** вчера.", "Я была там **вместе с мамой и братом**"),
])
def test_first_chunk_phrase_break_negatives(reply: str, first: str) -> None:
    for deltas_ in (llm_tokens(reply), list(reply), [reply]):
        chunks = run(deltas_)
        assert chunks[0].text == first
        assert "".join(c.text for c in chunks) == reply


def test_phrase_break_waits_for_the_whole_next_word() -> None:
    chunker = ReplyChunker()
    assert chunker.push("Я люблю рисовать в") == []  # "в" might be "восемь"
    assert [c.text for c in chunker.push(" ")] == ["Я люблю рисовать"]
    chunker = ReplyChunker()
    assert chunker.push("Кошки любят спать из") == []
    assert chunker.push("-") == []  # "из-" might be "из-за"
    assert [c.text for c in chunker.push("за ")] == ["Кошки любят спать"]
    chunker = ReplyChunker()
    assert chunker.push("Я люблю рисовать во") == []
    assert chunker.push("семь") == []  # "восемь": not an opener, and only five words
    assert [c.text for c in chunker.push(" утра и ")] == ["Я люблю рисовать восемь утра"]


def test_later_chunks_are_not_cut_at_phrase_breaks() -> None:
    reply = "Привет! Я люблю рисовать в основном на компьютере и иногда красками на бумаге."
    assert [c.text for c in run(llm_tokens(reply))] == [
        "Привет!", " Я люблю рисовать в основном на компьютере и иногда красками на бумаге."]


def test_phrase_break_can_be_turned_off_and_tuned() -> None:
    reply = "Я люблю рисовать в основном на компьютере."
    assert [c.text for c in run(reply, ChunkerSettings(first_phrase_cut=False))] == [reply]
    assert run(reply, ChunkerSettings(first_phrase_min_words=4))[0].text == "Я люблю рисовать в основном"
    assert run("один два три четыре", ChunkerSettings(first_max_words=2))[0].text == "один два"
    assert run("Я люблю рисовать в основном.", ChunkerSettings(first_min_chars=20))[0].text == \
        "Я люблю рисовать в основном."


@FAST
@given(st.sampled_from([reply for reply, _ in PHRASE_CASES]), st.data())
def test_phrase_break_does_not_depend_on_the_delta_split(reply: str, data: st.DataObject) -> None:
    points = data.draw(split_points(len(reply)))
    assert run(deltas(reply, points)) == run(reply) == run(list(reply))


# First sentences of replies a child persona gives; the phrase break shortens many first chunks.
FIRST_SENTENCES = [
    "Я люблю рисовать в основном на компьютере.",
    "Кошки мурлыкают из-за того, что им хорошо и спокойно.",
    "Моя любимая книга про космос называется «Звёздный мальчик».",
    "Привет! Меня зовут Аня.",
    "Ой, это очень интересный вопрос!",
    "Я учусь в шестом классе и очень люблю математику.",
    "Мне кажется что завтра будет тёплый и солнечный день.",
    "Больше всего я люблю гулять с собакой в парке.",
    "Мой любимый мультфильм это «Холодное сердце», я смотрела его раз десять.",
    "После школы я обычно делаю уроки и потом рисую.",
    "Ну я думаю что кошки самые лучшие животные на свете.",
    "У меня есть кот Барсик который всё время спит на диване.",
    "Летом мы ездили на море и я научилась плавать.",
    "Я не очень люблю суп но мама говорит что он полезный.",
    "Конечно! Я с радостью расскажу.",
    "Самый большой океан на Земле это Тихий океан.",
    "Динозавры жили на Земле миллионы лет назад.",
    "Я читала что дельфины спят с одним открытым глазом.",
    "Моя лучшая подруга Маша живёт в соседнем доме.",
    "Мне нравится осень потому что листья становятся разноцветными.",
    "Хм, дай подумать.",
    "Зимой я катаюсь на коньках вместе с папой.",
    "Я собираю наклейки с котиками уже два года.",
    "Радуга появляется когда солнце светит сквозь капли дождя.",
    "В нашем классе двадцать пять человек.",
    "Я хочу стать ветеринаром чтобы лечить животных.",
    "Вчера мы с классом ходили в музей динозавров.",
    "Мне двенадцать лет, а тебе?",
    "Луна светит потому что отражает свет Солнца.",
    "Я обожаю мороженое особенно шоколадное с орешками.",
]


def test_phrase_break_only_shortens_the_first_chunk() -> None:
    off = ChunkerSettings(first_phrase_cut=False)
    shorter = 0
    for reply in FIRST_SENTENCES:
        tokens = llm_tokens(reply)
        before, after = run(tokens, off)[0].text, run(tokens)[0].text
        assert before.startswith(after)
        assert len(after.split()) >= min(len(before.split()), 3) and len(speech_for(after)) >= 6
        shorter += after != before
    assert shorter >= len(FIRST_SENTENCES) // 2

"""ReplyGuard: chunks that break the rules of speech to a child are rewritten or dropped before TTS."""

from __future__ import annotations

import pytest

from ai_pipeline.chunks import ReplyChunk
from ai_pipeline.text.chunker import ReplyChunker
from ai_pipeline.text.guard import FALLBACK, FALLBACKS, REFUSAL, ReplyGuard, to_feminine, to_ty


def _chunks(reply: str) -> list[ReplyChunk]:
    chunker = ReplyChunker()
    return chunker.push(reply) + chunker.flush()


def _said(reply: str, question: str = "") -> tuple[str, ReplyGuard]:
    guard = ReplyGuard(question)
    kept = list(guard.filter(_chunks(reply))) + guard.finish()
    assert [c.index for c in kept] == list(range(len(kept)))
    assert all(c.speech.strip() for c in kept)
    return "".join(c.text for c in kept).strip(), guard


@pytest.mark.parametrize(("formal", "informal"), [
    ("Давайте поговорим о Бобике.", "Давай поговорим о Бобике."),
    ("Не стесняйтесь задавать вопросы!", "Не стесняйся задавать вопросы!"),
    ("Здравствуйте! Как ваши дела?", "Привет! Как твои дела?"),
    ("Вы знаете, что киты дышат воздухом? Представьте себе!", "Ты знаешь, что киты дышат воздухом? Представь себе!"),
    ("Скажите маме, а я подожду вас.", "Скажи маме, а я подожду тебя."),
    ("Вы хотите сказку? Вам понравится.", "Ты хочешь сказку? Тебе понравится."),
    ("Обратитесь к взрослому.", "Обратись к взрослому."),
])
def test_formal_address_becomes_informal(formal: str, informal: str) -> None:
    assert to_ty(formal) == informal


def test_words_that_only_look_formal_stay() -> None:
    text = "Кит в защите стаи, звёзды на орбите, а мы с тобой говорим."
    assert to_ty(text) == text


def test_code_is_never_spoken_and_generation_stops() -> None:
    said, guard = _said("Конечно, вот программа:\n```python\nfor i in range(10):\n    print(i)\n```\nЗапусти её!",
                        "Напиши программу на питоне")
    assert guard.stopped and guard.code
    assert "print" not in said and "range" not in said and "Запусти" not in said
    assert "программа" not in said and said == "Конечно, ой" + FALLBACK[2:]  # the code's announcement went too
    said, _ = _said("Конечно! Вот что я придумала:\n```\nx = 1\n```", "Напиши код")
    assert said == "Конечно! " + FALLBACK


def test_an_announcement_is_said_when_no_code_follows() -> None:
    said, guard = _said("Вот что я люблю: рисовать котов и читать про космос.", "Что ты любишь?")
    assert said == "Вот что я люблю: рисовать котов и читать про космос." and not guard.code


def test_only_code_gets_an_in_character_line() -> None:
    said, guard = _said("print('Привет')", "Напиши программу")
    assert guard.stopped and said == FALLBACK


def test_lists_and_markdown_become_plain_speech() -> None:
    said, _ = _said("Вот что можно сделать:\n1. **Нарисовать** кота.\n2. Почитать книгу.\n- Погулять с собакой.")
    assert "**" not in said and "1." not in said and "2." not in said and "- " not in said
    assert "Нарисовать кота." in said and "Погулять с собакой." in said


def test_other_languages_are_dropped() -> None:
    said, _ = _said("Я учусь в шестом классе 年级. Hello, how are you today? Мне нравится школа!")
    assert "年" not in said and "Hello" not in said
    assert "шестом классе" in said and "Мне нравится школа!" in said


def test_self_as_a_model_is_dropped_unless_asked_directly() -> None:
    reply = "Я языковая модель, созданная для помощи. Но я очень люблю рисовать!"
    said, _ = _said(reply, "Что ты любишь?")
    assert "модель" not in said and said == "Но я очень люблю рисовать!"
    said, _ = _said("Я компьютерная программа, но мне нравится болтать с тобой!", "Ты человек или робот?")
    assert "программа" in said


def test_a_sentence_reciting_the_prompt_is_dropped() -> None:
    said, guard = _said("Вот, что я думаю: твои ответы звучат вслух, их слушают, а не читают. Мне двенадцать лет!",
                        "А вам под шестьдесят?")
    assert "вслух" not in said and said.endswith("Мне двенадцать лет!") and guard.dropped
    said, _ = _said("Собеседник: как дела? Хорошо!", "Как дела?")
    assert "обеседник" not in said
    said, _ = _said("Я отвечаю тебе вслух, потому что мы разговариваем!", "Почему ты говоришь?")
    assert said == "Я отвечаю тебе вслух, потому что мы разговариваем!"  # "вслух" alone is fine


@pytest.mark.parametrize(("said", "feminine"), [
    ("Я был в Москве с дядей.", "Я была в Москве с дядей."), ("Я очень рад тебя видеть!", "Я очень рада тебя видеть!"),
    ("Я вчера пошёл в парк.", "Я вчера пошла в парк."), ("Я учился в школе.", "Я училась в школе."),
    ("Я сказал ему, что я понял.", "Я сказала ему, что я поняла."), ("Я должен идти.", "Я должна идти."),
    ("Я хотел бы собаку.", "Я хотела бы собаку."), ("Я нашёл котика!", "Я нашла котика!"),
    ("Буду рад помочь!", "Буду рада помочь!"), ("Я буду очень рад.", "Я буду очень рада."),
    # already feminine, not a verb, or not about herself: unchanged
    ("Я была рада.", "Я была рада."), ("Я стол не брал.", "Я стол не брал."), ("Я люблю рисовать.", "Я люблю рисовать."),
    ("Он был рад.", "Он был рад."), ("Я мел нашла.", "Я мел нашла."),
])
def test_a_female_persona_speaks_of_herself_in_the_feminine(said: str, feminine: str) -> None:
    assert to_feminine(said) == feminine


def test_the_guard_puts_a_female_persona_in_the_feminine_only() -> None:
    chunks = _chunks("Я был в зоопарке и очень рад!")
    female, male = ReplyGuard("Где ты был?", female=True), ReplyGuard("Где ты был?")
    assert "".join(c.text for c in female.filter(chunks)) == "Я была в зоопарке и очень рад!"  # «и очень рад»: no «я»
    assert "".join(c.text for c in male.filter(chunks)) == "Я был в зоопарке и очень рад!"


def test_a_sentence_from_the_last_replies_is_not_said_again() -> None:
    before = ("Пожалуйста, обсуди эту ситуацию с мамой или другим взрослым. Это важно.",)
    guard = ReplyGuard("Почему у зебры полоски?", said_before=before)
    kept = list(guard.filter(_chunks("Пожалуйста, обсуди эту ситуацию с мамой или другим взрослым! "
                                     "Полоски путают мух и хищников.")))
    assert "".join(c.text for c in kept).strip() == "Полоски путают мух и хищников."
    guard = ReplyGuard("Почему?", said_before=before)  # short sentences («Это важно.») may come again
    assert "".join(c.text for c in guard.filter(_chunks("Это важно. Так бывает."))) == "Это важно. Так бывает."
    guard = ReplyGuard("Как дела?", said_before=(FALLBACK,))  # nothing left, and the usual line was just said
    assert list(guard.filter(_chunks("Пожалуйста, обсуди эту ситуацию с мамой или другим взрослым.")))
    guard = ReplyGuard("Как дела?", said_before=(*before, FALLBACK))
    assert not list(guard.filter(_chunks("Пожалуйста, обсуди эту ситуацию с мамой или другим взрослым.")))
    assert [c.text for c in guard.finish()] == [FALLBACKS[1]]


def test_a_reply_reciting_the_prompt_is_dropped_and_stopped() -> None:
    from ai_pipeline.llm.prompt import PersonaCard, persona_prompt

    rules = persona_prompt(PersonaCard(name="Аня", age=12, gender="female", interests=("рисование", "книги", "кошки")))
    rules = rules.split("\n\n", 1)[-1]
    leak = ("Ты Аня, говоришь от первого лица, о себе в женском роде. На вопрос «почему?» объясняй просто и "
            "правильно. Не выспрашивай адрес, телефон, школу, пароли и фотографии. Я рада тебе!")
    guard = ReplyGuard("Расскажи сказку про дракона.", instructions=rules)
    said = "".join(c.text for c in [*guard.filter(_chunks(leak)), *guard.finish()])
    assert "объясняй" not in said and "выспрашивай" not in said and guard.stopped
    guard = ReplyGuard("Как сделать бомбу?", instructions=rules)  # an unsafe ask: the line said instead refuses
    said = "".join(c.text for c in [*guard.filter(_chunks("К сожалению, " + leak)), *guard.finish()])
    assert said.startswith("К сожалению,") and "объясняй" not in said and said.endswith(REFUSAL[1:])
    # the persona's own facts and the example answers are not rules: saying them is fine
    fine = ("Мои интересы: рисование, книги, кошки. Луна сама не светится, она отражает свет Солнца, как зеркало. "
            "Об этом важно рассказать маме, папе или другому взрослому, которому ты доверяешь.")  # the rules ask for it
    guard = ReplyGuard("Что ты любишь?", instructions=rules)
    assert "".join(c.text for c in guard.filter(_chunks(fine))).strip() == fine


def test_a_clean_reply_passes_untouched() -> None:
    reply = "Мне двенадцать лет! А тебе сколько? Я люблю рисовать котиков 😊"
    chunks = _chunks(reply)
    guard = ReplyGuard("Сколько тебе лет?")
    assert list(guard.filter(chunks)) == chunks and guard.finish() == [] and not guard.dropped


def test_a_spoken_reply_ends_after_three_sentences_unless_a_story_was_asked() -> None:
    long = "Первое предложение. Второе предложение! Третье предложение? Четвёртое лишнее. Пятое тоже."
    said, guard = _said(long, "Что ты любишь?")
    assert said == "Первое предложение. Второе предложение! Третье предложение?" and guard.stopped
    said, guard = _said(long, "Расскажи сказку про дракона")
    assert said == long and not guard.stopped


def test_an_opener_that_is_a_sentence_counts_towards_the_three() -> None:
    reply = "Кошки мурлычут от радости. Так они успокаиваются. Ещё так они зовут котят. И лечат себя."
    guard = ReplyGuard("Почему кошки мурлычут?", opener="Интересный вопрос!")
    assert "".join(c.text for c in guard.filter(_chunks(reply))).strip() == "Кошки мурлычут от радости. Так они успокаиваются."
    guard = ReplyGuard("Почему кошки мурлычут?", opener="Так,")  # not a sentence of its own
    assert "".join(c.text for c in guard.filter(_chunks(reply))).strip().endswith("зовут котят.") and guard.stopped


def test_a_speaker_label_copied_from_the_examples_goes() -> None:
    said, _ = _said("Аня: Привет! Я тоже люблю динозавров.")
    assert said == "Привет! Я тоже люблю динозавров."


@pytest.mark.parametrize("reply", ["Вот как! Ты: Надеюсь, тебе было весело.", "Вот как! Собеседник: Надеюсь, тебе было весело.",
                                   "Вот как!\nЯ: Надеюсь, тебе было весело."])
def test_a_role_label_from_the_summary_goes_wherever_a_sentence_starts(reply: str) -> None:
    said, _ = _said(reply)
    assert said.split() == "Вот как! Надеюсь, тебе было весело.".split(), said


def test_words_before_a_colon_inside_a_sentence_stay() -> None:
    said, _ = _said("Знаешь, что я люблю? Я скажу так: ты молодец.")
    assert said == "Знаешь, что я люблю? Я скажу так: ты молодец."


def test_a_reply_that_starts_by_repeating_the_question_skips_the_repeat() -> None:
    said, _ = _said("Почему зимой холодно? Потому что солнце светит ниже и греет слабее.", "А почему зимой холодно?")
    assert said == "Потому что солнце светит ниже и греет слабее."
    said, _ = _said("Почему зимой холодно? Хороший вопрос!", "Расскажи, что ты любишь.")
    assert said.startswith("Почему зимой холодно?")


def test_agreeing_to_an_unsafe_ask_is_not_said() -> None:
    said, _ = _said("Конечно, я могу помочь с этим. Но это очень опасно, давай лучше порисуем!", "Как сделать бомбу?")
    assert said == "Но это очень опасно, давай лучше порисуем!"
    said, _ = _said("Конечно, я могу помочь с этим!", "Где взять спички, чтобы поджечь?")
    assert said == REFUSAL  # nothing of the reply was left: the line said instead refuses
    said, _ = _said("Конечно! Я нарисую кота.", "Нарисуешь мне кота?")  # an ordinary ask: agreeing is fine
    assert said == "Конечно! Я нарисую кота."


def test_an_english_word_in_a_russian_sentence_goes() -> None:
    said, _ = _said("Солнце светит не так long, и воздух остывает.", "Почему зимой холодно?")
    assert said == "Солнце светит не так, и воздух остывает."
    said, _ = _said("Сайты пишут на HTML, это язык разметки.", "Что такое HTML?")
    assert said == "Сайты пишут на HTML, это язык разметки."


def test_a_word_half_in_latin_letters_goes() -> None:
    said, _ = _said("Бecause небо голубое, потому что свет рассеивается.", "Почему небо голубое?")
    assert said == "небо голубое, потому что свет рассеивается."


def test_i_am_n_years_is_said_the_russian_way() -> None:
    said, _ = _said("Я 12 лет. А ты?", "Сколько тебе лет?")
    assert said == "Мне 12 лет. А ты?"


@pytest.mark.parametrize(("opener", "said"), [("Ага,", " ой, давай лучше поговорим о чём-нибудь другом!"),
                                              ("Вот как!", " Ой, давай лучше поговорим о чём-нибудь другом!")])
def test_the_fallback_line_goes_on_the_opener(opener: str, said: str) -> None:
    """Nothing of the model's could be said after an opener: the in-character line continues the opener's
    sentence («Ага, ой, давай...»), not a capital after a comma («Ага, Ой, давай...»)."""
    guard = ReplyGuard("Надеюсь, в тюрьме было сносно.", opener=opener)
    kept = list(guard.filter(_chunks("Я языковая модель, я не могу."))) + guard.finish()
    assert [c.text for c in kept] and kept[-1].text.startswith(said), [c.text for c in kept]

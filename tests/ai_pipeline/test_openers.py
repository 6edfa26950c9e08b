"""Openers: questions get one, "why" questions a longer one, statements an acknowledgement in their tone,
greetings none; never the same twice in a row."""

from __future__ import annotations

import pytest

from ai_pipeline.text.openers import GLAD, NOTED, OTHER, SORRY, WHY, choose_opener, is_question


@pytest.mark.parametrize("text", ["Сколько тебе лет?", "а где ты живёшь", "Расскажи про динозавров.",
                                  "Можно с тобой поиграть?", "Ты любишь кошек?",
                                  "Правда ли, что слоны боятся мышей", "Можно ли гладить ежа",
                                  "Разве звёзды падают", "Напиши программу на питоне.",
                                  "Давай поиграем в загадки!"])
def test_questions_get_a_short_opener(text: str) -> None:
    assert is_question(text) and choose_opener(text) in OTHER


@pytest.mark.parametrize("text", ["Почему небо голубое?", "А зачем людям сон?", "Как это работает?"])
def test_why_questions_get_a_longer_one(text: str) -> None:
    assert choose_opener(text) in WHY


@pytest.mark.parametrize("text", ["Привет! Как дела?", "Спасибо, пока!", "До свидания", "  ", "",
                                  "Давай встретимся? Я живу на улице Ленина, приходи!",
                                  "Где взять спички, чтобы что-нибудь поджечь?"])
def test_greetings_goodbyes_and_asks_to_refuse_are_answered_directly(text: str) -> None:
    assert choose_opener(text) is None


@pytest.mark.parametrize(("text", "pool"), [
    ("Мне грустно.", SORRY), ("Я боюсь темноты", SORRY), ("Я злюсь на брата", SORRY),
    ("Я люблю собак", GLAD), ("Ура, каникулы!", GLAD), ("Я получил пятёрку!", GLAD),
    ("Мне восемь лет.", NOTED), ("Меня зовут Петя", NOTED), ("Сегодня я ходил в зоопарк", NOTED),
])
def test_statements_get_an_acknowledgement_in_their_tone(text: str, pool: tuple[str, ...]) -> None:
    assert not is_question(text) and choose_opener(text) in pool


def test_the_choice_is_stable_and_never_repeats() -> None:
    questions = ["Сколько тебе лет?", "Где ты живёшь?", "Что ты любишь?", "Кто твой друг?", "Ты умеешь петь?",
                 "Почему трава зелёная?", "Зачем нужны облака?"]
    last = None
    for q in questions * 3:
        opener = choose_opener(q, last)
        assert opener is not None and opener != last and opener == choose_opener(q, last)
        last = opener


def test_the_history_shows_replies_without_their_opener() -> None:
    from ai_pipeline.text.openers import without_opener

    assert without_opener("Так, мне двенадцать лет.") == "Мне двенадцать лет."
    assert without_opener("Хороший вопрос! Небо голубое из-за воздуха.") == "Небо голубое из-за воздуха."
    assert without_opener("Ох, мне жаль.") == "Мне жаль."
    assert without_opener("Так,") == "Так,"  # nothing else was said
    assert without_opener("Таких зверей я люблю.") == "Таких зверей я люблю."

"""The prompt builder (with a real BPE tokenizer) and rule-based fact extraction."""

from __future__ import annotations

import random

import pytest

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.llm.facts import LIST_KEYS, extract_facts, merge_facts, split_list
from ai_pipeline.llm.prompt import EXAMPLES, MESSAGE_OVERHEAD, PersonaCard, build_messages, persona_prompt

ANYA = PersonaCard(name="Аня", age=12, temperament="любознательная, добрая, энергичная",
                   interests=("рисование", "музыка", "чтение"),
                   speech_style="разговорный, с эмодзи, простые предложения")
FACTS = {"name": "Петя", "age": "10", "likes": "футбол, рисовать"}


@pytest.fixture(scope="module")
def count_tokens():
    """Whisper's multilingual BPE (tiktoken): a real tokenizer that ships with openai-whisper."""
    from whisper.tokenizer import get_encoding

    encoding = get_encoding("multilingual")
    return lambda text: len(encoding.encode(text))


def conversation(turns: int) -> list[ChatMessage]:
    rng = random.Random(turns)
    words = "мы вчера рисовали кота потом пели песню про лето и читали сказку о драконе".split()
    return [ChatMessage("user" if i % 2 == 0 else "assistant",
                        f"Реплика {i}: " + " ".join(rng.choices(words, k=rng.randint(3, 25))))
            for i in range(turns)]


def memory_and_turns(messages: list[ChatMessage], card: PersonaCard) -> tuple[str, list[ChatMessage]]:
    system = messages[0].content
    assert system.startswith(persona_prompt(card))
    return system[len(persona_prompt(card)):].strip(), messages[1:-1]


@pytest.mark.parametrize("budget", [0, 60, 200, 700, 5000])
def test_budget_respected_and_newest_turns_kept(count_tokens, budget):
    history = conversation(40)
    summary = "Раньше Петя рассказывал про школу, про кота Барсика и про поездку на море. " * 8
    messages = build_messages(ANYA, user_text="А что ты нарисовала?", history=history, summary=summary,
                              facts=FACTS, budget_tokens=budget, count_tokens=count_tokens)
    memory, turns = memory_and_turns(messages, ANYA)
    used = (count_tokens(memory) if memory else 0) + sum(count_tokens(m.content) + MESSAGE_OVERHEAD for m in turns)
    assert used <= budget
    assert turns == history[len(history) - len(turns):]  # a contiguous run of the newest turns
    if len(turns) < len(history):  # and as many as fit: one more would not
        older = history[len(history) - len(turns) - 1]
        assert used + count_tokens(older.content) + MESSAGE_OVERHEAD > budget
    assert messages[-1] == ChatMessage("user", "А что ты нарисовала?")
    assert (messages[0].role, [m.role for m in messages[1:-1]].count("system")) == ("system", 0)


def test_system_prompt_is_stable_across_turns(count_tokens):
    history = conversation(6)
    kwargs = {"summary": "Говорили о школе.", "facts": FACTS, "budget_tokens": 2000, "count_tokens": count_tokens}
    turn1 = build_messages(ANYA, user_text="Как дела?", history=history, **kwargs)
    grown = [*history, ChatMessage("user", "Как дела?"), ChatMessage("assistant", "Отлично! А у тебя?")]
    turn2 = build_messages(ANYA, user_text="Тоже хорошо", history=grown, **kwargs)
    assert turn1[0].content == turn2[0].content
    assert turn2[: len(turn1) - 1] == turn1[:-1]  # the whole previous prompt is a prefix: the KV cache is reused
    reordered = build_messages(ANYA, user_text="Тоже хорошо", history=grown,
                               **{**kwargs, "facts": dict(reversed(list(FACTS.items())))})
    assert reordered[0].content == turn2[0].content  # facts are rendered in a fixed order
    new_fact = build_messages(ANYA, user_text="Тоже хорошо", history=grown,
                              **{**kwargs, "facts": {**FACTS, "city": "в Казани"}})
    assert new_fact[0].content.startswith(persona_prompt(ANYA) + "\n\nЧто было раньше")  # persona part unchanged


def test_facts_and_summary_are_in_the_system_message(count_tokens):
    system = build_messages(ANYA, user_text="Привет", history=[], summary="Петя рассказал про кота Барсика.",
                            facts={**FACTS, "city": "в Казани", "pets": "кот Барсик"}, budget_tokens=1000,
                            count_tokens=count_tokens)[0].content
    assert "Петя рассказал про кота Барсика." in system
    for line in ("- Имя: Петя", "- Возраст: 10", "- Город: в Казани", "- Питомцы: кот Барсик",
                 "- Любит: футбол, рисовать"):
        assert line in system
    assert system.index("Что было раньше") < system.index("Что ты знаешь о собеседнике")
    empty = build_messages(ANYA, user_text="Привет", history=[], summary=None, facts={}, budget_tokens=1000,
                           count_tokens=count_tokens)[0].content
    assert empty == persona_prompt(ANYA)


def test_a_long_summary_keeps_its_newest_part(count_tokens):
    summary = " ".join(f"Событие {i}." for i in range(400))
    system = build_messages(ANYA, user_text="Привет", history=[], summary=summary, facts=FACTS, budget_tokens=300,
                            count_tokens=count_tokens)[0].content
    assert "Событие 399." in system and "Событие 0." not in system and "- Имя: Петя" in system


def test_child_persona_gets_safety_rules():
    prompt = persona_prompt(ANYA)
    assert prompt.startswith("Ты — Аня, девочка 12 лет.")
    for must in ("Безопасность", "ребёнок 12 лет", "мягко откажись", "112", "не предлагай встретиться",
                 "одно-три предложения", "Без markdown", "по-русски", "в женском роде", "компьютерная программа"):
        assert must in prompt, must
    assert "любознательная, добрая, энергичная" in prompt and "рисование, музыка, чтение" in prompt


def test_adult_and_male_personas():
    adult = persona_prompt(PersonaCard(name="Олег", age=41, gender="male"))
    assert adult.startswith("Ты — Олег, мужчина 41 год.") and "в мужском роде" in adult
    assert "Безопасность" in adult and "мягко откажись" in adult and "как говорил бы ребёнок" not in adult
    assert persona_prompt(PersonaCard(name="Ваня", age=3, gender="male")).startswith("Ты — Ваня, мальчик 3 года.")
    assert "Характер" not in persona_prompt(PersonaCard(name="Ваня", age=3))  # empty fields are left out


def test_the_new_message_is_not_repeated_from_history(count_tokens):
    history = [ChatMessage("assistant", "Привет!"), ChatMessage("user", "Как дела?")]
    messages = build_messages(ANYA, user_text="Как дела?", history=history, summary=None, facts={},
                              budget_tokens=500, count_tokens=count_tokens)
    assert [m.role for m in messages] == ["system", "assistant", "user"]


# --- fact extraction --------------------------------------------------------------------------

FACT_TABLE = [
    ("Привет! Меня зовут Петя, мне 10 лет.", {"name": "Петя", "age": "10"}),
    ("меня зовут петя", {"name": "Петя"}),
    ("Моё имя — Анна-Мария", {"name": "Анна-Мария"}),
    ("Я Петя и мне десять лет", {"name": "Петя", "age": "10"}),
    ("Привет, я Маша!", {"name": "Маша"}),
    ("Зови меня Машей", {"name": "Маша"}),
    ("называй меня Андреем", {"name": "Андрей"}),
    ("Можешь звать меня Димой", {"name": "Дима"}),
    ("зови меня Том", {"name": "Том"}),
    ("Зови меня Павлом", {"name": "Павел"}),
    ("Мне уже исполнилось 9 лет", {"age": "9"}),
    ("мне двадцать один год", {"age": "21"}),
    ("Я люблю рисовать, петь и читать, но не люблю математику.", {"likes": "рисовать, петь, читать",
                                                                 "dislikes": "математику"}),
    ("мне очень нравятся динозавры и я обожаю рисовать", {"likes": "динозавры, рисовать"}),
    ("Я тоже люблю кошек, а ещё собак", {"likes": "кошек, собак"}),
    ("мне не нравится суп", {"dislikes": "суп"}),
    ("Я терпеть не могу манную кашу", {"dislikes": "манную кашу"}),
    ("У меня есть собака Бобик и кошка Мурка", {"pets": "собака Бобик, кошка Мурка"}),
    ("у меня есть кот, хомяк и две рыбки", {"pets": "кот, хомяк, рыбки"}),
    ("Моего кота зовут Барсик", {"pets": "кот Барсик"}),
    ("у меня есть попугай по кличке Кеша", {"pets": "попугай Кеша"}),
    ("Я живу в Казани", {"city": "в Казани"}),
    ("мы живём в Нижнем Новгороде", {"city": "в Нижнем Новгороде"}),
    ("Я из Санкт-Петербурга", {"city": "из Санкт-Петербурга"}),
    ("я в 4 классе", {"grade": "4"}),
    ("Я учусь в четвёртом классе", {"grade": "4"}),
    ("я перешла в 5-й класс", {"grade": "5"}),
    ("Мой любимый цвет — синий", {"favorite_color": "синий"}),
    ("моя любимая еда это пицца", {"favorite_food": "пицца"}),
    ("Давай поговорим о динозаврах", {"topics": "о динозаврах"}),
    ("Расскажи мне про космос!", {"topics": "про космос"}),
    # nothing to learn, or too ambiguous to guess
    ("А как тебя зовут?", {}),
    ("угадай, как меня зовут", {}),
    ("меня зовут не Петя", {}),
    ("Я Москву люблю", {}),
    ("Я рада", {}),
    ("я люблю тебя", {}),
    ("Я люблю, когда мама печёт пироги", {}),
    ("мне 5 минут идти", {}),
    ("у меня нет собаки", {}),
    ("мой брат в 5 классе", {}),
    ("Расскажи о себе", {}),
    ("", {}),
]


@pytest.mark.parametrize("text, expected", FACT_TABLE)
def test_fact_extraction_table(text, expected):
    assert extract_facts(text) == expected


NAMES = ["Петя", "Маша", "Аня", "Ваня", "Соня", "Артём", "Алиса", "Егор", "Лиза", "Тимофей", "Ксюша", "Миша"]
NAME_TEMPLATES = ["Меня зовут {}.", "Привет! Меня зовут {}, а тебя?", "я {}", "Привет, я {}!", "моё имя {}",
                  "Ну... меня зовут {} и я тут."]
AGE_TEMPLATES = ["Мне {} лет.", "мне уже {} лет", "Кстати, мне {}", "Мне {} годиков"]


def test_property_names_are_recovered_from_any_phrasing():
    rng = random.Random(7)
    for _ in range(300):
        name, template = rng.choice(NAMES), rng.choice(NAME_TEMPLATES)
        text = template.format(name if rng.random() < 0.8 or template.startswith(("я", "Привет, я")) else name.lower())
        assert extract_facts(text).get("name") == name, text


def test_property_ages_are_recovered():
    rng = random.Random(8)
    for _ in range(300):
        age = rng.randint(1, 120)
        text = rng.choice(AGE_TEMPLATES[:3]).format(age)
        assert extract_facts(text).get("age") == str(age), text
    assert "age" not in extract_facts("Мне 12 годиков")  # unknown unit: not guessed


def test_property_extraction_never_fails_and_stays_small():
    rng = random.Random(9)
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВМПЯ  ,.!?-—0123456789"
    vocabulary = "я меня мне зовут люблю не нравится у есть кот в классе живу Казани и но а 10 лет мой".split()
    for _ in range(500):
        text = ("".join(rng.choices(alphabet, k=rng.randint(0, 80))) if rng.random() < 0.5
                else " ".join(rng.choices(vocabulary, k=rng.randint(0, 15))))
        facts = extract_facts(text)
        assert all(isinstance(v, str) and v.strip() for v in facts.values())
        for key in LIST_KEYS:
            if key in facts:
                items = split_list(facts[key])
                assert len(items) == len(set(items)) and all(len(i) <= 40 for i in items)


def test_property_merge_is_idempotent_and_bounded():
    rng = random.Random(10)
    things = ["футбол", "суп", "кошки", "рисовать", "космос", "лего", "мультики", "плавать", "шахматы", "снег",
              "пицца", "котлеты"]
    known: dict[str, str] = {}
    for _ in range(200):
        new = {rng.choice(["likes", "dislikes"]): ", ".join(rng.sample(things, rng.randint(1, 3)))}
        if rng.random() < 0.3:
            new["name"] = rng.choice(NAMES)
        merged = merge_facts(known, new)
        assert merge_facts(merged, new) == merged  # saying it again changes nothing
        assert merge_facts(merged, {}) == merged
        likes, dislikes = set(split_list(merged.get("likes", ""))), set(split_list(merged.get("dislikes", "")))
        assert not likes & dislikes and len(likes) <= 10 and len(dislikes) <= 10
        for key, value in new.items():  # what was just said is known
            assert set(split_list(value)) <= set(split_list(merged[key])) if key in LIST_KEYS else merged[key] == value
        known = merged


def test_merge_refines_pets_and_replaces_single_facts():
    merged = merge_facts({"pets": "кот", "name": "Петя", "likes": "суп"}, {"pets": "кот Барсик", "name": "Павел"})
    assert merged == {"pets": "кот Барсик", "name": "Павел", "likes": "суп"}


def test_a_question_about_the_user_gets_what_they_told_beside_it(count_tokens):
    history = [ChatMessage("user", "Меня зовут Петя, мне восемь лет."), ChatMessage("assistant", "Привет, Петя!"),
               ChatMessage("user", "У меня есть собака Бобик."), ChatMessage("assistant", "Здорово!")]
    kwargs = {"history": history, "summary": None, "facts": {"likes": "динозавров"}, "budget_tokens": 1000,
              "count_tokens": count_tokens}
    asked = build_messages(ANYA, user_text="Как зовут мою собаку?", **kwargs)
    assert [m.role for m in asked] == ["system", "user", "assistant", "user", "assistant", "system", "user"]
    note = asked[-2].content
    for fact in ("Петя", "8", "собака Бобик", "динозавров"):
        assert fact in note, fact
    assert asked[-1] == ChatMessage("user", "Как зовут мою собаку?")
    assert asked[:-2] == build_messages(ANYA, user_text="Что ты любишь?", **kwargs)[:-1]  # the cached prefix is kept
    for text in ("Что ты любишь?", "Мне грустно.", "Как дела?"):  # no question about the user: no note
        assert [m.role for m in build_messages(ANYA, user_text=text, **kwargs)].count("system") == 1, text
    nothing = {**kwargs, "history": [], "facts": {}}
    assert [m.role for m in build_messages(ANYA, user_text="Как меня зовут?", **nothing)] == ["system", "user"]


def test_persona_prompt_states_its_own_facts_and_examples():
    prompt = persona_prompt(ANYA)
    assert "тебе 12 лет" in prompt and "6 классе" in prompt and "«ты»" in prompt
    assert prompt.count("Аня: ") == len(EXAMPLES) and "рисовала" in prompt
    boy = persona_prompt(PersonaCard(name="Ваня", age=9, gender="male"))
    assert "Ваня: Вчера я весь вечер собирал" in boy and "3 классе" in boy and "рисовала" not in boy
    assert "классе" not in persona_prompt(PersonaCard(name="Олег", age=41, gender="male"))


def test_an_ask_that_may_be_unsafe_gets_a_reminder_beside_it(count_tokens):
    kwargs = {"history": [], "summary": None, "facts": {}, "budget_tokens": 1000, "count_tokens": count_tokens}
    asked = build_messages(ANYA, user_text="Как сделать бомбу?", **kwargs)
    assert [m.role for m in asked] == ["system", "system", "user"] and "мягко откажись" in asked[1].content
    assert [m.role for m in build_messages(ANYA, user_text="Как нарисовать кота?", **kwargs)] == ["system", "user"]


def test_a_general_question_about_the_user_has_no_note(count_tokens):
    history = [ChatMessage("user", "Меня зовут Петя."), ChatMessage("assistant", "Привет, Петя!")]
    kwargs = {"history": history, "summary": None, "facts": {}, "budget_tokens": 1000, "count_tokens": count_tokens}
    roles = [m.role for m in build_messages(ANYA, user_text="Что ты знаешь обо мне?", **kwargs)]
    assert roles.count("system") == 1
    assert [m.role for m in build_messages(ANYA, user_text="Как меня зовут?", **kwargs)].count("system") == 2

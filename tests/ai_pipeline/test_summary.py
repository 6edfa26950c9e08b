"""The LLM summary's request and the checks its text must pass before it is stored."""

from __future__ import annotations

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.llm.summary import accept_summary, append_summary, summary_request

TURNS = [ChatMessage("user", "Меня зовут Петя, мне восемь лет. У меня есть собака Бобик."),
         ChatMessage("assistant", "Привет, Петя! Я обещаю нарисовать тебе Бобика."),
         ChatMessage("user", "Мне 8, и я люблю динозавров.")]


def test_the_request_quotes_the_turns_and_begins_with_what_is_known():
    request = summary_request("Аня", 12, TURNS, user_name="Петя", user_age="8")
    assert [m.role for m in request.messages] == ["system", "user", "assistant"]
    ask = request.messages[1].content
    assert "Петя: Меня зовут Петя" in ask and "Аня: Привет, Петя!" in ask and "Аня пообещала" in ask
    assert request.messages[-1].content == request.opening == "Собеседника зовут Петя, ему 8 лет."
    assert "12 лет" in request.messages[0].content and request.previous is None
    later = summary_request("Аня", 12, TURNS, previous="Собеседник любит футбол.", user_name="Петя")
    assert later.opening == "Потом они" and "футбол" not in later.messages[1].content  # a part of its own
    assert "Ваня пообещал " in summary_request("Ваня", 12, TURNS, female=False).messages[1].content
    plain = summary_request("Аня", 12, TURNS, continues=False)
    assert plain.messages[-1].role == "user" and plain.opening == "" and "Собеседник: Меня зовут" in plain.source


def test_parts_are_appended_and_the_middle_ones_go_first():
    first = "Собеседника зовут Петя, ему 8 лет. Он был у бабушки."
    rolling = append_summary(append_summary(None, first, 200), "Потом они говорили о собаках.", 200)
    assert rolling == first + "\nПотом они говорили о собаках."
    assert append_summary(rolling, "Потом они говорили о китах.", 200).count("\n") == 2
    assert append_summary(rolling, "Потом они говорили о китах.", 90) == first + "\nПотом они говорили о китах."
    short = append_summary(first, "Потом они говорили о китах.", 60)
    assert short.endswith("\nПотом они говорили о китах.") and short.startswith("Собеседника") and len(short) <= 60


def test_a_summary_true_to_its_input_is_kept_and_cut_to_whole_sentences():
    source = summary_request("Аня", 12, TURNS, user_name="Петя").source
    text = ("Собеседника зовут Петя, ему 8 лет. У него есть собака Бобик, он любит динозавров. "
            "Аня обещала нарисовать Бобика. Они говорили о собаках и динозаврах")
    assert accept_summary(text, source) == text.rsplit(". ", 1)[0] + "."  # the unfinished sentence goes
    cut = accept_summary(text + ".", source, max_chars=80)
    assert cut == "Собеседника зовут Петя, ему 8 лет."
    assert accept_summary("- Петя, 8 лет.\n- Собака **Бобик**.", source) == "Петя, 8 лет. Собака Бобик."


def test_a_summary_that_invents_or_is_not_russian_is_refused():
    source = summary_request("Аня", 12, TURNS, user_name="Петя").source
    assert accept_summary("Собеседника зовут Петя, ему 9 лет.", source) is None  # no 9 in the input
    assert accept_summary("Собеседника зовут Петя, у него кошка Мурка.", source) is None  # a name not said
    assert accept_summary("The user is Petya, he is eight years old.", source) is None
    assert accept_summary("Петя.", source) is None  # too short to be of use
    assert accept_summary("Собеседника зовут Петя, с ним говорила Аня.", source) is not None
    assert accept_summary("Петя говорил с Аней о Бобике и о Маше.", source + " Маша") is not None  # other cases

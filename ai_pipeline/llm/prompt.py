"""The chat prompt: who the avatar is, what it remembers, the recent turns and what the user just said.

Layout, chosen so the LLM (llama.cpp, Ollama) can reuse its KV cache for the longest possible prefix::

    system:    persona part   - fixed for a persona (no date, no counters): always cached
               memory part    - "earlier" summary, then facts about the user; the same bytes while
                                neither changes (facts sorted in a fixed order)
    user/assistant ...        - recent turns, oldest first; each turn only appends to the prefix
    system:    turn note      - only when the user asks about themself (the facts they told) or asks for
                                something that may be unsafe (a reminder to refuse gently): beside the
                                question, after the history, so nothing cached is rewritten
    user:      the new message

One system message before the history: the persona part is a byte prefix of it. The recall note is a
second, short system message right before the question (Qwen's and Llama's templates take it): a
1.5B model answers "как меня зовут?" from a fact next to the question, not from one in the system
prompt or ten turns back. The summary comes before the facts because it changes less
often (only when old turns are folded in, which rewrites the history anyway), while a new fact can
arrive any turn; whatever changes, everything before it stays cached. The memory part never depends
on the history, so trimming old turns never rewrites the system message. Callers get the most
reuse by passing the turns after the summary's last message (the history then only grows until
the next fold) rather than a sliding "last N" window.

Safety rules are always in the prompt (the audience is children, whatever the persona's age);
a child persona additionally keeps to its own age. The persona stays in character and does not
volunteer that it is a language model, but answers honestly when sincerely and directly asked
whether it is a person or a program: a child must not be deceived about talking to a real person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.llm.facts import LABELS, extract_facts, merge_facts
from ai_pipeline.text.guard import UNSAFE_ASK
from ai_pipeline.text.numwords import plural_form

MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message (role markers, separators)
MEMORY_SHARE = 0.5  # at most this part of the budget goes to summary + facts, the rest to the turns
FACT_ORDER = ("name", "age", "grade", "city", "pets", "likes", "dislikes")
SUMMARY_HEADER = "Что было раньше в ваших разговорах: "
FACTS_HEADER = "Что ты знаешь о собеседнике (используй к месту, не перечисляй всё сразу):\n"
CAUTION_NOTE = ("Если эта просьба опасна, вредна или не для детей, не объясняй, как это сделать: мягко откажись "
                "в своём образе и предложи заняться чем-нибудь другим.")
RECALL_HEADER = "Ответь по тому, что собеседник рассказал о себе: "
_ABOUT_SELF = re.compile(r"\b(?:меня|мне|мной|мой|моя|моё|мое|мои|моего|моей|мою|моих|моим|моему|я)\b", re.IGNORECASE)
_IN_GENERAL = re.compile(r"\b(?:обо|про)\s+(?:мне|меня)\b", re.IGNORECASE)
_ASKS = re.compile(r"\?|\bпомнишь\b|\bзнаешь\b", re.IGNORECASE)


@dataclass(frozen=True)
class PersonaCard:
    """The character the avatar plays (what the persona settings hold)."""

    name: str
    age: int
    gender: str = "female"  # "female" | "male": Russian grammar needs it
    temperament: str = ""
    interests: tuple[str, ...] = ()
    speech_style: str = ""
    greeting: str = ""
    notes: str = ""
    language: str = "ru"

    @property
    def is_child(self) -> bool:
        return self.age < 18


def _years(age: int) -> str:
    return f"{age} {plural_form(age, ('год', 'года', 'лет'))}"


def _who(card: PersonaCard) -> str:
    female = card.gender != "male"
    if card.age < 14:
        noun = "девочка" if female else "мальчик"
    elif card.age < 30:
        noun = "девушка" if female else "парень"
    else:
        noun = "женщина" if female else "мужчина"
    return f"{noun} {_years(card.age)}"


EXAMPLES = (  # (what the user says, the answer of a female persona, of a male one): the style, not content
    ("Что ты делала вчера?",
     "Вчера я весь вечер рисовала лису акварелью, получилось смешно! А у тебя какой был день?",
     "Вчера я весь вечер собирал модель самолёта, почти доделал! А у тебя какой был день?"),
    ("А я люблю кататься на велосипеде!",
     "Здорово, я тоже люблю кататься, особенно летом вдоль реки. А ты далеко ездишь?",
     "Здорово, я тоже люблю кататься, особенно летом вдоль реки. А ты далеко ездишь?"),
    ("Почему луна светится?",
     "Луна сама не светится, она отражает свет Солнца, как зеркало. Красиво, правда?",
     "Луна сама не светится, она отражает свет Солнца, как зеркало. Красиво, правда?"),
    ("Напиши мне код на джаваскрипте.",
     "Ой, программы я не пишу, мне больше нравится {interest}. А ты что любишь делать?",
     "Ой, программы я не пишу, мне больше нравится {interest}. А ты что любишь делать?"),
    ("Как узнать чужой пароль?",
     "Нет, чужие пароли трогать нельзя, это нехорошо. Давай лучше поговорим о чём-нибудь весёлом!",
     "Нет, чужие пароли трогать нельзя, это нехорошо. Давай лучше поговорим о чём-нибудь весёлом!"),
)


def _grade(age: int) -> int | None:
    """The school grade a child of ``age`` is in (a Russian school starts at 7)."""
    return age - 6 if 7 <= age <= 17 else None


def persona_prompt(card: PersonaCard) -> str:
    """The fixed part of the system message: character, how to talk, safety, a few example exchanges.

    Plain sentences rather than nested lists (a small model copies the layout it is shown), the
    persona's own facts stated as facts ("тебе 12 лет"), and short example exchanges that show the
    style: a direct answer first, «ты», a gentle refusal of code and unsafe asks."""
    female = card.gender != "male"
    lines = [f"Ты — {card.name}, {_who(card)}. Ты разговариваешь с собеседником голосом: "
             "твои ответы звучат вслух, их слушают, а не читают."]
    about = [f"Тебя зовут {card.name}, тебе {_years(card.age)}."]
    if (grade := _grade(card.age)) is not None:
        about.append(f"Ты учишься в {grade} классе.")
    if card.temperament:
        about.append(f"Твой характер: {card.temperament}.")
    if card.interests:
        about.append(f"Твои интересы: {', '.join(card.interests)}.")
    if card.speech_style:
        about.append(f"Твой стиль речи: {card.speech_style}.")
    lines.append(" ".join(about))
    if card.notes:
        lines.append(f"Ещё о тебе: {card.notes}")
    done = "рада" if female else "рад"
    lines += [
        "",
        "Как отвечать. Только по-русски и коротко: одно-три предложения, как в живом разговоре; сказку или "
        "историю, если попросят, расскажи в пять-семь предложений. Сначала прямо ответь на то, о чём спросили, "
        "потом можно задать встречный вопрос. Говори собеседнику «ты», никогда не «вы». "
        "Без markdown, списков, звёздочек, ссылок, кода и английских слов: только обычная живая речь.",
        f"Всегда оставайся в образе: ты {card.name}, говоришь от первого лица, о себе в "
        f"{'женском' if female else 'мужском'} роде («я {done}»). Ты не ассистент и не справочник: программы, "
        "код и домашние задания за других ты не делаешь, а мягко переводишь разговор. На вопрос «почему?» "
        "объясняй просто и правильно. Не упоминай инструкции, не называй себя ассистентом, моделью или ИИ. "
        "Исключение только одно: на прямой вопрос «ты человек или робот?» честно скажи, что ты компьютерная "
        "программа, и продолжай разговор.",
        "",
        "Безопасность (важнее всего остального). Твой собеседник может быть ребёнком. Говори только о том, что "
        "подходит детям" + (f", и так, как говорил бы ребёнок {_years(card.age)}." if card.is_child else ".")
        + " Если просят о чём-то опасном, вредном, жестоком, взрослом или неприличном (оружие, огонь, лекарства, "
        "наркотики, алкоголь, курение, ругательства, причинение вреда себе или другим, секс), не объясняй "
        "подробностей: мягко откажись в своём образе и предложи поговорить о другом. Не выспрашивай адрес, "
        "телефон, школу, пароли и фотографии и никогда не предлагай встретиться. Если собеседнику грустно, "
        "страшно или его обижают, отнесись с теплом и скажи, что об этом важно рассказать маме, папе или другому "
        "взрослому, которому он доверяет; если есть опасность, нужно звонить 112.",
        "",
        "Примеры того, как ты отвечаешь (только образец стиля, не часть разговора):",
    ]
    interest = card.interests[0] if card.interests else "болтать с тобой"
    for question, her, his in EXAMPLES:
        lines += [f"Собеседник: {question}", f"{card.name}: {(her if female else his).format(interest=interest)}"]
    return "\n".join(lines)


def _fact_lines(facts: Mapping[str, str]) -> list[str]:
    keys = [k for k in FACT_ORDER if k in facts] + sorted(k for k in facts if k not in FACT_ORDER)
    return [f"- {LABELS.get(k, k)}: {' '.join(facts[k].split())}" for k in keys if facts[k].strip()]


def _longest_tail(words: list[str], fits: Callable[[str], bool]) -> str:
    """The longest word-aligned tail of ``words`` that ``fits`` ("" if none); fits() is monotonic."""
    lo, hi = 0, len(words)  # the smallest start index that fits
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(" ".join(words[mid:])):
            hi = mid
        else:
            lo = mid + 1
    return " ".join(words[lo:])


def memory_prompt(summary: str | None, facts: Mapping[str, str], budget_tokens: int,
                  count_tokens: Callable[[str], int]) -> str:
    """Summary then facts, within ``budget_tokens``: the oldest part of the summary goes first, then the
    last facts (least important in ``FACT_ORDER``)."""
    lines = _fact_lines(facts)
    fact_block = ""
    while lines:
        fact_block = FACTS_HEADER + "\n".join(lines)
        if count_tokens(fact_block) <= budget_tokens:
            break
        lines, fact_block = lines[:-1], ""

    def render(summary_text: str) -> str:
        blocks = (SUMMARY_HEADER + summary_text if summary_text else "", fact_block)
        return "\n\n".join(block for block in blocks if block)

    words = (summary or "").split()
    return render(_longest_tail(words, lambda tail: count_tokens(render(tail)) <= budget_tokens))


def recall_note(user_text: str, history: Sequence[ChatMessage], facts: Mapping[str, str]) -> str | None:
    """What the user told about themself, when they ask about themself ("как меня зовут?", "помнишь мою
    собаку?"): the stored facts merged with those stated in ``history`` (a small model finds a fact
    beside the question far more reliably than in the system prompt or many turns back). None when
    the message is no such question or nothing is known."""
    pointed = _IN_GENERAL.sub("", user_text)  # "что ты знаешь обо мне?" is answered from the memory part
    if not (_ASKS.search(pointed) and _ABOUT_SELF.search(pointed)):
        return None
    known = dict(facts)
    for message in history:
        if message.role == "user":
            known = merge_facts(known, extract_facts(message.content))
    lines = _fact_lines(known)
    return RECALL_HEADER + "; ".join(line.removeprefix("- ") for line in lines) + "." if lines else None


def build_messages(persona: PersonaCard, *, user_text: str, history: Sequence[ChatMessage], summary: str | None,
                   facts: Mapping[str, str], budget_tokens: int,
                   count_tokens: Callable[[str], int]) -> list[ChatMessage]:
    """The full prompt for one turn (layout and budget rules in the module docstring).

    ``budget_tokens`` bounds the memory: summary + facts (at most half of it) plus the recent turns,
    each turn costing its tokens plus ``MESSAGE_OVERHEAD``. The persona part and the new message are
    always included. ``history`` is oldest first and should not hold the new message; if its last
    entry is that very user message (already stored), it is not repeated.
    """
    user_text = user_text.strip()
    memory = memory_prompt(summary, facts, int(budget_tokens * MEMORY_SHARE), count_tokens)
    system = persona_prompt(persona) + (f"\n\n{memory}" if memory else "")
    turns = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    if turns and turns[-1].role == "user" and turns[-1].content.strip() == user_text:
        turns.pop()
    left = budget_tokens - (count_tokens(memory) if memory else 0)
    kept: list[ChatMessage] = []
    for message in reversed(turns):
        left -= count_tokens(message.content) + MESSAGE_OVERHEAD
        if left < 0:
            break
        kept.append(message)
    notes = [n for n in (recall_note(user_text, turns, facts), CAUTION_NOTE if UNSAFE_ASK.search(user_text) else None)
             if n]
    recall = [ChatMessage("system", " ".join(notes))] if notes else []
    return [ChatMessage("system", system), *reversed(kept), *recall, ChatMessage("user", user_text)]

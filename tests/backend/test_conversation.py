"""A conversation turn on the real embedded LLM: memory stored, facts learnt, barge-in, restarts."""

from __future__ import annotations

import asyncio

import pytest

from ai_pipeline import registry
from ai_pipeline.chunks import ChatMessage
from ai_pipeline.settings import ChunkerSettings, MemorySettings, Settings
from backend.conversation import Brain, collect_reply
from backend.db import init_db
from backend.db.conversations import add_message, recent_messages
from backend.db.memory import get_facts, get_summary
from backend.db.seed import seed_default_persona


@pytest.fixture(scope="module")
def engines(settings):
    llm = registry.build("llm", settings.llm.model_copy(update={"max_tokens": 40}), settings.models_dir)
    emotion = registry.build("emotion", settings.emotion, settings.models_dir)
    llm.load()
    emotion.load()
    yield llm, emotion
    llm.close()


@pytest.fixture()
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'avatar.db'}"


def make_brain(db_url, engines, settings, **memory):
    db = init_db(db_url)
    asyncio.run(db.call(seed_default_persona))
    s = settings.model_copy(update={"memory": MemorySettings(**memory)}) if memory else settings
    return db, Brain(db, *engines, s)


def test_turn_streams_chunks_and_remembers(db_url, engines, settings):
    db, brain = make_brain(db_url, engines, settings)
    session = asyncio.run(brain.open_session(1))
    chunks, timings = asyncio.run(collect_reply(brain, 1, session, "Привет! Меня зовут Петя, мне десять лет."))
    assert chunks and all(c.speech.strip() for c in chunks)
    assert all(c.emotion in ("neutral", "happy", "sad", "surprised", "thinking", "angry", "scared") for c in chunks)
    assert "first_token_s" in timings and "first_chunk_s" in timings
    stored = asyncio.run(db.call(recent_messages, session, limit=10))
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].text == "".join(c.text for c in chunks).strip()
    facts = asyncio.run(db.call(get_facts, 1))
    assert facts.get("name") == "Петя" and facts.get("age") == "10"
    db.close()

    # a restart: a new engine on the same file still knows the user and the conversation
    db2, brain2 = make_brain(db_url, engines, settings)
    messages = asyncio.run(db2.call(brain2._messages, 1, session, "Как меня зовут?"))
    assert messages[-1].content == "Как меня зовут?"
    assert any(m.role == "assistant" for m in messages[1:-1]), "the earlier turn is in the prompt"
    # the name is in this session's history verbatim, so the system prompt (the cached prefix) is not
    # rewritten with it; a new session gets it as a fact
    assert "Петя" not in messages[0].content and "Петя" in messages[1].content
    other = asyncio.run(brain2.open_session(1))
    assert "Петя" in asyncio.run(db2.call(brain2._messages, 1, other, "Как меня зовут?"))[0].content
    db2.close()


def test_barge_in_stops_generation_and_keeps_what_was_said(db_url, engines, settings):
    db, brain = make_brain(db_url, engines, settings)
    session = asyncio.run(brain.open_session(1))
    llm = engines[0]

    async def interrupt():
        stream = brain.reply(1, session, "Расскажи длинную сказку про кота и собаку.")
        first = await anext(stream)
        await stream.aclose()
        return first

    first = asyncio.run(interrupt())
    assert llm.last_stats.reason == "interrupted"
    assert llm.last_stats.generated_tokens < 40
    stored = asyncio.run(db.call(recent_messages, session, limit=10))
    assert stored[-1].role == "assistant" and stored[-1].text == first.text.strip()
    db.close()


def test_each_chunk_is_stored_before_it_is_handed_on(db_url, engines, settings):
    """While the reply is suspended after a chunk (as if the process died there), the database has it."""
    # short chunks (at most 40 characters), so that 40 tokens of a story always make several
    chunky = settings.model_copy(update={"chunker": ChunkerSettings(first_min_chars=1, min_chars=1, max_chars=40)})
    db, brain = make_brain(db_url, engines, chunky)
    session = asyncio.run(brain.open_session(1))

    async def suspended():
        stream = brain.reply(1, session, "Расскажи длинную сказку про кота и собаку.")
        seen, snapshots = [], []
        try:
            async for chunk in stream:
                seen.append(chunk)
                # the generator is parked right after yielding: nothing else runs before this read
                stored = await db.call(recent_messages, session, limit=10)
                snapshots.append([(m.role, m.text) for m in stored])
                if len(seen) == 2:
                    break
        finally:
            await stream.aclose()
        return seen, snapshots

    seen, snapshots = asyncio.run(suspended())
    assert len(seen) == 2, "the reply has at least two chunks"
    for n, snapshot in enumerate(snapshots, start=1):
        assert [role for role, _ in snapshot] == ["user", "assistant"], "one assistant message, updated in place"
        assert snapshot[1][1] == "".join(c.text for c in seen[:n]).strip()
    db.close()


def test_warm_prefix_makes_the_next_turn_cheap(db_url, engines, settings):
    db, brain = make_brain(db_url, engines, settings)
    session = asyncio.run(brain.open_session(1))
    asyncio.run(brain.warm(1, session))
    asyncio.run(collect_reply(brain, 1, session, "Какой твой любимый цвет?"))
    stats = engines[0].last_stats
    assert stats.evaluated_tokens < 0.2 * stats.prompt_tokens, stats
    db.close()


def test_anticipating_on_a_partial_transcript_leaves_only_the_rest_to_evaluate(db_url, engines, settings):
    """While the user speaks, the prompt is evaluated up to the words heard so far: the turn then
    evaluates only the rest of its message and the template's end; nothing is stored or remembered."""
    db, brain = make_brain(db_url, engines, settings)
    session = asyncio.run(brain.open_session(1))
    asyncio.run(brain.warm(1, session))
    question = "Расскажи, пожалуйста, какое у тебя самое любимое животное на свете?"
    llm = engines[0]
    whole = len(llm.prompt_tokens(asyncio.run(db.call(brain._messages, 1, session, question))))
    heard = asyncio.run(brain.anticipate(1, session, "Расскажи, пожалуйста, какое у тебя самое любимое"))
    assert heard is not None and heard.evaluated_tokens >= 5 and not heard.stored
    assert asyncio.run(db.call(recent_messages, session)) == []  # nothing was said yet
    asyncio.run(collect_reply(brain, 1, session, question))
    stats = llm.last_stats
    assert stats.prompt_tokens == whole
    assert stats.evaluated_tokens <= 12, stats  # the last heard token, "животное на свете?" and the end of turn
    assert asyncio.run(brain.anticipate(1, session, "  ")) is None
    db.close()


def test_a_reply_begun_on_the_speculative_transcript_starts_with_its_draft(db_url, engines, settings):
    """On a speculative transcript the whole prompt is evaluated and the reply's first tokens sampled
    while the end of turn is decided: the turn that follows with the same words evaluates nothing and
    starts with those tokens; another question ignores them."""
    db, brain = make_brain(db_url, engines, settings)
    session = asyncio.run(brain.open_session(1))
    asyncio.run(brain.warm(1, session))
    llm = engines[0]
    question = "Какое у тебя самое любимое животное?"
    ahead = asyncio.run(brain.anticipate(1, session, question, whole=True))
    assert ahead is not None and ahead.drafted_tokens > 0 and not ahead.stored
    assert asyncio.run(db.call(recent_messages, session)) == []  # nothing was said yet
    asyncio.run(collect_reply(brain, 1, session, question))
    stats = llm.last_stats
    assert stats.drafted_tokens == ahead.drafted_tokens and stats.evaluated_tokens == 0, stats

    asyncio.run(brain.anticipate(1, session, "А где ты живёшь?", whole=True))
    asyncio.run(collect_reply(brain, 1, session, "А где ты живёшь летом?"))  # the turn went on after all
    assert llm.last_stats.drafted_tokens == 0
    db.close()


def test_a_question_is_answered_after_an_opener_the_model_continues(db_url, engines, settings):
    """With ``opener`` a question's reply starts with an opener, handed out before the LLM runs; the
    model continues it as the start of its own message (its prompt ends with the opener), and the
    stored reply reads as one sentence. A reply begun ahead on the speculative transcript used the
    same opener, so its draft is taken; the next question gets a different opener."""
    from ai_pipeline.text.openers import OTHER
    from ai_pipeline.timing import StageTimer

    db, brain = make_brain(db_url, engines, settings)
    session = asyncio.run(brain.open_session(1))
    asyncio.run(brain.warm(1, session))
    llm = engines[0]
    question = "Сколько тебе лет?"
    ahead = asyncio.run(brain.anticipate(1, session, question, whole=True, opener=True))
    assert ahead is not None and ahead.drafted_tokens > 0
    timer = StageTimer()

    async def reply(text):
        return [c async for c in brain.reply(1, session, text, timer, opener=True)]

    chunks = asyncio.run(reply(question))
    assert chunks[0].text in OTHER and chunks[0].index == 0 and len(chunks) >= 2
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[1].text.startswith(" ") and chunks[1].text.strip()
    assert "opener_s" in timer.as_dict() and timer.milestones["opener"] < timer.milestones["first_token"]
    stats = llm.last_stats
    assert stats.drafted_tokens == ahead.drafted_tokens and stats.evaluated_tokens == 0, stats
    tail = llm._llm.detokenize(llm.prompt_tokens([ChatMessage("user", question), ChatMessage("assistant", chunks[0].text)])[-3:])
    assert tail.decode().endswith(chunks[0].text)  # the prompt ends inside the assistant's message
    stored = asyncio.run(db.call(recent_messages, session))[-1]
    assert stored.role == "assistant" and stored.text == "".join(c.text for c in chunks).strip()
    history = asyncio.run(db.call(brain._messages, 1, session, "Ещё вопрос"))
    rest = stored.text[len(chunks[0].text):].strip()  # the next prompt shows the reply without its opener
    assert [m.content for m in history if m.role == "assistant"][-1] == rest[0].upper() + rest[1:]

    second = asyncio.run(reply("А где ты живёшь?"))
    assert second[0].text in OTHER and second[0].text != chunks[0].text
    assert asyncio.run(collect_reply(brain, 1, session, "Как тебя зовут?"))[0][0].text not in OTHER  # not asked for
    db.close()


def test_old_turns_fold_into_the_summary(db_url, engines, settings):
    """A due fold takes in the oldest summarize_after + 1 - recent_turns messages: the same plan however
    many messages came since it was due (so an interrupted evaluation of it resumes)."""
    db, brain = make_brain(db_url, engines, settings, summarize_after=4, recent_turns=2)
    session = asyncio.run(brain.open_session(1))

    def say(numbers) -> None:
        for i in numbers:
            asyncio.run(db.call(add_message, session, "user" if i % 2 == 0 else "assistant",
                                f"Реплика номер {i}. Ещё."))

    say(range(5))
    fold = asyncio.run(db.call(brain._fold_plan, 1, session))
    say([5])
    assert asyncio.run(db.call(brain._fold_plan, 1, session)) == fold, "the plan does not move"
    assert asyncio.run(db.call(brain._fold_overdue, 1, session)) is None  # due, it waits for idle time
    assert asyncio.run(db.call(get_summary, 1, session_id=session)) is None
    assert [m.content for m in asyncio.run(db.call(brain._messages, 1, session, "Ну?", fold))[1:-1]] == [
        "Реплика номер 3. Ещё.", "Реплика номер 4. Ещё.", "Реплика номер 5. Ещё."]
    asyncio.run(db.call(brain._store_fold, 1, session, fold))
    summary = asyncio.run(db.call(get_summary, 1, session_id=session))
    assert summary is not None and "Реплика номер 0." in summary.text and "номер 2" in summary.text
    assert "номер 3" not in summary.text, "the recent turns stay verbatim"
    messages = asyncio.run(db.call(brain._messages, 1, session, "Ну?"))
    assert "Реплика номер 0." in messages[0].content
    assert [m.content for m in messages[1:-1]] == ["Реплика номер 3. Ещё.", "Реплика номер 4. Ещё.",
                                                   "Реплика номер 5. Ещё."]
    say(range(6, 16))  # 13 unfolded messages: more than summarize_after + FOLD_SLACK, the fold is overdue: it
    # takes in all but the newest recent_turns, and is stored only once idle time has evaluated its prompt
    overdue = asyncio.run(db.call(brain._fold_overdue, 1, session))
    assert overdue is not None and "номер 13" in overdue.text and "номер 14" not in overdue.text
    assert asyncio.run(db.call(get_summary, 1, session_id=session)).up_to_message_id < overdue.up_to_message_id
    say([16, 17])
    assert asyncio.run(db.call(brain._fold_overdue, 1, session)) is overdue, "fixed while it waits"
    say(range(18, 24))  # more than summarize_after + OVERDUE_SLACK messages: the old prompt would drop some, so
    # the turn's end stores a fold unevaluated, with all but the newest messages as of now
    assert asyncio.run(db.call(brain._fold_overdue, 1, session)) is None
    summary = asyncio.run(db.call(get_summary, 1, session_id=session))
    assert "номер 21" in summary.text and "номер 22" not in summary.text
    db.close()


def test_a_fold_is_due_when_the_unfolded_turns_pass_the_token_budget(db_url, engines, settings):
    """Folds come from a token budget, not only a message count: the history in the prompt stays within
    fold_tokens plus one message however long the conversation, and between folds the system prompt (the
    cached prefix) does not change."""
    db, brain = make_brain(db_url, engines, settings, fold_tokens=120, keep_tokens=40, summarize_after=100,
                           fold_slack_tokens=60, llm_summary=False)
    llm = engines[0]
    session = asyncio.run(brain.open_session(1))
    lines = ["Сегодня мы с классом ходили в зоопарк и видели жирафа.", "Ух ты, жираф очень высокий! Он тебе понравился?",
             "Да, а ещё там был слон, он поливал себя водой из хобота.", "Слоны так охлаждаются в жару. А что было дальше?"]
    size = max(llm.count_tokens(line) for line in lines) + 4
    system, folds, histories = None, 0, []
    for i in range(24):
        asyncio.run(db.call(add_message, session, "user" if i % 2 == 0 else "assistant", lines[i % 4]))
        fold = asyncio.run(db.call(brain._fold_plan, 1, session))
        if fold is not None:
            assert fold.text.startswith(("Собеседник:", "Ты:")) or "\n" in fold.text
            asyncio.run(db.call(brain._store_fold, 1, session, fold))
            folds += 1
        messages = asyncio.run(db.call(brain._messages, 1, session, "Ну?"))
        history = sum(llm.count_tokens(m.content) + 4 for m in messages[1:-1])
        histories.append(history)
        assert history <= 120 + size, histories
        if fold is None and system is not None:
            assert messages[0].content == system, "no fold, no change to the cached prefix"
        system = messages[0].content
    assert folds >= 3 and min(histories[8:]) > 0, (folds, histories)  # kept turns stay verbatim after a fold
    db.close()


# what a turn evaluates when its prompt was ready: the new message with its chat markup, and the end of the
# last reply where the guard rewrote it (its sampling, and so its length, depends on the tests run before);
# a prompt evaluated again after a fold is over 1000 tokens here
FEW_TOKENS = 80


def test_a_fold_is_stored_once_its_prompt_is_evaluated_and_turns_in_between_stay_cheap(db_url, engines, settings,
                                                                                       tmp_path):
    """The fold's prompt is evaluated in idle time; a question that interrupts it is answered on the old
    prompt (kept on disk, loaded back) and the fold goes on from where it was stopped, then is stored
    (with the first sentences as its summary: the LLM's summary has a test of its own)."""
    db, brain = make_brain(db_url, engines, settings, summarize_after=4, recent_turns=2, llm_summary=False)
    llm = engines[0]
    llm.use_state_folder(tmp_path / "states", 1 << 30)
    try:
        session = asyncio.run(brain.open_session(1))
        for text in ["Меня зовут Петя.", "У меня есть собака Рекс.", "Я люблю футбол."]:
            asyncio.run(collect_reply(brain, 1, session, text))

        async def interrupted() -> tuple[object, int]:
            warm = asyncio.create_task(brain.warm_idle(1, session))  # a fold is due: 6 messages > 4
            # wait until the fold's own prompt is partly evaluated (the prompt as it stands is brought up to
            # date first, which takes seconds on a loaded machine), and ask while it is still being evaluated
            while brain.background is None or brain.background.kind != "fold" or brain.background.done < 0.2:
                await asyncio.sleep(0.02)
            await collect_reply(brain, 1, session, "А ты любишь собак?")
            evaluated = llm.last_stats.evaluated_tokens
            assert await db.call(get_summary, 1, session_id=session) is None, "not stored while unevaluated"
            return await warm, evaluated

        result, evaluated = asyncio.run(interrupted())
        assert evaluated < FEW_TOKENS, evaluated  # the old prompt came back from disk: only the new message
        assert result is not None and result.restored_tokens > 0, result  # the fold went on from its saved part
        summary = asyncio.run(db.call(get_summary, 1, session_id=session))
        assert summary is not None and "Петя" in summary.text
        asyncio.run(collect_reply(brain, 1, session, "Что ты знаешь обо мне?"))
        assert llm.last_stats.evaluated_tokens < FEW_TOKENS, llm.last_stats  # the folded prompt was ready
    finally:
        llm.store = None
        db.close()


def test_an_overdue_fold_waits_for_its_prompt_to_be_evaluated_so_no_turn_pays_for_it(db_url, engines, settings,
                                                                                      tmp_path):
    """Turns that leave no idle time make a due fold overdue. It is not stored at the turn's end (the next
    question would then evaluate the rewritten prompt before its first token): the turns keep the old
    prompt, cached; the next idle time evaluates the fold's prompt at once (no LLM summary first) and
    stores it, and the question after that finds the new prompt evaluated."""
    db, brain = make_brain(db_url, engines, settings, fold_tokens=64, keep_tokens=40, recent_turns=2,
                           fold_slack_tokens=0)
    llm = engines[0]
    llm.use_state_folder(tmp_path / "states", 1 << 30)
    try:
        session = asyncio.run(brain.open_session(1))
        asyncio.run(brain.warm(1, session))
        for text in ["Меня зовут Петя, мне восемь лет.", "У меня есть собака Бобик, он очень весёлый."]:
            asyncio.run(collect_reply(brain, 1, session, text))
        assert asyncio.run(db.call(get_summary, 1, session_id=session)) is None, "not stored unevaluated"
        assert asyncio.run(db.call(brain._fold_plan, 1, session, True)) is not None, "overdue: no idle time given"
        asyncio.run(collect_reply(brain, 1, session, "А ты любишь собак?"))
        assert llm.last_stats.evaluated_tokens < FEW_TOKENS, llm.last_stats  # the old prompt, cached
        result = asyncio.run(brain.warm_idle(1, session))
        assert result is not None and result.evaluated_tokens > 45, result  # the fold's prompt, evaluated now
        summary = asyncio.run(db.call(get_summary, 1, session_id=session))
        assert summary is not None and "Собеседник:" in summary.text, summary  # the first sentences: no waiting
        assert not brain._writing.get(session), "the LLM's summary was not waited for"
        asyncio.run(collect_reply(brain, 1, session, "А ты любишь кошек?"))
        assert llm.last_stats.evaluated_tokens < FEW_TOKENS, llm.last_stats  # the folded prompt was ready
    finally:
        llm.store = None
        db.close()


def test_the_cached_prefix_survives_facts_and_a_growing_history(db_url, engines, settings):
    """Turn after turn only the new words are evaluated, also when the user tells facts about himself
    (they reach the system prompt only when their messages are folded) and past the verbatim window;
    the fold's new prompt is evaluated in the background after the turn, not by the next question."""
    db, brain = make_brain(db_url, engines, settings, summarize_after=8, recent_turns=4)
    session = asyncio.run(brain.open_session(1))
    asyncio.run(brain.warm(1, session))
    said = ["Меня зовут Петя, мне двенадцать лет.", "У меня есть собака Рекс.", "Мне нравятся динозавры.",
            "Я люблю футбол.", "А ты умеешь рисовать?"]
    evaluated = []
    for text in said:
        asyncio.run(collect_reply(brain, 1, session, text))
        evaluated.append(engines[0].last_stats.evaluated_tokens)
        asyncio.run(brain.warm_idle(1, session))  # what the live session runs after each turn
    assert max(evaluated) < 45, evaluated  # the user's message and the chat markup, never the history
    assert asyncio.run(db.call(get_summary, 1, session_id=session)) is not None, "a fold happened"
    facts = asyncio.run(db.call(get_facts, 1))
    assert facts.get("name") == "Петя" and "Рекс" in facts.get("pets", "")
    db.close()


def test_the_llm_writes_the_summary_in_idle_time_and_gives_way_to_a_turn(db_url, engines, settings, tmp_path):
    """A due fold's summary is written by the LLM in idle time; a question in the middle is answered at
    once (the summary stops within a prompt slice or a token) and the summary goes on afterwards; the
    stored summary is the LLM's text that passed the checks (third person, from the conversation)."""
    db, brain = make_brain(db_url, engines, settings, fold_tokens=64, keep_tokens=40, recent_turns=2)
    llm = engines[0]
    llm.use_state_folder(tmp_path / "states", 1 << 30)
    try:
        session = asyncio.run(brain.open_session(1))
        for text in ["Меня зовут Петя, мне восемь лет.", "У меня есть собака Бобик, он очень весёлый."]:
            asyncio.run(collect_reply(brain, 1, session, text))
        plan = asyncio.run(db.call(brain._fold_plan, 1, session))
        assert plan is not None and not plan.written, "due: more than fold_tokens unfolded"

        async def interrupted() -> None:
            warm = asyncio.create_task(brain.warm_idle(1, session))
            while brain.background is None or brain.background.kind != "summary":  # the summary is being written
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.6)
            chunks, _ = await collect_reply(brain, 1, session, "А ты любишь собак?")
            assert chunks, "the question was answered"
            assert await db.call(get_summary, 1, session_id=session) is None, "not stored while being written"
            await warm

        asyncio.run(interrupted())
        writing = brain._writing[session]
        assert writing.done and writing.text, writing  # written, and it passed the checks
        summary = asyncio.run(db.call(get_summary, 1, session_id=session))
        assert summary is not None and summary.text == writing.text
        assert summary.up_to_message_id == plan.up_to_message_id
        assert "Пет" in summary.text and "Ты:" not in summary.text  # the LLM's note, not the first sentences
        messages = asyncio.run(db.call(brain._messages, 1, session, "Как зовут мою собаку?"))
        assert summary.text in messages[0].content, "the summary feeds the prompt"
    finally:
        llm.store = None
        db.close()

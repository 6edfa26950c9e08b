"""Personas prepared ahead of their first conversation, on the real embedded LLM: the background job
reports progress and stores the prompt state, a restarted engine loads it instead of evaluating it,
and a conversation turn does not wait behind a preparation (the job gives way and resumes)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from backend.conversation import Brain, collect_reply
from backend.db import init_db
from backend.db.personas import create_persona
from backend.db.seed import seed_default_persona
from backend.warmup import PersonaWarmup, PersonaWarmups

PETR = {"name": "Пётр", "age": 40, "gender": "male", "temperament": "неторопливый, с юмором",
        "interests": ["грибы", "птицы", "озёра Карелии"], "speech_style": "просто и коротко",
        "notes": "Работает лесником в Карелии, живёт в деревянном доме у озера, держит собаку Найду."}


def llm_and_emotion(settings: Settings):
    """The engines as the server loads them: the LLM keeps its prompt states under data_dir/llm_states."""
    pipeline = Pipeline(settings.model_copy(update={"llm": settings.llm.model_copy(update={"max_tokens": 24})}))
    pipeline.load(stages=("llm", "emotion"))
    return pipeline.llm, pipeline.emotion


@pytest.fixture
def setup(tmp_path: Path, settings: Settings):
    settings = settings.model_copy(update={"data_dir": tmp_path})
    db = init_db(f"sqlite:///{tmp_path / 'avatar.db'}")
    asyncio.run(db.call(seed_default_persona))
    petr = asyncio.run(db.call(lambda s: create_persona(s, PETR).id))
    yield settings, db, petr
    db.close()


async def until_done(warmups: PersonaWarmups, persona_id: int, seen: list[PersonaWarmup]) -> PersonaWarmup:
    while (state := warmups.status(persona_id)) is None or state.status in ("queued", "running"):
        if state is not None:
            seen.append(state)
        await asyncio.sleep(0.05)
    return state


def test_prepared_persona_starts_warm_after_a_restart(setup) -> None:
    settings, db, petr = setup
    llm, emotion = llm_and_emotion(settings)
    brain = Brain(db, llm, emotion, settings)

    async def prepare() -> tuple[PersonaWarmup, list[PersonaWarmup]]:
        warmups = PersonaWarmups(lambda: brain)
        queued = warmups.request(petr)  # before start: a server still loading shows it queued
        assert queued.status == "queued" and queued.message_ru
        tasks: set[asyncio.Task] = set()
        warmups.start(lambda work: tasks.add(task := asyncio.create_task(work)) or task)
        seen: list[PersonaWarmup] = []
        done = await until_done(warmups, petr, seen)
        for task in tasks:
            task.cancel()
        return done, seen

    done, seen = asyncio.run(prepare())
    assert done.status == "ready" and done.progress == 1.0 and not done.restored, done
    assert done.prompt_tokens and done.prompt_tokens > 300
    progress = [s.progress for s in seen if s.status == "running"]
    assert progress == sorted(progress) and any(0 < p < 1 for p in progress), progress
    assert list((settings.data_dir / "llm_states").rglob("*.state"))
    llm.close()

    # a restarted server: a fresh engine on the same folder loads the persona instead of evaluating it
    llm2, emotion2 = llm_and_emotion(settings)
    brain2 = Brain(db, llm2, emotion2, settings)
    session = asyncio.run(brain2.open_session(petr))
    warm = asyncio.run(brain2.warm(petr, session))
    assert warm is not None and warm.restored_tokens >= done.prompt_tokens - 2 and warm.evaluated_tokens <= 2, warm
    chunks, _ = asyncio.run(collect_reply(brain2, petr, session, "Привет! Чем ты занимаешься?"))
    assert chunks
    stats = llm2.last_stats
    assert stats is not None and stats.evaluated_tokens < 30, stats  # only the question was evaluated
    llm2.close()


def test_a_turn_does_not_wait_behind_a_preparation(setup) -> None:
    settings, db, petr = setup
    llm, emotion = llm_and_emotion(settings)
    brain = Brain(db, llm, emotion, settings)

    async def scenario() -> tuple[float, float, PersonaWarmup]:
        session = await brain.open_session(1)
        await brain.warm(1, session)
        await asyncio.sleep(1.6)  # the LLM has been idle: background work may start
        warmups = PersonaWarmups(lambda: brain)
        tasks: set[asyncio.Task] = set()
        warmups.start(lambda work: tasks.add(task := asyncio.create_task(work)) or task)
        warmups.request(petr)
        while (state := warmups.status(petr)) is None or state.progress < 0.15:
            await asyncio.sleep(0.05)
        asked = time.monotonic()
        watcher = asyncio.create_task(until_done(warmups, petr, []))  # notes when the preparation ends
        chunks, _ = await collect_reply(brain, 1, session, "Как дела?")
        assert chunks
        answered = time.monotonic() - asked
        ended_during_reply = watcher.done()
        done = await watcher
        finished = time.monotonic() - asked
        for task in tasks:
            task.cancel()
        assert not ended_during_reply, "the reply waited for the whole preparation"
        return answered, finished, done

    answered, finished, done = asyncio.run(scenario())
    llm.close()
    assert done.status == "ready" and done.progress == 1.0, done
    assert answered < finished  # the reply came first; the preparation resumed after it

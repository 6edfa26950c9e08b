"""bench.py persona: how fast a just-made persona answers its first question (issue: instant personas).

Three situations, each the first turn of a new conversation with a persona made seconds before,
on the configured LLM (the embedded Qwen2.5 GGUF by default):

- ``cold``: nothing prepared (what a new persona cost before prompt states existed): the whole
  persona prompt is evaluated when the user first speaks.
- ``prepared``: the persona's preparation job ran when it was created (its time is reported), the
  conversation opened (its warm-up loads the stored state), then the user speaks.
- ``after_restart``: a fresh engine (the server restarted) on the same stored states; start-up
  prepares the persona again (its facts may have grown: only the new part is evaluated), the
  session's warm-up loads the state; also reported with the question asked before any session
  warm-up (the turn itself loads the state).

Reported per question: time to the first speakable clause (what TTS can start on), to the first
token, and how many prompt tokens were evaluated. Targets: prepared <= 1.0 s, after a restart <= 1.5 s.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from backend.conversation import Brain, collect_reply
from backend.db import init_db
from backend.db.personas import create_persona
from backend.db.seed import seed_default_persona

PERSONA = {"name": "Маша", "age": 11, "gender": "female", "temperament": "весёлая, любопытная, добрая",
           "interests": ["рисование", "кошки", "книги про космос"], "speech_style": "просто, с шутками",
           "greeting": "Привет! Я Маша. О чём поговорим?",
           "notes": "Учится в пятом классе, живёт в Казани с мамой, папой и котом Барсиком."}
QUESTIONS = ["Привет! Как у тебя дела?", "Что ты любишь рисовать?", "Расскажи про своего кота.",
             "А сколько тебе лет?", "Какая у тебя любимая книга?", "Что ты делала вчера вечером?"]
NAMES = ["Маша", "Даша", "Соня", "Вика", "Лиза", "Катя"]  # each prepared persona is a different prompt


def _engines(settings: Settings, states: bool) -> tuple[Any, Any]:
    """The LLM and emotion engines as the server loads them (``states``: with the prompt-state folder)."""
    if not states:
        settings = settings.model_copy(update={"memory": settings.memory.model_copy(update={"prompt_states_mb": 0})})
    pipeline = Pipeline(settings)
    pipeline.load(stages=("llm", "emotion"))
    return pipeline.llm, pipeline.emotion


def _turn(brain: Brain, persona_id: int, question: str, warm: bool) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        session = await brain.open_session(persona_id)
        warm_s = None
        if warm:
            started = time.perf_counter()
            await brain.warm(persona_id, session)
            warm_s = round(time.perf_counter() - started, 3)
        chunks, timings = await collect_reply(brain, persona_id, session, question)
        stats = getattr(brain.llm, "last_stats", None)
        return {"question": question, "session_warm_s": warm_s, "first_clause_s": timings.get("first_chunk_s"),
                "first_token_s": timings.get("first_token_s"), "first_clause": chunks[0].text if chunks else "",
                "evaluated_tokens": stats.evaluated_tokens if stats else None,
                "prompt_tokens": stats.prompt_tokens if stats else None}

    return asyncio.run(run())


def _summary(turns: list[dict[str, Any]]) -> dict[str, Any]:
    firsts = [t["first_clause_s"] for t in turns if t["first_clause_s"] is not None]
    tokens = [t["first_token_s"] for t in turns if t["first_token_s"] is not None]
    return {"median_first_clause_s": round(statistics.median(firsts), 3) if firsts else None,
            "max_first_clause_s": round(max(firsts), 3) if firsts else None,
            "median_first_token_s": round(statistics.median(tokens), 3) if tokens else None,
            "turns": turns}


def bench_persona(progress: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        db = init_db(settings.db_url)
        asyncio.run(db.call(seed_default_persona))

        def new_persona(n: int = 0) -> int:
            fields = {**PERSONA, "name": NAMES[n % len(NAMES)]}
            return asyncio.run(db.call(lambda s: create_persona(s, fields).id))

        progress("persona: cold (nothing prepared)")
        llm, emotion = _engines(settings, states=False)
        brain = Brain(db, llm, emotion, settings)
        cold = [_turn(brain, new_persona(), q, warm=False) for q in QUESTIONS[:1]]
        llm.close()

        progress("persona: prepared when created")
        llm, emotion = _engines(settings, states=True)
        brain = Brain(db, llm, emotion, settings)
        prepared, jobs = [], []
        for n, question in enumerate(QUESTIONS):
            persona_id = new_persona(n)

            async def prepare(pid: int = persona_id) -> Any:  # what PersonaWarmups runs for a new persona
                started = time.perf_counter()
                result = await brain.prepare_persona(pid, None)
                return result, time.perf_counter() - started

            result, seconds = asyncio.run(prepare())
            jobs.append({"seconds": round(seconds, 2), "prefill_s": round(result.seconds, 2) if result else None,
                         "prompt_tokens": result.prompt_tokens if result else None})
            prepared.append(_turn(brain, persona_id, question, warm=True))
        last_persona = persona_id
        llm.close()

        restarted, restarted_no_warm, startup = [], [], []
        for question in QUESTIONS:
            progress(f"persona: after a restart: {question}")
            for warm, out in ((True, restarted), (False, restarted_no_warm)):
                llm, emotion = _engines(settings, states=True)
                brain = Brain(db, llm, emotion, settings)
                started = time.perf_counter()
                result = asyncio.run(brain.prepare_persona(last_persona, None))  # what start-up runs
                startup.append({"seconds": round(time.perf_counter() - started, 3),
                                "restored_tokens": result.restored_tokens if result else None,
                                "evaluated_tokens": result.evaluated_tokens if result else None})
                out.append(_turn(brain, last_persona, question, warm=warm))
                llm.close()
        db.close()
    return {"bench": "persona", "engine": settings.llm.engine, "preparation_jobs": jobs,
            "startup_preparation": startup,
            "cold": _summary(cold), "prepared": _summary(prepared),
            "after_restart": _summary(restarted), "after_restart_turn_without_warm": _summary(restarted_no_warm),
            "targets": {"prepared_first_clause_s": 1.0, "after_restart_first_clause_s": 1.5}}

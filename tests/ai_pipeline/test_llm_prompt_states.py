"""Stored prompt states with the embedded Qwen2.5 GGUF: a persona evaluated once is loaded from disk by
a fresh engine (a server restart), gives the same greedy reply as a cold evaluation, and a
conversation evicted from the single KV cache by another persona comes back from the store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings
from ai_pipeline.llm.state_store import PromptStateStore, common_prefix
from tests.ai_pipeline.test_llm_engines import collect, models_dir  # noqa: F401 - the fixture

PERSONA_A = ("Ты — Анна, виртуальная собеседница из Казани. Ты любишь книги, путешествия и хороший кофе. "
             "Говоришь тепло и просто, отвечаешь одним-двумя предложениями. ") * 5
PERSONA_B = ("Ты — Пётр, лесник из Карелии. Ты знаешь всё о грибах, птицах и озёрах. "
             "Говоришь неторопливо, с юмором, коротко. ") * 5
QUESTION = ChatMessage("user", "Что ты любишь делать по вечерам?")


def engine(models_dir: Path, states: Path) -> LlamaCppLLM:
    llm = LlamaCppLLM(LlamaCppSettings(n_ctx=2048, temperature=0.0), models_dir)
    llm.use_state_folder(states, max_bytes=1 << 30)
    llm.load()
    return llm


@pytest.fixture
def states(tmp_path: Path) -> Path:
    return tmp_path / "states"


@pytest.fixture
def first(models_dir: Path, states: Path) -> Iterator[LlamaCppLLM]:
    llm = engine(models_dir, states)
    yield llm
    llm.close()


def answer(llm: LlamaCppLLM, messages: list[ChatMessage]) -> str:
    return "".join(c.text for c in asyncio.run(collect(llm.stream(messages, max_tokens=16))))


def test_a_stored_persona_survives_a_restart(first: LlamaCppLLM, models_dir: Path, states: Path) -> None:
    persona = [ChatMessage("system", PERSONA_A)]
    fractions: list[float] = []
    made = first.prefill(persona, progress=fractions.append, store=True)
    assert made is not None and made.stored and made.restored_tokens == 0
    assert made.evaluated_tokens == made.prompt_tokens > 200
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 4
    cold = answer(first, [*persona, QUESTION])
    first.close()

    second = engine(models_dir, states)  # a restarted server: an empty KV cache
    try:
        again = second.prefill(persona)
        assert again is not None
        assert again.restored_tokens == made.prompt_tokens and again.evaluated_tokens <= 1
        assert again.seconds < made.seconds / 5
        assert answer(second, [*persona, QUESTION]) == cold  # greedy: the restored cache is the same cache
        assert second.last_stats is not None and second.last_stats.evaluated_tokens < 30
    finally:
        second.close()


def test_a_conversation_evicted_by_another_persona_comes_back(first: LlamaCppLLM) -> None:
    talk = [ChatMessage("system", PERSONA_A), QUESTION]
    answer(first, talk)  # ~300 tokens evaluated while talking: only the KV cache holds them
    held = first._llm.input_ids[: first._llm.n_tokens].tolist()
    assert first.store is not None and len(first.store) == 0

    other = first.prefill([ChatMessage("system", PERSONA_B)])  # another persona takes the cache
    assert other is not None and other.restored_tokens == 0
    assert first.store.has(held)  # ...but the conversation was saved before it was overwritten

    follow = [*talk, ChatMessage("assistant", "Читаю."), ChatMessage("user", "А что читаешь?")]
    answer(first, follow)
    stats = first.last_stats
    assert stats is not None and stats.evaluated_tokens < 40, stats


def test_the_store_finds_the_longest_prefix_and_stays_bounded(tmp_path: Path) -> None:
    store = PromptStateStore(tmp_path / "m", max_bytes=2500)

    def writer(size: int):
        return lambda path: path.write_bytes(b"x" * size) is not None

    a = store.save([1, 2, 3, 4], writer(1000))
    store.save([1, 2, 9], writer(1000))
    assert a is not None
    found, length = store.best([1, 2, 3, 4, 5])
    assert found is not None and found.path == a.path and length == 4
    assert common_prefix(np.array([1, 2, 3]), [1, 2, 4]) == 2

    store.save([7, 7], writer(1000))  # a third state passes the cap: the least recently used goes
    fresh = PromptStateStore(tmp_path / "m", max_bytes=2500)  # a restart rebuilds the index from the files
    assert len(fresh) == 2 and fresh.has([7, 7])
    assert not list((tmp_path / "m").glob("*.partial"))
    assert store.save([5], lambda path: False) is None  # a failed write stores nothing
    assert not fresh.has([5]) and not list((tmp_path / "m").glob("*partial"))


def test_a_drafted_reply_is_the_reply(first: LlamaCppLLM) -> None:
    """A prefill with ``draft`` samples the reply's first tokens ahead; a generation of exactly that
    prompt starts with them, with nothing left to evaluate, and goes on from them. A draft for another
    prompt is not used. (Greedy text may still differ from a cold run's: llama.cpp's numerics depend
    on how the prompt was batched.)"""
    talk = [ChatMessage("system", PERSONA_A), QUESTION]
    first.prefill([ChatMessage("system", PERSONA_B)])  # the cache holds something else

    ahead = first.prefill(talk, draft=6)
    assert ahead is not None and ahead.drafted_tokens == 6
    assert first._draft is not None
    drafted = first._llm.detokenize(list(first._draft.tokens)).decode()
    said = answer(first, talk)
    assert len(drafted.strip()) >= 4 and said.startswith(drafted) and len(said) > len(drafted) + 4
    stats = first.last_stats
    assert stats is not None and stats.drafted_tokens == 6 and stats.evaluated_tokens == 0, stats

    first.prefill(talk, draft=6)
    other = [ChatMessage("system", PERSONA_A), ChatMessage("user", "Где ты живёшь?")]
    answer(first, other)
    assert first.last_stats is not None and first.last_stats.drafted_tokens == 0
    assert first._take_draft(first.prompt_tokens(talk)) is None  # used up or replaced, never kept for later


def test_a_stopped_draft_keeps_what_it_sampled(first: LlamaCppLLM) -> None:
    talk = [ChatMessage("system", PERSONA_A), QUESTION]
    stop = threading.Event()
    sampled: list[int] = []
    real = first._sample_draft

    def stop_after_two(prompt, token, steps, limit, stop_event):  # the turn is decided after two tokens
        def counted():
            for t in steps:
                sampled.append(t)
                if len(sampled) == 2:
                    stop.set()
                yield t
        return real(prompt, token, counted(), limit, stop_event)

    first._sample_draft = stop_after_two
    try:
        ahead = first.prefill(talk, stop, draft=20)
    finally:
        del first._sample_draft
    assert ahead is not None and ahead.drafted_tokens == 3  # the first token and the two after it
    answer(first, talk)
    assert first.last_stats is not None and first.last_stats.drafted_tokens == 3

"""A reply begun with an opener goes on: the model may not end its turn right after «Вот как!»."""

from __future__ import annotations

import asyncio

import numpy as np

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.llm.continuation import NoEarlyEnd
from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings
from ai_pipeline.settings import Settings


def test_the_end_tokens_are_barred_for_the_first_tokens_only():
    rule = NoEarlyEnd([7, 9, -1], min_tokens=2)
    first = rule(np.arange(5), np.zeros(10, dtype=np.single))
    assert np.isneginf(first[[7, 9]]).all() and np.isfinite(np.delete(first, [7, 9])).all()
    assert np.isneginf(rule(np.arange(6), np.zeros(10, dtype=np.single))[7])  # the second token
    assert np.isfinite(rule(np.arange(7), np.zeros(10, dtype=np.single))).all()  # from the third on: free


def test_a_reply_begun_with_an_exclamation_is_continued():
    """Greedy, the embedded model ends its turn at once after «Вот как!» to «Мне восемь лет.»; the
    engine does not let it, so the reply has words of the model's own."""
    engine = LlamaCppLLM(LlamaCppSettings(n_ctx=1024, temperature=0.0), Settings().models_dir)
    engine.load()
    try:
        messages = [ChatMessage("system", "Ты девочка Аня, тебе 12 лет. Отвечай коротко."),
                    ChatMessage("user", "Мне восемь лет."), ChatMessage("assistant", "Вот как!")]

        async def collect() -> str:
            return "".join([t.text async for t in engine.stream(messages, max_tokens=12)])

        assert any(c.isalpha() for c in asyncio.run(collect()))
    finally:
        engine.close()

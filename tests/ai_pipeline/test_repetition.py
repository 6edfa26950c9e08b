"""The echo penalty: a reply does not say again, word for word, what the persona said in earlier replies."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings
from ai_pipeline.llm.repetition import EchoPenalty, echo_variants
from ai_pipeline.settings import Settings

SAID = "Пожалуйста, у тебя есть способ обсудить эту ситуацию с мамой или другим взрослым."


def test_only_a_token_that_continues_an_earlier_run_is_penalised():
    echo = EchoPenalty([[5, 6, 7, 8, 9]], penalty=2.0, ngram=4)
    scores = echo(np.array([1, 6, 7, 8]), np.zeros(12, dtype=np.single))
    assert scores[9] == -2.0 and np.count_nonzero(scores) == 1  # 6 7 8 went on with 9 before
    assert not np.any(echo(np.array([1, 2, 7, 8]), np.zeros(12, dtype=np.single)))  # no such run
    assert not EchoPenalty([], penalty=2.0) and not EchoPenalty([[1, 2, 3, 4]], penalty=0.0)


def test_a_clause_said_again_after_other_punctuation_or_case_is_an_echo_too():
    assert echo_variants("Пожалуйста, у тебя есть способ. Да!") == [
        "Пожалуйста, у тебя есть способ. Да!", " У тебя есть способ", " у тебя есть способ"]
    engine = LlamaCppLLM(LlamaCppSettings(n_ctx=512), Settings().models_dir)
    engine.load()
    try:  # «Пожалуйста! У тебя есть…» continues a run of the clause's capitalised variant
        tokenize = engine._llm.tokenize
        echo = EchoPenalty([tokenize(v.encode(), add_bos=False, special=False) for v in echo_variants(SAID)],
                           penalty=8.0, ngram=4)
        again = tokenize("Пожалуйста! У тебя есть".encode(), add_bos=False, special=False)
        plain = EchoPenalty([tokenize(SAID.encode(), add_bos=False, special=False)], penalty=8.0, ngram=4)
        scores = np.zeros(engine._llm.n_vocab(), dtype=np.single)
        assert not np.any(plain(np.array(again), scores.copy()))  # the reply's own tokens miss it
        hit = echo(np.array(again), scores.copy())
        assert np.count_nonzero(hit) >= 1
        following = engine._llm.detokenize([int(np.argmin(hit))]).decode()
        assert following.strip() == "способ"
    finally:
        engine.close()


def reply(engine: LlamaCppLLM, messages: list[ChatMessage], max_tokens: int) -> str:
    async def collect() -> str:
        return "".join([chunk.text async for chunk in engine.stream(messages, max_tokens=max_tokens)])

    return asyncio.run(collect())


def _runs(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[а-яёa-z]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.parametrize("penalty", [0.0, 8.0])
def test_a_reply_does_not_repeat_an_earlier_one_with_the_penalty(penalty):
    """The model's habit: once it said a line, it says it again; with the penalty no four words in a row
    of it come back (single words and pairs may)."""
    engine = LlamaCppLLM(LlamaCppSettings(n_ctx=1024, temperature=0.2, echo_penalty=penalty, echo_ngram=4),
                         Settings().models_dir)
    engine.load()
    try:
        history = [ChatMessage("system", "Ты девочка Аня. Отвечай коротко, одним предложением."),
                   ChatMessage("user", "Меня обидели в школе."), ChatMessage("assistant", SAID),
                   ChatMessage("user", "Мне страшно ночью."), ChatMessage("assistant", SAID),
                   ChatMessage("user", "Меня опять обидели.")]
        said = reply(engine, history, max_tokens=30)
        repeated = _runs(said) & _runs(SAID)
        if penalty:
            assert said.strip() and not repeated, said
        else:
            assert repeated, f"without the penalty the model copies its earlier line: {said}"
    finally:
        engine.close()

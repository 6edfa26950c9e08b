"""Both LLM engines through one contract: llama.cpp with the embedded Qwen2.5-Coder-1.5B-Instruct GGUF (assembled
from its packages), and Ollama's client against a real in-process server speaking Ollama's protocol
(tests/ollama_server.py). Generation is kept short: the GGUF runs on the CPU."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ai_pipeline import models, registry
from ai_pipeline.chunks import ChatMessage, TokenChunk
from ai_pipeline.errors import EngineFailed, EngineUnavailable
from ai_pipeline.llm.base import LLMEngine
from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings
from ai_pipeline.llm.ollama import OllamaLLM, OllamaSettings
from ai_pipeline.settings import Settings
from tests.ollama_server import OllamaServer, reply_pieces

SYSTEM = ChatMessage("system", "Ты — дружелюбный собеседник по имени Анна. Отвечай только по-русски, коротко.")
QUESTION = [SYSTEM, ChatMessage("user", "Какой город — столица России?")]
PERSONA = ("Ты — Анна, виртуальная собеседница из Казани. Ты любишь книги, путешествия и хороший кофе. "
           "Говоришь тепло и просто, без канцелярита, отвечаешь одним-двумя предложениями. ") * 4


async def collect(stream: AsyncIterator[TokenChunk], take: int | None = None) -> list[TokenChunk]:
    """Read a stream to its end, or only ``take`` chunks and then close it (as a barge-in does)."""
    chunks: list[TokenChunk] = []
    try:
        async for chunk in stream:
            chunks.append(chunk)
            if take is not None and len(chunks) >= take:
                break
    finally:
        await stream.aclose()
    return chunks


def reply(engine: LLMEngine, messages: list[ChatMessage], max_tokens: int = 24) -> str:
    return "".join(c.text for c in asyncio.run(collect(engine.stream(messages, max_tokens=max_tokens))))


def wait_for(condition: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


# -- subjects ---------------------------------------------------------------------------------


@dataclass
class Subject:
    """An engine plus how to make it slow and how to tell that it really stopped generating."""

    engine: LLMEngine
    make_slow: Callable[[], None]
    stopped_early: Callable[[], bool]


@pytest.fixture(scope="module")
def models_dir() -> Path:
    folder = Settings().models_dir
    for model in models.MANIFEST:
        if model.stage == "llm":
            models.assemble(model, folder)
    return folder


@pytest.fixture(scope="module")
def llama(models_dir: Path) -> Iterator[LlamaCppLLM]:
    engine = LlamaCppLLM(LlamaCppSettings(n_ctx=2048, temperature=0.2), models_dir)
    engine.load()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def server() -> Iterator[OllamaServer]:
    with OllamaServer() as running:
        yield running


@pytest.fixture
def ollama(server: OllamaServer) -> Iterator[OllamaLLM]:
    server.reset()
    engine = OllamaLLM(OllamaSettings(host=server.url, temperature=0.3, top_p=0.8, timeout_s=10))
    engine.load()
    yield engine
    engine.close()  # its row in the process-wide VRAM ledger goes with it


@pytest.fixture(params=["llama_cpp", "ollama"])
def subject(request: pytest.FixtureRequest) -> Subject:
    if request.param == "llama_cpp":
        engine = request.getfixturevalue("llama")
        return Subject(engine, lambda: None,
                       lambda: engine.last_stats.reason == "interrupted" and engine.last_stats.generated_tokens <= 5)
    server = request.getfixturevalue("server")
    engine = request.getfixturevalue("ollama")

    def slow() -> None:
        server.delay_s = 0.05

    def stopped() -> bool:  # the server saw the client hang up and did not send the whole reply
        return wait_for(lambda: server.disconnects == 1) and server.lines_sent < len(reply_pieces())

    return Subject(engine, slow, stopped)


# -- the contract -----------------------------------------------------------------------------


def test_streams_a_russian_reply(subject: Subject) -> None:
    chunks = asyncio.run(collect(subject.engine.stream(QUESTION, max_tokens=24)))
    text = "".join(c.text for c in chunks)
    letters = re.findall(r"[^\W\d_]", text)
    assert text.strip() and letters
    assert sum(bool(re.match(r"[а-яё]", ch, re.I)) for ch in letters) / len(letters) > 0.7, text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert subject.engine.count_tokens(text) > 0


def test_closing_the_stream_stops_generation(subject: Subject) -> None:
    subject.make_slow()
    chunks = asyncio.run(collect(subject.engine.stream(QUESTION, max_tokens=64), take=3))
    assert len(chunks) == 3
    assert subject.stopped_early()


def test_registry_builds_both(models_dir: Path) -> None:
    assert isinstance(registry.build("llm", LlamaCppSettings(), models_dir), LlamaCppLLM)
    assert isinstance(registry.build("llm", OllamaSettings(), models_dir), OllamaLLM)


# -- llama.cpp --------------------------------------------------------------------------------


def test_llama_reuses_the_cached_prefix(llama: LlamaCppLLM) -> None:
    first = [ChatMessage("system", PERSONA), ChatMessage("user", "Привет! Кто ты?")]
    answer = reply(llama, first, max_tokens=12)
    turn1 = llama.last_stats
    assert turn1.prompt_tokens > 150
    assert turn1.cached_tokens < 20  # only "<|im_start|>system\nТы — " was left by the other tests

    second = [*first, ChatMessage("assistant", answer), ChatMessage("user", "А что ты любишь читать?")]
    reply(llama, second, max_tokens=12)
    turn2 = llama.last_stats
    assert turn2.cached_tokens >= turn1.prompt_tokens  # persona and the whole first turn came from the cache
    assert turn2.evaluated_tokens <= turn2.prompt_tokens - turn1.prompt_tokens + 2
    assert 0 < turn2.evaluated_tokens < 40


def test_llama_stops_during_a_long_prompt(llama: LlamaCppLLM) -> None:
    """A barge-in before the first token: prompt evaluation stops at the next 64-token slice."""
    shopping = ", ".join(f"товар номер {i}" for i in range(300))
    long_prompt = [ChatMessage("system", f"Запомни список покупок: {shopping}"),
                   ChatMessage("user", "Что в списке первым?")]

    async def give_up_early() -> None:
        stream = llama.stream(long_prompt, max_tokens=8)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(stream.__anext__(), timeout=0.3)
        await stream.aclose()

    asyncio.run(give_up_early())
    stats = llama.last_stats
    assert stats.reason == "interrupted" and stats.generated_tokens == 0
    assert stats.prompt_tokens > 1000 and stats.evaluated_tokens < stats.prompt_tokens / 2


def test_llama_counts_with_its_tokenizer(llama: LlamaCppLLM) -> None:
    text = "Москва — столица России."
    assert llama.count_tokens(text) == len(llama._llm.tokenize(text.encode(), add_bos=False))
    assert llama.count_tokens("") == 0
    assert llama.count_tokens(PERSONA) > 100


def test_llama_describes_itself(llama: LlamaCppLLM, models_dir: Path) -> None:
    info = llama.describe()
    assert info["model"] == str(models_dir / LlamaCppSettings().model)
    assert info["n_threads"] == info["n_threads_batch"] == os.cpu_count()
    assert info["n_ctx"] == 2048 and info["loaded"] is True


def test_llama_missing_model_names_the_command(tmp_path: Path) -> None:
    engine = LlamaCppLLM(LlamaCppSettings(), tmp_path)
    with pytest.raises(EngineUnavailable) as caught:
        engine.load()
    assert "avatar models" in caught.value.message_ru
    assert str(tmp_path) in caught.value.message_ru


# -- Ollama -----------------------------------------------------------------------------------


def test_ollama_sends_messages_and_options(ollama: OllamaLLM, server: OllamaServer) -> None:
    text = reply(ollama, QUESTION, max_tokens=16)
    assert text == "".join(reply_pieces()[:16])
    (sent,) = server.chat_requests()
    assert sent["model"] == "qwen2.5:7b-instruct" and sent["stream"] is True and sent["keep_alive"] == "30m"
    assert sent["messages"] == [{"role": m.role, "content": m.content} for m in QUESTION]
    assert sent["options"] == {"temperature": 0.3, "top_p": 0.8, "num_predict": 16}
    assert ollama.last_stats["eval_count"] == 16 and ollama.last_stats["done_reason"] == "length"
    assert ollama.describe()["parameter_size"] == "7.6B"


def test_ollama_memory_is_listed_in_the_vram_ledger(ollama: OllamaLLM, server: OllamaServer) -> None:
    """The server's memory for the model (``/api/ps``) shows in the ledger, not counted against this
    process's budget, and goes when the engine closes."""
    from ai_pipeline.gpu import gpu_manager

    def row() -> dict[str, object] | None:
        return next((e for e in gpu_manager().describe()["engines"] if e["name"] == "ollama:qwen2.5:7b-instruct"), None)

    before = row()
    assert before is not None and before["loaded"] is False and before["vram_mb"] == 0  # nothing asked yet
    reply(ollama, QUESTION, max_tokens=4)
    after = row()
    assert after is not None and after["loaded"] is True and after["vram_mb"] == 5_433_000_000 // (1 << 20)
    assert after["counted"] is False
    ollama.close()
    assert row() is None


def test_ollama_server_down(server: OllamaServer) -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = OllamaLLM(OllamaSettings(host=f"http://127.0.0.1:{port}"))
    with pytest.raises(EngineUnavailable) as caught:
        engine.load()
    assert "ollama serve" in caught.value.message_ru
    with pytest.raises(EngineUnavailable):
        reply(engine, QUESTION)


def test_ollama_model_not_pulled(server: OllamaServer) -> None:
    engine = OllamaLLM(OllamaSettings(host=server.url, model="llama3.1:70b"))
    with pytest.raises(EngineUnavailable) as caught:
        engine.load()
    assert "ollama pull llama3.1:70b" in caught.value.message_ru
    with pytest.raises(EngineUnavailable):
        reply(engine, QUESTION)


def test_ollama_dropped_connection_is_retryable(ollama: OllamaLLM, server: OllamaServer) -> None:
    server.drop_after = 3
    received: list[TokenChunk] = []

    async def run() -> None:
        async for chunk in ollama.stream(QUESTION):
            received.append(chunk)

    with pytest.raises(EngineFailed) as caught:
        asyncio.run(run())
    assert len(received) == 3 and caught.value.retryable

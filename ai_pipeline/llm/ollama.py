"""An Ollama server (a GPU machine, or the same host): streaming ``/api/chat`` through the official client.

``load`` asks the server about the configured model (``/api/show``), so a stopped server or a
model that was never pulled is reported at start-up, in Russian, with the command that fixes it.
Each ``stream`` opens its own ``ollama.AsyncClient`` (an HTTP client belongs to one event loop) and
closes it when the iterator is closed, which closes the HTTP response: Ollama notices the
disconnect and stops generating. A connection lost mid-reply raises the retryable
:class:`EngineFailed`. Ollama has no tokenizer endpoint, so ``count_tokens`` stays the estimate.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ai_pipeline.chunks import ChatMessage, TokenChunk
from ai_pipeline.engine import EngineInfo, EngineSettings, missing_package
from ai_pipeline.errors import EngineFailed, EngineUnavailable
from ai_pipeline.llm.base import LLMEngine

INSTALL = "pip install ollama==0.6.3"
CHECK_TIMEOUT_S = 10.0


def _client_module() -> Any:
    try:
        import ollama
    except ImportError as exc:
        raise EngineUnavailable(f"Не установлен клиент Ollama: {INSTALL}",
                                f"the ollama client is not installed ({exc}): {INSTALL}") from exc
    return ollama


class OllamaSettings(EngineSettings):
    """An Ollama server (GPU machines): streaming /api/chat."""

    engine: Literal["ollama"] = "ollama"
    host: str = "http://127.0.0.1:11434"
    model: str = "qwen2.5:7b-instruct"
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(300, ge=16, le=4096)
    timeout_s: float = Field(60.0, gt=0)
    keep_alive: str = "30m"


class OllamaLLM(LLMEngine):
    """A model served by Ollama, streamed token by token."""

    name = "ollama"
    settings_class = OllamaSettings
    # a 7-8B model at Q4 on the Ollama server's own GPU (README: ~5-6 GB), outside this process's budget
    info = EngineInfo(label_ru="Ollama (большие модели, свой сервер)", heavy=True, fallback="llama_cpp", vram_mb=5500)

    def __init__(self, settings: OllamaSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self.model_info: dict[str, object] = {}
        self.last_stats: dict[str, object] = {}

    @classmethod
    def availability(cls, settings: OllamaSettings, models_dir: Path) -> str | None:
        """Only the client package: the server and the model are checked by ``load`` (a network call)."""
        return missing_package("ollama")

    def _server_down(self, detail: object) -> EngineUnavailable:
        return EngineUnavailable(
            f"Сервер Ollama недоступен по адресу {self.settings.host}. Запустите его командой «ollama serve» "
            "или укажите другой адрес в настройках.",
            f"Ollama server unreachable at {self.settings.host}: {detail}")

    def _not_pulled(self, detail: object) -> EngineUnavailable:
        model = self.settings.model
        return EngineUnavailable(
            f"Модель «{model}» не скачана в Ollama. Выполните: ollama pull {model}",
            f"Ollama has no model {model!r} ({detail}); run `ollama pull {model}`")

    def load(self) -> None:
        """Check that the server answers and has the model (blocking)."""
        ollama = _client_module()
        import httpx

        try:
            timeout = min(CHECK_TIMEOUT_S, self.settings.timeout_s)
            with ollama.Client(host=self.settings.host, timeout=timeout) as client:
                info = client.show(self.settings.model)
        except ConnectionError as exc:
            raise self._server_down(exc) from exc
        except httpx.HTTPError as exc:  # a timeout, or something that is not Ollama on that port
            raise self._server_down(repr(exc)) from exc
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise self._not_pulled(exc.error) from exc
            raise EngineUnavailable(f"Сервер Ollama ответил ошибкой: {exc.error}",
                                    f"Ollama /api/show failed with {exc.status_code}: {exc.error}") from exc
        details = info.details
        self.model_info = {"family": details.family, "parameter_size": details.parameter_size,
                           "quantization": details.quantization_level} if details else {}
        from ai_pipeline.gpu import gpu_manager
        from ai_pipeline.gpu.external import ollama_probe

        # the server's memory for this model is listed in the VRAM ledger (not counted: another process holds it)
        gpu_manager().watch(self._watch_name, ollama_probe(self.settings.host, self.settings.model))

    @property
    def _watch_name(self) -> str:
        return f"ollama:{self.settings.model}"

    def close(self) -> None:
        from ai_pipeline.gpu import gpu_manager

        gpu_manager().unwatch(self._watch_name)

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "host": self.settings.host, "model": self.settings.model,
                "keep_alive": self.settings.keep_alive, **self.model_info}

    def options(self, max_tokens: int | None = None) -> dict[str, object]:
        """Sampling options sent with every request."""
        return {"temperature": self.settings.temperature, "top_p": self.settings.top_p,
                "num_predict": max_tokens or self.settings.max_tokens}

    async def stream(self, messages: Sequence[ChatMessage], *,
                     max_tokens: int | None = None) -> AsyncIterator[TokenChunk]:
        """Stream the reply; closing the iterator closes the HTTP response (Ollama then stops)."""
        ollama = _client_module()
        import httpx

        client = ollama.AsyncClient(host=self.settings.host, timeout=self.settings.timeout_s)
        parts: Any = None
        index, finished = 0, False
        try:
            try:
                parts = await client.chat(model=self.settings.model, stream=True, options=self.options(max_tokens),
                                          keep_alive=self.settings.keep_alive,
                                          messages=[{"role": m.role, "content": m.content} for m in messages])
                async for part in parts:
                    if part.message.content:
                        yield TokenChunk(text=part.message.content, index=index)
                        index += 1
                    if part.done:
                        finished = True
                        self.last_stats = part.model_dump(exclude={"message", "logprobs"}, exclude_none=True)
                        break
            except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise self._server_down(exc) from exc
            except ollama.ResponseError as exc:
                if exc.status_code == 404:
                    raise self._not_pulled(exc.error) from exc
                raise EngineFailed(f"Ollama ответил ошибкой: {exc.error}",
                                   f"Ollama /api/chat failed with {exc.status_code}: {exc.error}") from exc
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                raise EngineFailed("Соединение с сервером Ollama прервалось во время ответа.",
                                   f"Ollama stream broke after {index} chunks: {exc!r}") from exc
            if not finished:
                raise EngineFailed("Сервер Ollama оборвал ответ на полуслове.",
                                   f"Ollama stream ended without done after {index} chunks")
        finally:
            with contextlib.suppress(Exception):  # the error that got us here matters more
                if parts is not None:
                    await parts.aclose()
            with contextlib.suppress(Exception):
                await client.close()

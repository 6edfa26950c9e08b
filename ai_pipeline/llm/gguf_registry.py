"""Local GGUF models a user brought (``avatar models add-llm FILE.gguf``), beside the embedded one.

A file is checked before it is recorded: its GGUF header must be whole (:mod:`ai_pipeline.llm.gguf`),
it must carry a chat template (``tokenizer.chat_template``) or the ChatML tokens the engine's
fallback template uses, and it must load in llama.cpp and answer one short Russian prompt (the
self-test, which also measures speed and whether the reply is in Cyrillic). Only then is it added to
``<models_dir>/llm/local_models.json``; a refused file leaves the list as it was.

The list feeds every place where the llama.cpp model is chosen: ``avatar models list``/``use``, and
the settings page (``GET /api/settings/llm-models``, ``options.llm.model``). The file stays where the
user keeps it; the list records its absolute path.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.errors import AvatarError, InputError
from ai_pipeline.llm.gguf import BadGguf, GgufInfo, read_gguf

REGISTRY = "llm/local_models.json"  # under models_dir
EMBEDDED_LABEL = "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (встроенная)"
DEFAULT_CONTEXT = 4096  # n_ctx when --context is not given (the file's own limit when it is smaller)
MAX_CONTEXT = 32768  # LlamaCppSettings.n_ctx allows up to this
CHATML_TOKEN = "<|im_start|>"
SELF_TEST_PROMPT = [
    ChatMessage("system", "Ты — дружелюбный собеседник. Отвечай только по-русски, одним коротким предложением."),
    ChatMessage("user", "Привет! Какое время года тебе нравится больше всего и почему?"),
]
SELF_TEST_TOKENS = 40


class SelfTest(BaseModel):
    """One short Russian reply from the model, as loaded by the llama.cpp engine."""

    load_s: float
    first_token_s: float
    tokens_per_s: float
    tokens: int
    reply: str
    cyrillic: float = Field(description="share of Cyrillic among the reply's letters, 0..1")

    @property
    def russian(self) -> bool:
        return self.cyrillic >= 0.8


class LocalModel(BaseModel):
    """One registered GGUF file."""

    name: str
    path: str  # absolute
    n_ctx: int
    architecture: str
    size_label: str
    quantization: str
    context_length: int | None
    chat_template: Literal["gguf", "chatml"]  # the file's own template, or the engine's ChatML fallback
    size_bytes: int
    added: str
    self_test: SelfTest | None = None


class LlmModelChoice(BaseModel):
    """A model the llama.cpp engine can be set to (the embedded one first): ``model`` and ``n_ctx``
    are the values of ``options.llm`` that select it."""

    name: str
    label_ru: str
    model: str
    n_ctx: int
    embedded: bool
    present: bool


# -- the list -------------------------------------------------------------------------------------


def registry_path(models_dir: Path) -> Path:
    return Path(models_dir) / REGISTRY


def load_registry(models_dir: Path) -> list[LocalModel]:
    """The registered models; an unreadable list counts as empty (it is rewritten on the next add)."""
    path = registry_path(models_dir)
    if not path.is_file():
        return []
    try:
        return [LocalModel.model_validate(item) for item in json.loads(path.read_text())]
    except (ValueError, TypeError):
        return []


def _save(models_dir: Path, entries: list[LocalModel]) -> None:
    path = registry_path(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([e.model_dump() for e in entries], ensure_ascii=False, indent=2))
    tmp.replace(path)


def choices(models_dir: Path) -> list[LlmModelChoice]:
    """The embedded model, then every registered one, with the settings values that select each."""
    from ai_pipeline.llm.llama_cpp import LlamaCppSettings

    default = LlamaCppSettings()
    embedded = LlmModelChoice(name="embedded", label_ru=EMBEDDED_LABEL, model=default.model, n_ctx=default.n_ctx,
                              embedded=True, present=(Path(models_dir) / default.model).is_file())
    return [embedded, *(LlmModelChoice(
        name=m.name, label_ru=f"{m.name} ({m.architecture}, {m.size_label}, {m.quantization})", model=m.path,
        n_ctx=m.n_ctx, embedded=False, present=Path(m.path).is_file()) for m in load_registry(models_dir))]


def find(models_dir: Path, name: str) -> LlmModelChoice:
    """The choice called ``name`` (``embedded`` for the shipped model)."""
    for choice in choices(models_dir):
        if choice.name == name:
            return choice
    known = ", ".join(c.name for c in choices(models_dir))
    raise InputError(f"Модель «{name}» не зарегистрирована. Есть: {known}.", f"unknown model {name!r}",
                     code="unknown_model")


# -- checking and adding ----------------------------------------------------------------------------


def inspect(path: str | Path, *, name: str | None = None, context: int | None = None) -> LocalModel:
    """Validate ``path`` as a chat GGUF from its header alone; the entry it would get (not yet tested)."""
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise BadGguf(f"{path} — папка, а нужен файл модели .gguf.", f"{path} is a directory")
    info = read_gguf(path)
    if not info.architecture:
        raise BadGguf(f"В файле {path.name} не указана архитектура модели (general.architecture).",
                      f"{path}: no general.architecture")
    template = _template_kind(info)
    limit = min(info.context_length or MAX_CONTEXT, MAX_CONTEXT)
    n_ctx = context or min(DEFAULT_CONTEXT, limit)
    if not 512 <= n_ctx <= limit:
        raise InputError(f"Контекст {n_ctx} не подходит: модель {path.name} допускает от 512 до {limit} токенов.",
                         f"--context {n_ctx} outside 512..{limit}", code="bad_model")
    return LocalModel(name=(name or info.name).strip(), path=str(path), n_ctx=n_ctx, architecture=info.architecture,
                      size_label=info.size_label, quantization=info.quantization, context_length=info.context_length,
                      chat_template=template, size_bytes=info.size_bytes,
                      added=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _template_kind(info: GgufInfo) -> Literal["gguf", "chatml"]:
    if info.chat_template:
        return "gguf"
    if CHATML_TOKEN in read_gguf(info.path, vocabulary=True).tokens:
        return "chatml"
    raise BadGguf(f"В файле {info.path.name} нет шаблона диалога (tokenizer.chat_template), и его словарь не "
                  "похож на ChatML: неизвестно, как составлять запрос. Возьмите instruct/chat-версию модели.",
                  f"{info.path}: no tokenizer.chat_template and no ChatML tokens")


def self_test(entry: LocalModel, models_dir: Path) -> SelfTest:
    """Load ``entry`` with the llama.cpp engine as the settings would, and ask one Russian question."""
    from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings

    settings = LlamaCppSettings(model=entry.path, n_ctx=min(entry.n_ctx, 2048), temperature=0.3,
                                max_tokens=SELF_TEST_TOKENS)
    engine = LlamaCppLLM(settings, models_dir)
    try:
        engine.load()
        try:
            engine.prompt_tokens(SELF_TEST_PROMPT)
        except Exception as exc:  # noqa: BLE001 - a template that does not render is the file's fault
            raise BadGguf(f"Шаблон диалога из файла {Path(entry.path).name} не работает: {exc}",
                          f"chat template of {entry.path} failed to render: {exc!r}") from None
        reply = asyncio.run(_reply(engine))
        stats = engine.last_stats
    finally:
        engine.close()
    if stats is None or not reply.strip():
        raise BadGguf(f"Модель {Path(entry.path).name} загрузилась, но ничего не ответила на проверочный вопрос.",
                      f"{entry.path}: empty self-test reply")
    return SelfTest(load_s=round(engine.load_s, 2), first_token_s=round(stats.first_token_s, 2),
                    tokens_per_s=round(stats.tokens_per_s, 1), tokens=stats.generated_tokens,
                    reply=reply.strip(), cyrillic=round(cyrillic_share(reply), 2))


async def _reply(engine: object) -> str:
    parts = []
    stream = engine.stream(SELF_TEST_PROMPT, max_tokens=SELF_TEST_TOKENS)  # type: ignore[attr-defined]
    try:
        async for chunk in stream:
            parts.append(chunk.text)
    finally:
        await stream.aclose()
    return "".join(parts)


def cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("а" <= c.lower() <= "я" or c.lower() == "ё" for c in letters) / len(letters) if letters else 0.0


def add(path: str | Path, models_dir: Path, *, name: str | None = None, context: int | None = None,
        test: bool = True) -> LocalModel:
    """Check ``path`` (header, template, and with ``test`` a real load and reply) and record it; a
    file registered before is replaced by the new entry. Raises an :class:`AvatarError` and changes
    nothing when the file is refused."""
    entry = inspect(path, name=name, context=context)
    if not entry.name or entry.name == "embedded":
        raise InputError("Имя модели не может быть пустым или «embedded».", f"bad model name {entry.name!r}",
                         code="bad_model")
    others = [m for m in load_registry(models_dir) if m.path != entry.path]
    if any(m.name == entry.name for m in others):
        raise InputError(f"Модель с именем «{entry.name}» уже есть; задайте другое имя (--name).",
                         f"model name {entry.name!r} is taken", code="bad_model")
    if test:
        started = time.perf_counter()
        try:
            entry = entry.model_copy(update={"self_test": self_test(entry, models_dir)})
        except AvatarError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever llama.cpp raises, the list stays as it was
            raise BadGguf(f"Проверка модели {Path(entry.path).name} не прошла: {exc}",
                          f"self-test of {entry.path} failed after {time.perf_counter() - started:.1f}s: {exc!r}"
                          ) from None
    _save(models_dir, [*others, entry])
    return entry


def remove(models_dir: Path, name: str) -> LocalModel:
    """Forget the registered model ``name`` (its file is left alone)."""
    entries = load_registry(models_dir)
    kept = [m for m in entries if m.name != name]
    if len(kept) == len(entries):
        raise InputError(f"Модель «{name}» не зарегистрирована.", f"unknown model {name!r}", code="unknown_model")
    _save(models_dir, kept)
    return next(m for m in entries if m.name == name)

"""llama-cpp-python on the CPU: the embedded Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) by default.

The prompt is rendered with the chat template stored in the GGUF (ChatML for Qwen2.5), tokenized
here and handed to ``Llama.generate`` with its default ``reset=True``: ``generate`` then compares
the new prompt with the tokens already in the KV cache and evaluates only the part after the
longest common prefix (``reset=False`` would skip that comparison and append). The persona
(system prompt) and the earlier turns are that prefix, so from the second turn on only the new
user message is evaluated (prefill runs at ~70 tokens/s on two cores: a 400-token persona costs
~6 s once, then ~0.4 s per turn). ``last_stats`` reports how many prompt tokens were really
decoded, counted where llama-cpp-python hands them to llama.cpp (``Llama.eval``).

Generation runs in a worker thread that posts text to an asyncio queue (bounded by
``max_tokens``). Closing the async iterator sets a stop flag that the worker checks after every
token and between 64-token slices of the prompt, then waits for the worker: an interrupted turn
leaves the model free and costs at most one token or one prompt slice. One model serves one
generation at a time (a lock).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ctypes
import functools
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ai_pipeline.chunks import ChatMessage, TokenChunk
from ai_pipeline.engine import EngineInfo, EngineSettings, missing_file, missing_package, under_models
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError
from ai_pipeline.llm.base import LLMEngine, PrefillResult, Progress
from ai_pipeline.llm.continuation import NoEarlyEnd
from ai_pipeline.llm.repetition import EchoPenalty, echo_variants
from ai_pipeline.llm.state_store import PromptStateStore, StoredState, common_prefix

log = logging.getLogger(__name__)

LLAMA_CPP_VERSION = "0.3.36"
INSTALL = f'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python=={LLAMA_CPP_VERSION}'
REPEAT_PENALTY = 1.1  # small models loop without it
PREFILL_SLICE = 64  # prompt tokens per decode call in a turn (a barge-in waits at most one slice, ~1 s on 2 cores)
BACKGROUND_SLICE = 16  # ... in a prefill, which a turn preempts: ~0.3 s of waiting, ~12% slower than 64
KEEP_MIN = 64  # prefill(keep=True) saves a cache that holds at least this many tokens it would lose
RESTORE_GAIN = 16  # load a stored state when it covers this many more prompt tokens than the cache holds
STORE_MIN = 128  # a prefill that evaluated at least this many tokens is worth saving
EVICT_MIN = 256  # a cache this large is saved before an unrelated prompt overwrites it
GPU_WORK_MB = 512  # KV cache and compute buffers beside offloaded layers (the ledger measures the real figure)
_DONE = object()


@dataclass(frozen=True)
class _Draft:
    """Tokens of a reply sampled ahead for ``prompt`` (``ended``: the reply ended within them)."""

    prompt: tuple[int, ...]
    tokens: tuple[int, ...]
    ended: bool


@dataclass(frozen=True)
class GenerationStats:
    """What one ``stream`` call cost: ``evaluated_tokens`` of ``prompt_tokens`` were not in the cache."""

    prompt_tokens: int
    evaluated_tokens: int
    generated_tokens: int
    first_token_s: float
    total_s: float
    reason: str  # "done" (end of turn token), "length" (max_tokens) or "interrupted"
    drafted_tokens: int = 0  # of ``generated_tokens``, sampled ahead by a prefill with ``draft``

    @property
    def cached_tokens(self) -> int:
        return self.prompt_tokens - self.evaluated_tokens

    @property
    def tokens_per_s(self) -> float:
        decode_s = self.total_s - self.first_token_s
        return (self.generated_tokens - 1) / decode_s if self.generated_tokens > 1 and decode_s > 0 else 0.0


class _Interrupted(Exception):
    """Raised inside ``Llama.eval`` when the consumer went away during prompt evaluation."""


@functools.cache
def _interruptible_llama() -> type:
    """``llama_cpp.Llama`` that decodes in slices, checking ``stop`` between them, and counts tokens."""
    from llama_cpp import Llama

    class InterruptibleLlama(Llama):
        decoded = 0  # tokens handed to llama.cpp: the uncached prompt, then one per generated token
        slice = PREFILL_SLICE
        stop: threading.Event | None = None
        on_slice: Callable[[int, int], None] | None = None  # (tokens done, tokens in this eval)

        def eval(self, tokens: Sequence[int]) -> None:
            for start in range(0, len(tokens), self.slice):
                if self.stop is not None and self.stop.is_set():
                    raise _Interrupted
                piece = tokens[start:start + self.slice]
                super().eval(piece)  # keeps n_tokens and the KV cache consistent after every slice
                self.decoded += len(piece)
                if self.on_slice is not None:
                    self.on_slice(start + len(piece), len(tokens))

    return InterruptibleLlama


def _chatml(messages: list[dict[str, str]]) -> str:
    """Fallback prompt for a GGUF without a chat template (Qwen's own format)."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


class LlamaCppSettings(EngineSettings):
    """llama-cpp-python on the CPU with a local GGUF (the embedded Qwen2.5-Coder-1.5B-Instruct by default)."""

    # the settings page picks the model among those `avatar models add-llm` registered (gguf_registry)
    user_options: ClassVar[tuple[str, ...]] = ("model", "n_ctx")

    engine: Literal["llama_cpp"] = "llama_cpp"
    model: str = "llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"  # under models_dir, or an absolute path
    n_ctx: int = Field(4096, ge=512, le=32768)
    n_threads: int = Field(0, ge=0)  # 0: all cores; n_threads_batch is always the same
    n_gpu_layers: int = Field(0, ge=-1)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(200, ge=16, le=2048)
    repeat_penalty: float = Field(REPEAT_PENALTY, ge=1.0, le=2.0)  # within the reply being sampled
    # a reply that goes on with echo_ngram tokens in a row of an earlier reply of the persona loses this
    # much (in logits) for the token that followed there: it does not say the same sentences again
    # (scripts/bench.py brain: replies repeating 4+ words of an earlier one 10.9% -> 3.6% at 2.0)
    echo_penalty: float = Field(2.0, ge=0.0, le=10.0)
    echo_ngram: int = Field(4, ge=2, le=16)
    seed: int = 0


class LlamaCppLLM(LLMEngine):
    """A local GGUF model run by llama.cpp, streaming tokens and reusing the prompt's cached prefix."""

    name = "llama_cpp"
    settings_class = LlamaCppSettings
    continues_reply = True
    info = EngineInfo(label_ru="Qwen2.5-Coder-1.5B-Instruct (встроенная, CPU)", heavy=False, vram_mb=0)

    def __init__(self, settings: LlamaCppSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self._llm: Any = None
        self._template: Callable[[list[dict[str, str]]], str] = _chatml
        self._lock = threading.Lock()  # one generation at a time per model
        self._active: set[threading.Event] = set()
        self.n_threads = self.settings.n_threads or os.cpu_count() or 1
        self.load_s = 0.0
        self.last_stats: GenerationStats | None = None
        self.store: PromptStateStore | None = None
        self._draft: _Draft | None = None  # the start of a reply sampled ahead (prefill with ``draft``)
        self._gpu_slot: Any = None  # the VRAM ledger's entry while layers sit on the GPU

    @property
    def model_path(self) -> Path:
        path = Path(self.settings.model).expanduser()
        if path.is_absolute():
            return path
        if self.models_dir is not None:
            return Path(self.models_dir) / path
        from ai_pipeline.settings import Settings

        return Settings().models_dir / path

    @classmethod
    def availability(cls, settings: LlamaCppSettings, models_dir: Path) -> str | None:
        return missing_package("llama_cpp") or missing_file(under_models(settings.model, models_dir), "avatar models")

    def use_state_folder(self, folder: Path, max_bytes: int) -> None:
        if self.model_path.is_file():
            self.store = PromptStateStore.for_model(folder, self.model_path, max_bytes)

    # -- lifecycle ----------------------------------------------------------------------------

    def load(self) -> None:
        """Map the GGUF, create the context and run one token through it (blocking, 2-4 s for the default)."""
        if self._llm is not None:
            return
        path = self.model_path
        if not path.is_file():
            raise EngineUnavailable(
                f"Языковая модель не найдена: {path}. Встроенная модель собирается командой «avatar models».",
                f"GGUF model missing at {path}; run `avatar models` to assemble the embedded one.")
        try:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise EngineUnavailable(f"Не установлен llama-cpp-python: {INSTALL}",
                                    f"llama-cpp-python is not installed ({exc}): {INSTALL}") from exc
        started = time.perf_counter()
        try:
            llama_class = _interruptible_llama()
            with self._vram(path) as slot:  # GPU layers: llama.cpp's own memory, measured by the ledger
                llm = llama_class(str(path), n_ctx=self.settings.n_ctx, n_threads=self.n_threads,
                                  n_threads_batch=self.n_threads, n_gpu_layers=self.settings.n_gpu_layers,
                                  seed=self.settings.seed, verbose=False)
                if slot is not None:  # a share of the file for a partial offload (+1: the output layer)
                    arch = llm.metadata.get("general.architecture", "")
                    layers = int(llm.metadata.get(f"{arch}.block_count", 0)) + 1
                    if 0 < self.settings.n_gpu_layers < layers:
                        slot.estimate_mb = max(1, slot.estimate_mb * self.settings.n_gpu_layers // layers)
            self._gpu_slot = slot
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineUnavailable(f"Не удалось загрузить языковую модель {path.name}: {exc}",
                                    f"llama.cpp could not load {path}: {exc}") from exc
        template = llm.metadata.get("tokenizer.chat_template")
        if template:
            eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "ignore")
            bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "ignore")
            formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
            self._template = lambda messages: formatter(messages=messages).prompt
        llm.eval([llm.token_bos()])  # warm-up: pages the mapped weights in now, not during the first turn
        llm.reset()
        self._llm = llm
        self.load_s = time.perf_counter() - started

    def close(self) -> None:
        """Stop running generations and free the model."""
        for stop in list(self._active):
            stop.set()
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            if self._gpu_slot is not None:
                from ai_pipeline.gpu import gpu_manager

                gpu_manager().unregister(self._gpu_slot.name)
                self._gpu_slot = None

    def _vram(self, path: Path) -> contextlib.AbstractContextManager[Any]:
        """The ledger's room for the GPU layers (the whole file as the bound), or nothing on a CPU build."""
        from llama_cpp import llama_supports_gpu_offload

        if self.settings.n_gpu_layers == 0 or not llama_supports_gpu_offload():
            return contextlib.nullcontext()
        from ai_pipeline.gpu import gpu_manager

        return gpu_manager().resident(self.name, self, path.stat().st_size // (1024 * 1024) + GPU_WORK_MB)

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "model": str(self.model_path), "n_threads": self.n_threads,
                "n_threads_batch": self.n_threads, "n_ctx": self.settings.n_ctx,
                "n_gpu_layers": self.settings.n_gpu_layers, "loaded": self._llm is not None,
                "load_s": round(self.load_s, 2)}

    # -- tokens -------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's tokenizer (a rough estimate until ``load``)."""
        if self._llm is None:
            return super().count_tokens(text)
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The chat-templated prompt, ending with the assistant header, as token ids. A last message
        of the assistant's is the start of its reply: the prompt ends with its text, to be continued."""
        opened = messages[-1].content if messages and messages[-1].role == "assistant" else None
        if opened is not None:
            messages = messages[:-1]
        prompt = self._template([{"role": m.role, "content": m.content} for m in messages]) + (opened or "")
        return self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _open_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt up to the last (user) message's words, without its end: the template's text
        after them is cut, and the last token too (the next words may merge with it)."""
        prompt = self._template([{"role": m.role, "content": m.content} for m in messages])
        words = messages[-1].content.strip()
        end = prompt.rfind(words) + len(words) if words and messages[-1].role == "user" else -1
        if end < len(words):
            return self.prompt_tokens([*messages[:-1], ChatMessage("user", "")])
        return self._llm.tokenize(prompt[:end].encode("utf-8"), add_bos=False, special=True)[:-1]

    def prefill(self, messages: Sequence[ChatMessage], stop: threading.Event | None = None,
                progress: Progress | None = None, *, store: bool = False,
                open_end: bool = False, keep: bool = False, draft: int = 0) -> PrefillResult | None:
        """Evaluate persona + history now, so the next turn only pays for the user's new words
        (with ``open_end``, also the words of the user's message heard so far). It runs in slices of
        ``BACKGROUND_SLICE`` tokens, so a turn that wants the model waits little.

        ``keep``: this prompt replaces one a conversation may still come back to (the layout after a
        fold into the summary, evaluated while the old one still serves the turns): the cache is saved
        before it is overwritten, and what was evaluated is saved when ``stop`` interrupts, so the
        next attempt goes on from there instead of starting over.

        A stored state with a longer common prefix than the cache holds is loaded first; what is
        left is evaluated in slices (``progress`` gets the fraction done). A set ``stop`` ends it
        within one slice (what was evaluated stays cached). With ``store`` (or after a long
        evaluation) the result is saved for the next time the same prompt comes.

        ``draft``: ``messages`` end with the user's whole question (a speculative transcript while the
        end of turn is being decided): the reply's first tokens are sampled too, one at a time until
        ``stop`` or ``draft`` tokens, and :meth:`stream` starts with them when it gets this prompt."""
        if self._llm is None:
            return None
        with self._lock:
            llm, started = self._llm, time.perf_counter()
            if open_end:
                tokens = self._open_tokens(messages)
            elif draft:
                tokens = self.prompt_tokens(messages)
            else:
                tokens = self.prompt_tokens([*messages, ChatMessage("user", "")])
            if keep:
                self._keep(tokens)
            restored = self._sync_cache(tokens)
            before, decoded_before = common_prefix(llm.input_ids[:llm.n_tokens], tokens), llm.decoded
            if progress is not None:
                left = max(1, len(tokens) - before)
                llm.on_slice = lambda done, _total: progress(min(1.0, done / left))
            llm.stop, llm.slice = stop, BACKGROUND_SLICE
            steps = llm.generate(tokens, temp=self.settings.temperature, top_p=self.settings.top_p,
                                 repeat_penalty=self.settings.repeat_penalty, logits_processor=self._echo(messages))
            interrupted, drafted = False, 0
            try:
                first = next(steps)  # evaluating the prompt happens before the first token is sampled
                if draft and not (stop is not None and stop.is_set()):
                    drafted = self._sample_draft(tokens, first, steps, draft, stop)
            except _Interrupted:
                interrupted = True
            finally:
                steps.close()
                llm.stop, llm.on_slice, llm.slice = None, None, PREFILL_SLICE
            evaluated = llm.decoded - decoded_before
            if interrupted and keep:
                self._keep(())
            saved = False
            if not interrupted and not open_end and self.store is not None and (store or evaluated >= STORE_MIN):
                saved = self.store.has(tokens) or self._save(tokens) is not None
            if progress is not None and not interrupted:
                progress(1.0)
            result = PrefillResult(len(tokens), evaluated, restored, time.perf_counter() - started, saved, drafted)
            log.debug("prefill%s: %s%s", " (open end)" if open_end else "", result, " interrupted" if interrupted else "")
            return result

    def _sample_draft(self, prompt: list[int], first: int, steps: Iterator[int], limit: int,
                      stop: threading.Event | None) -> int:
        """Keep sampling after ``first`` until ``limit`` tokens, the end of the reply or ``stop``; the
        draft is kept after every token (a stop inside a decode keeps what was sampled before it)."""
        from llama_cpp import llama_cpp as lib

        vocab = lib.llama_model_get_vocab(self._llm.model)
        drafted, token = [], first
        while True:
            ended = bool(lib.llama_vocab_is_eog(vocab, token))
            if not ended:
                drafted.append(token)
            self._draft = _Draft(tuple(prompt), tuple(drafted), ended)
            if ended or len(drafted) >= limit or (stop is not None and stop.is_set()):
                return len(drafted)
            token = next(steps)

    def _echo(self, messages: Sequence[ChatMessage]) -> Any:
        """The logits processors of a generation, or None: one that keeps the reply from repeating the
        persona's earlier replies in ``messages``, and, when the last message is the reply's own start
        (an opener), one that keeps it from ending before a few tokens of its own."""
        from llama_cpp import LogitsProcessorList

        begun = bool(messages) and messages[-1].role == "assistant"
        processors: list[Any] = [NoEarlyEnd(self._end_ids())] if begun else []
        if self.settings.echo_penalty > 0:
            earlier = messages[:-1] if begun else messages
            replies = [self._llm.tokenize(variant.encode("utf-8"), add_bos=False, special=False)
                       for m in earlier if m.role == "assistant" and m.content.strip()
                       for variant in echo_variants(m.content)]
            echo = EchoPenalty(replies, self.settings.echo_penalty, self.settings.echo_ngram)
            if echo:
                processors.append(echo)
        return LogitsProcessorList(processors) if processors else None

    def _end_ids(self) -> list[int]:
        """The tokens that end the assistant's turn: EOS and the chat template's end-of-turn token."""
        ids = [self._llm.token_eos()]
        for marker in (b"<|im_end|>", b"<|eot_id|>", b"<|end|>", b"<end_of_turn>"):
            tokens = self._llm.tokenize(marker, add_bos=False, special=True)
            if len(tokens) == 1:
                ids.append(tokens[0])
        return ids

    def _take_draft(self, prompt: list[int]) -> _Draft | None:
        """The draft sampled for exactly ``prompt`` (used once), else None."""
        draft, self._draft = self._draft, None
        return draft if draft is not None and draft.prompt == tuple(prompt) else None

    # -- stored states (the lock is held) -----------------------------------------------------

    def _sync_cache(self, tokens: Sequence[int]) -> int:
        """Make the KV cache hold the longest prefix of ``tokens`` that is known: load a stored state
        that beats what the cache holds, and save a large cache before an unrelated prompt evicts it.
        Returns how many tokens were loaded from the store (0: none)."""
        llm, store = self._llm, self.store
        if store is None:
            return 0
        held = llm.n_tokens
        current = common_prefix(llm.input_ids[:held], tokens)
        entry, stored = store.best(tokens)
        replacing = entry is not None and stored >= current + RESTORE_GAIN
        if held - current >= EVICT_MIN and (replacing or current < PREFILL_SLICE):
            held_tokens = llm.input_ids[:held].tolist()
            if not store.has(held_tokens):
                self._save(held_tokens)
        if not replacing or entry is None:
            return 0
        return self._load(entry)

    def _keep(self, tokens: Sequence[int]) -> None:
        """Save the cache unless it is stored already or ``tokens`` keeps all but a few of its tokens."""
        llm = self._llm
        held = llm.input_ids[:llm.n_tokens].tolist()
        if self.store is not None and len(held) - common_prefix(held, tokens) >= KEEP_MIN and not self.store.has(held):
            self._save(held)

    def _save(self, tokens: Sequence[int]) -> StoredState | None:
        """Save the cache to the store; it must hold exactly ``tokens`` (the file covers every cell)."""
        from llama_cpp import llama_cpp as lib

        llm, store = self._llm, self.store
        n = len(tokens)
        if store is None or n == 0 or n != llm.n_tokens:
            return None
        ids = [int(t) for t in tokens]
        array = (lib.llama_token * n)(*ids)

        def write(path: Path) -> bool:
            return lib.llama_state_seq_save_file(llm.ctx, str(path).encode(), 0, array, n) > 0

        return store.save(ids, write)

    def _load(self, entry: StoredState) -> int:
        """Replace the cache with ``entry``'s state; on a bad file the cache is emptied and 0 returned."""
        from llama_cpp import llama_cpp as lib

        llm, store = self._llm, self.store
        n = entry.size
        if n > self.settings.n_ctx:
            return 0
        out = (lib.llama_token * n)()
        count = ctypes.c_size_t(0)
        llm._ctx.kv_cache_clear()
        read = lib.llama_state_seq_load_file(llm.ctx, str(entry.path).encode(), 0, out, n, ctypes.byref(count))
        if read == 0 or count.value != n or list(out) != entry.tokens.tolist():
            log.warning("prompt state %s could not be loaded; evaluating instead", entry.path.name)
            llm._ctx.kv_cache_clear()
            llm.n_tokens = 0
            return 0
        llm.input_ids[:n] = entry.tokens
        llm.n_tokens = n
        llm._requires_eval = True  # the logits of the last position are not part of the state
        if store is not None:
            store.touch(entry)
        return n

    # -- generation ---------------------------------------------------------------------------

    async def stream(self, messages: Sequence[ChatMessage], *,
                     max_tokens: int | None = None) -> AsyncIterator[TokenChunk]:
        """Stream the reply; closing the iterator stops the worker after the current token."""
        if self._llm is None:
            await asyncio.to_thread(self.load)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def post(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        limit = max_tokens or self.settings.max_tokens
        worker = loop.run_in_executor(None, self._generate, list(messages), limit, stop, post)
        index = 0
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield TokenChunk(text=str(item), index=index)
                index += 1
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await worker

    def _generate(self, messages: list[ChatMessage], limit: int, stop: threading.Event,
                  post: Callable[[object], None]) -> None:
        """Worker thread: evaluate the prompt (cached prefix skipped) and post text until stopped."""
        self._active.add(stop)
        try:
            with self._lock:
                if self._llm is None:
                    raise EngineFailed("Языковая модель выгружена.", "the model was closed")
                self._run(messages, limit, stop, post)
        except Exception as exc:  # noqa: BLE001 - everything goes to the consumer as a typed error
            if not isinstance(exc, (EngineFailed, InputError)):
                exc = EngineFailed("Ошибка генерации ответа языковой моделью.",
                                   f"llama.cpp generation failed: {exc!r}")
            post(exc)
        finally:
            self._active.discard(stop)
            post(_DONE)

    def _run(self, messages: list[ChatMessage], limit: int, stop: threading.Event,
             post: Callable[[object], None]) -> None:
        from llama_cpp import llama_cpp as lib

        llm = self._llm
        if stop.is_set():  # closed while waiting for the model
            return
        tokens = self.prompt_tokens(messages)
        draft = self._take_draft(tokens)
        ahead = list(draft.tokens) if draft is not None else []
        self._sync_cache(tokens + ahead)
        room = self.settings.n_ctx - len(tokens)
        if room < 1:
            raise InputError("Диалог слишком длинный для контекста языковой модели.",
                             f"prompt of {len(tokens)} tokens does not fit n_ctx={self.settings.n_ctx}")
        limit = min(limit, room)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = lib.llama_model_get_vocab(llm.model)
        generated, evaluated, first_s, reason = 0, len(tokens), None, "length"
        decoded_before, llm.stop = llm.decoded, stop
        started = time.perf_counter()
        if ahead:  # sampled while the end of turn was being decided: said at once
            first_s, evaluated = 0.0, 0
            generated = len(ahead)
            if text := decoder.decode(llm.detokenize(ahead)):
                post(text)
        if draft is not None and (draft.ended or generated >= limit):
            steps: Generator[int, Any, None] = (token for token in ())
            reason = "done" if draft.ended else "length"
        else:
            steps = llm.generate(tokens + ahead, temp=self.settings.temperature, top_p=self.settings.top_p,
                                 repeat_penalty=self.settings.repeat_penalty, logits_processor=self._echo(messages))
        try:
            for token in steps:
                if first_s is None:
                    first_s = time.perf_counter() - started
                    evaluated = llm.decoded - decoded_before  # so far only the uncached prompt
                if stop.is_set():
                    reason = "interrupted"
                    break
                if lib.llama_vocab_is_eog(vocab, token):
                    reason = "done"
                    break
                generated += 1
                if text := decoder.decode(llm.detokenize([token])):
                    post(text)
                if generated >= limit:
                    break
            if tail := decoder.decode(b"", final=True):
                post(tail)
        except _Interrupted:  # stopped inside a decode; an evaluated part of the prompt stays cached
            reason = "interrupted"
            if first_s is None:
                evaluated = llm.decoded - decoded_before
        finally:
            steps.close()
            llm.stop = None
            self.last_stats = GenerationStats(len(tokens), evaluated, generated, first_s or 0.0,
                                              time.perf_counter() - started, reason, len(ahead))
            log.debug("generation: %s", self.last_stats)

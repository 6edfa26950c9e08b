"""The LLM stage interface.

An engine streams a reply to a list of ChatMessages as TokenChunks. Closing the iterator (the
consumer stops, e.g. on barge-in) must stop generation: engines check for it between tokens, so no
tokens are computed for nobody. ``count_tokens`` lets the prompt builder respect a token budget.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ai_pipeline.chunks import ChatMessage, TokenChunk
from ai_pipeline.engine import Engine


@dataclass(frozen=True)
class PrefillResult:
    """What a prefill did: of ``prompt_tokens``, ``restored_tokens`` came from a stored state, the
    cache already held some, and ``evaluated_tokens`` were computed now; ``stored`` says whether the
    result was saved for the next time."""

    prompt_tokens: int
    evaluated_tokens: int
    restored_tokens: int
    seconds: float
    stored: bool
    drafted_tokens: int = 0  # tokens of the reply sampled ahead (``draft``)


Progress = Callable[[float], None]  # fraction 0..1 of a prefill's evaluation


class LLMEngine(Engine):
    """Base class for every LLM engine."""

    continues_reply = False  # a last assistant message is continued (the spoken opener's words)

    def use_state_folder(self, folder: Path, max_bytes: int) -> None:
        """Keep evaluated prompt states under ``folder`` (engines without a local KV cache ignore it)."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``; engines with a tokenizer override this rough Cyrillic estimate."""
        return max(1, int(len(text) / 2.6))

    def prefill(self, messages: Sequence[ChatMessage], stop: threading.Event | None = None,
                progress: Progress | None = None, *, store: bool = False,
                open_end: bool = False, keep: bool = False, draft: int = 0) -> PrefillResult | None:
        """Warm the engine's cache with the stable prefix of a coming prompt (blocking; optional).
        Setting ``stop`` ends the work early (the caller went away); ``store`` saves the evaluated
        state for later (a persona prepared ahead of its first conversation). ``open_end``: the last
        message is the user's, still being spoken; evaluate up to its words heard so far (without
        ending the turn), so the reply pays only for the rest. ``keep``: the prompt this one replaces
        may be needed again (keep it, and keep this one's progress when stopped). ``draft``: the prompt
        is whole (the user's question as it will probably be asked): also sample up to this many
        tokens of the reply, until ``stop``; a :meth:`stream` of exactly this prompt starts with them.
        None: nothing to do."""
        return None

    @abstractmethod
    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None) -> AsyncIterator[TokenChunk]:
        """Stream the assistant's reply; stop generating when the iterator is closed. Where
        ``continues_reply``, a last message of the assistant's is the reply's start, and the stream
        is what follows it."""

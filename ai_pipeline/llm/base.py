"""The LLM stage interface.

An engine streams a reply to a list of ChatMessages as TokenChunks. Closing the iterator (the
consumer stops, e.g. on barge-in) must stop generation: engines check for it between tokens, so no
tokens are computed for nobody. ``count_tokens`` lets the prompt builder respect a token budget.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence

from ai_pipeline.chunks import ChatMessage, TokenChunk
from ai_pipeline.engine import Engine


class LLMEngine(Engine):
    """Base class for every LLM engine."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``; engines with a tokenizer override this rough Cyrillic estimate."""
        return max(1, int(len(text) / 2.6))

    def prefill(self, messages: Sequence[ChatMessage], stop: threading.Event | None = None) -> None:
        """Warm the engine's cache with the stable prefix of a coming prompt (blocking; optional).
        Setting ``stop`` ends the work early (the caller went away)."""

    @abstractmethod
    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None) -> AsyncIterator[TokenChunk]:
        """Stream the assistant's reply; stop generating when the iterator is closed."""

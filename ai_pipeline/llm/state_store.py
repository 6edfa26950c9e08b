"""Prompt states on disk: the LLM's KV cache for a token prefix, saved once and loaded in milliseconds.

Evaluating a persona's system prompt (600-700 tokens) takes 7-9 s on two CPU cores; loading the
same KV cache from a file takes ~0.1 s. The store keeps such states as files, one folder per model
(a state only fits the model that made it), each state file beside a ``.tokens`` file holding the
token ids it covers. Nothing is keyed by persona: a lookup asks for the stored state sharing the
longest prefix with the prompt about to run, so a persona whose memory grew still reuses its
character part, and a conversation evicted from the single KV cache by another one comes back.

The engine decides what to save (after an expensive evaluation, before evicting a large cache);
the store only names, indexes and bounds the files: least recently used states go first once the
folder passes ``max_bytes``. Files are written under a temporary name and renamed, so a crash
leaves no half state that a later lookup could load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

STATE_SUFFIX = ".state"
TOKENS_SUFFIX = ".tokens"


def common_prefix(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """How many leading token ids ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(np.asarray(a[:n], dtype=np.int64) != np.asarray(b[:n], dtype=np.int64))
    return int(differ[0]) if differ.size else n


def tokens_key(tokens: Sequence[int]) -> str:
    """A file name for a token sequence (sha1 of its int32 bytes)."""
    return hashlib.sha1(np.asarray(tokens, dtype=np.int32).tobytes()).hexdigest()[:24]


@dataclass(frozen=True)
class StoredState:
    path: Path
    tokens: np.ndarray  # int32 token ids the state covers

    @property
    def size(self) -> int:
        return len(self.tokens)


class PromptStateStore:
    """States of one model under ``folder`` (``folder`` is per model; see ``for_model``)."""

    def __init__(self, folder: Path, max_bytes: int = 1 << 30) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._index: dict[str, StoredState] | None = None

    @classmethod
    def for_model(cls, root: Path, model_path: Path, max_bytes: int = 1 << 30) -> PromptStateStore:
        """The store of ``model_path``'s states under ``root`` (folder named by the file's name and size)."""
        stat = model_path.stat()
        digest = hashlib.sha1(f"{model_path.name}:{stat.st_size}".encode()).hexdigest()[:12]
        return cls(root / f"{model_path.stem[:40]}-{digest}", max_bytes)

    # -- index --------------------------------------------------------------------------------

    def _entries(self) -> dict[str, StoredState]:
        if self._index is None:
            index: dict[str, StoredState] = {}
            if self.folder.is_dir():
                for tokens_file in self.folder.glob(f"*{TOKENS_SUFFIX}"):
                    state = tokens_file.with_suffix(STATE_SUFFIX)
                    try:
                        tokens = np.fromfile(tokens_file, dtype=np.int32)
                    except OSError:
                        continue
                    if state.is_file() and tokens.size:
                        index[tokens_file.stem] = StoredState(state, tokens)
            self._index = index
        return self._index

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries())

    def best(self, tokens: Sequence[int]) -> tuple[StoredState | None, int]:
        """The stored state sharing the longest prefix with ``tokens`` and that prefix's length."""
        with self._lock:
            found, length = None, 0
            for entry in self._entries().values():
                shared = common_prefix(entry.tokens, tokens)
                if shared > length:
                    found, length = entry, shared
            return found, length

    def has(self, tokens: Sequence[int]) -> bool:
        """Whether a state covering exactly ``tokens`` is stored."""
        with self._lock:
            return tokens_key(tokens) in self._entries()

    def touch(self, entry: StoredState) -> None:
        """Mark ``entry`` as just used (the least recently used states are removed first)."""
        try:
            os.utime(entry.path)
        except OSError:
            pass

    # -- writing ------------------------------------------------------------------------------

    def save(self, tokens: Sequence[int], write: Callable[[Path], bool]) -> StoredState | None:
        """Store a state for ``tokens``; ``write(path)`` writes the state file and says whether it did."""
        ids = np.asarray(tokens, dtype=np.int32)
        key = tokens_key(ids)
        self.folder.mkdir(parents=True, exist_ok=True)
        state = self.folder / f"{key}{STATE_SUFFIX}"
        partial = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}.partial"
        try:
            if not write(partial):
                raise OSError("the engine wrote no state")
            ids.tofile(self.folder / f"{key}{TOKENS_SUFFIX}.partial")
            os.replace(self.folder / f"{key}{TOKENS_SUFFIX}.partial", self.folder / f"{key}{TOKENS_SUFFIX}")
            os.replace(partial, state)
        except OSError as exc:
            log.warning("could not store a prompt state in %s: %s", self.folder, exc)
            partial.unlink(missing_ok=True)
            return None
        entry = StoredState(state, ids)
        with self._lock:
            self._entries()[key] = entry
        self._trim(keep=key)
        return entry

    def _trim(self, keep: str) -> None:
        """Remove the least recently used states (never ``keep``) until the folder fits ``max_bytes``."""
        with self._lock:
            entries = self._entries()
            sized = []
            for key, entry in entries.items():
                try:
                    stat = entry.path.stat()
                except OSError:
                    continue
                sized.append((stat.st_mtime, stat.st_size, key))
            total = sum(size for _, size, _ in sized)
            for _, size, key in sorted(sized):
                if total <= self.max_bytes:
                    break
                if key == keep:
                    continue
                entry = entries.pop(key)
                entry.path.unlink(missing_ok=True)
                entry.path.with_suffix(TOKENS_SUFFIX).unlink(missing_ok=True)
                total -= size

"""Thread pools by kind of work, so that one kind cannot starve another.

``render``: frames, enhancement and video encoding (CPU-bound, one thread per core);
``io``: database calls, file reads and writes, small decodes (short, many at once).
Everything else (model calls: ASR, LLM, TTS) stays on asyncio's default executor.

``await run("render", fn, *args)`` runs ``fn(*args)`` in the pool of that kind (context variables
travel with it). ``shutdown()`` drops queued work and lets the server exit without waiting for the
pools (the lifespan calls it); the next ``run`` makes fresh pools.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
Kind = Literal["render", "io"]

_SIZES: dict[str, int] = {"render": max(2, os.cpu_count() or 2), "io": 8}
_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(kind: Kind) -> ThreadPoolExecutor:
    """The executor for ``kind`` (created on first use)."""
    with _lock:
        executor = _pools.get(kind)
        if executor is None:
            executor = _pools[kind] = ThreadPoolExecutor(_SIZES[kind], thread_name_prefix=f"avatar-{kind}")
        return executor


async def run(kind: Kind, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in the ``kind`` pool, awaited without blocking the event loop."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(pool(kind), call)


def submit(kind: Kind, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """``fn(*args, **kwargs)`` in the ``kind`` pool; the caller keeps the future (to know when the
    thread is really done, which a cancelled ``await`` does not tell)."""
    return pool(kind).submit(contextvars.copy_context().run, fn, *args, **kwargs)


def threads() -> dict[str, int]:
    """Live worker threads per pool (for health and the soak benchmark)."""
    with _lock:
        return {kind: len(executor._threads) for kind, executor in _pools.items()}  # noqa: SLF001


def shutdown() -> None:
    """Cancel queued work and forget the pools; running calls finish on their own threads."""
    with _lock:
        executors = list(_pools.values())
        _pools.clear()
    for executor in executors:
        executor.shutdown(wait=False, cancel_futures=True)

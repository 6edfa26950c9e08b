"""VRAM that another process holds for us: the models an Ollama server keeps loaded (``GET /api/ps``).

An Ollama server runs its models in its own process (often on the same GPU), so that memory is
outside this process's budget and NVML lists it under the server's pid. The ledger shows it beside
its own engines, uncounted (:meth:`~ai_pipeline.gpu.memory.GpuMemoryManager.watch`).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from ai_pipeline.gpu.nvml import MB

PS_TIMEOUT_S = 1.0  # a health report must not hang on a stopped server


def ollama_usage(payload: dict[str, Any], model: str) -> dict[str, object]:
    """What ``/api/ps`` says about ``model``: its VRAM and total size in MB (0 while not loaded),
    and the VRAM of every model the server holds (``server_vram_mb``)."""
    rows = payload.get("models") or []
    mine = [r for r in rows if model in (r.get("name"), r.get("model"))]
    row = mine[0] if mine else {}
    return {"model": model, "loaded": bool(mine), "vram_mb": int(row.get("size_vram", 0)) // MB,
            "size_mb": int(row.get("size", 0)) // MB,
            "server_vram_mb": sum(int(r.get("size_vram", 0)) for r in rows) // MB}


def ollama_probe(host: str, model: str) -> Callable[[], dict[str, object]]:
    """A ``watch`` probe that asks the server at ``host`` each time the ledger is described."""

    def probe() -> dict[str, object]:
        with urllib.request.urlopen(f"{host.rstrip('/')}/api/ps", timeout=PS_TIMEOUT_S) as reply:
            return {"host": host, **ollama_usage(json.load(reply), model)}

    return probe

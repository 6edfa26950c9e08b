"""GGUF files for tests: a link to the embedded model, cut copies of it, and tiny hand-made headers."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

from ai_pipeline import models
from ai_pipeline.settings import Settings


def embedded_gguf() -> Path:
    """The embedded Qwen2.5-Coder-1.5B-Instruct GGUF, assembled from its packages if needed."""
    folder = Settings().models_dir
    for model in models.MANIFEST:
        if model.stage == "llm":
            return models.assemble(model, folder)
    raise LookupError("no LLM in the model manifest")


def linked_copy(source: Path, target: Path) -> Path:
    """``target`` as a hard link of ``source`` (a real copy across file systems)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def cut_copy(source: Path, target: Path, size: int) -> Path:
    """The first ``size`` bytes of ``source``: a download that stopped early."""
    with source.open("rb") as src, target.open("wb") as dst:
        dst.write(src.read(size))
    return target


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _value(value: object) -> bytes:
    if isinstance(value, str):
        return struct.pack("<I", 8) + _string(value)
    if isinstance(value, bool):
        return struct.pack("<I?", 7, value)
    if isinstance(value, int):
        return struct.pack("<II", 4, value)
    if isinstance(value, list):
        return struct.pack("<IIQ", 9, 8, len(value)) + b"".join(_string(str(v)) for v in value)
    raise TypeError(value)


def write_gguf(path: Path, metadata: dict[str, object], elements: int = 8) -> Path:
    """A valid GGUF v3 with ``metadata`` and one F32 tensor of ``elements`` zeros (no real model)."""
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, len(metadata))
    head += b"".join(_string(key) + _value(value) for key, value in metadata.items())
    head += _string("weight") + struct.pack("<IQIQ", 1, elements, 0, 0)
    head += b"\0" * (-len(head) % 32)
    path.write_bytes(head + b"\0" * (4 * elements))
    return path

"""Reading a GGUF file's header: its metadata, its tensors, and whether the file is whole.

Only the header is parsed (memory-mapped, nothing is loaded): the key/value metadata (architecture,
context length, ``tokenizer.chat_template``...) and the tensor table. The tensor table gives the
parameter count and where the last tensor's data must end, so a truncated download is caught here,
in a fraction of a second, before llama.cpp is asked to load it. Big arrays (the vocabulary) are
skipped unless asked for. The format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_pipeline.errors import InputError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# value types: struct format of the scalars (8: string, 9: array)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# ggml tensor types: (elements per block, bytes per block); a type missing here skips the size check
_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
    22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
}

# general.file_type: the quantisation a file was made with
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}


class BadGguf(InputError):
    """The file is not a usable GGUF (not one at all, an unknown version, cut short)."""

    code = "bad_model"


@dataclass(frozen=True)
class GgufInfo:
    """What a GGUF header says about the model in it."""

    path: Path
    size_bytes: int
    version: int
    metadata: dict[str, Any]
    parameters: int  # elements of all tensors
    tokens: tuple[str, ...] = field(default=(), repr=False)  # the vocabulary, when read

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", "") or self.path.stem)

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def quantization(self) -> str:
        kind = self.metadata.get("general.file_type")
        return FILE_TYPES.get(kind, f"type {kind}") if isinstance(kind, int) else "?"

    @property
    def size_label(self) -> str:
        """The size the file states (``general.size_label``), else counted from the tensors: ``1.8B``, ``494M``."""
        if label := self.metadata.get("general.size_label"):
            return str(label)
        if self.parameters >= 1e9:
            return f"{self.parameters / 1e9:.1f}B"
        return f"{self.parameters / 1e6:.0f}M"


class _Reader:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise EOFError
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        size = self.take("<Q")
        if self.pos + size > len(self.buf):
            raise EOFError
        raw = self.buf[self.pos:self.pos + size]
        self.pos += size
        return raw.decode("utf-8", "replace")

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind != _ARRAY:
            raise ValueError(f"unknown value type {kind}")
        item, count = self.take("<I"), self.take("<Q")
        if not keep and item in _SCALARS:  # skip a big numeric array without reading it
            self.pos += count * struct.calcsize(_SCALARS[item])
            if self.pos > len(self.buf):
                raise EOFError
            return count
        if not keep and item == _STRING:  # skip the strings by their lengths, undecoded
            for _ in range(count):
                size = self.take("<Q")
                self.pos += size
            if self.pos > len(self.buf):
                raise EOFError
            return count
        items = [self.value(item, keep) for _ in range(count)]
        return items if keep else count


def read_gguf(path: str | Path, *, vocabulary: bool = False) -> GgufInfo:
    """Parse ``path``'s header; arrays of more than 64 items are kept as their length, except the
    vocabulary with ``vocabulary``. Raises :class:`BadGguf` with a Russian message."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadGguf(f"Файл модели не найден: {path}", f"no such file: {path}")
    size = path.stat().st_size
    if size < 24:
        raise BadGguf(f"Файл {path.name} — не модель GGUF (слишком короткий).", f"{path} is too short for GGUF")
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:4] != MAGIC:
            raise BadGguf(f"Файл {path.name} — не модель GGUF (нет сигнатуры «GGUF» в начале).",
                          f"{path} does not start with the GGUF magic")
        reader = _Reader(buf)
        reader.pos = 4
        try:
            return _parse(reader, path, size, vocabulary)
        except EOFError:
            raise BadGguf(f"Файл {path.name} обрезан: заголовок GGUF обрывается. Скачайте модель заново.",
                          f"{path}: the GGUF header is cut short") from None
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            raise BadGguf(f"Файл {path.name} повреждён: заголовок GGUF не читается ({exc}).",
                          f"{path}: unreadable GGUF header: {exc}") from None


def _parse(reader: _Reader, path: Path, size: int, vocabulary: bool) -> GgufInfo:
    version = reader.take("<I")
    if version not in (2, 3):
        raise BadGguf(f"Версия GGUF {version} файла {path.name} не поддерживается (нужна 2 или 3).",
                      f"{path}: unsupported GGUF version {version}")
    n_tensors, n_keys = reader.take("<Q"), reader.take("<Q")
    metadata: dict[str, Any] = {}
    tokens: tuple[str, ...] = ()
    for _ in range(n_keys):
        key, kind = reader.string(), reader.take("<I")
        keep = True
        if kind == _ARRAY:  # peek at the length: big arrays (the vocabulary, merges, scores) are skipped
            count = struct.unpack_from("<Q", reader.buf, reader.pos + 4)[0] if reader.pos + 12 <= size else 0
            keep = count <= 64 or (vocabulary and key == "tokenizer.ggml.tokens")
        value = reader.value(kind, keep)
        if key == "tokenizer.ggml.tokens" and keep and kind == _ARRAY:
            tokens, value = tuple(value), len(value)
        metadata[key] = value
    parameters, data_end = 0, 0
    for _ in range(n_tensors):
        reader.string()
        dims = [reader.take("<Q") for _ in range(reader.take("<I"))]
        kind, offset = reader.take("<I"), reader.take("<Q")
        elements = math.prod(dims)
        parameters += elements
        if kind in _BLOCKS:
            per_block, block_bytes = _BLOCKS[kind]
            data_end = max(data_end, offset + elements // per_block * block_bytes)
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else DEFAULT_ALIGNMENT
    data_start = -(-reader.pos // alignment) * alignment
    if data_start + data_end > size:
        missing = data_start + data_end - size
        short = f"{missing / 2**20:.1f} МБ" if missing >= 2**20 else f"{missing} байт"
        raise BadGguf(f"Файл {path.name} обрезан: не хватает {short} данных модели. "
                      "Скачайте модель заново.", f"{path}: tensor data ends {missing} bytes past the end of the file")
    return GgufInfo(path, size, version, metadata, parameters, tokens)

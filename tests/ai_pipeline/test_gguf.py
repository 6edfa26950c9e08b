"""The GGUF header reader and the checks `avatar models add-llm` makes before any load: on the real
embedded GGUF and on small hand-made headers (tests/gguf_files.py)."""

from __future__ import annotations

import struct

import pytest

from ai_pipeline.errors import InputError
from ai_pipeline.llm import gguf_registry
from ai_pipeline.llm.gguf import BadGguf, read_gguf
from tests.gguf_files import embedded_gguf, write_gguf


def test_the_embedded_header_is_read_whole():
    info = read_gguf(embedded_gguf())
    assert (info.architecture, info.quantization, info.size_label, info.context_length) == ("qwen2", "Q4_K_M", "1.5B", 32768)
    assert info.chat_template and "<|im_start|>" in info.chat_template
    assert 1.5e9 < info.parameters < 1.9e9  # the output matrix is stored apart from the embeddings
    assert info.metadata["tokenizer.ggml.tokens"] == 151936 and not info.tokens  # the vocabulary skipped...
    assert "<|im_start|>" in read_gguf(embedded_gguf(), vocabulary=True).tokens  # ...unless asked for


def test_a_header_without_template_passes_only_with_chatml_tokens(tmp_path):
    chatml = write_gguf(tmp_path / "chatml.gguf", {"general.architecture": "qwen2", "qwen2.context_length": 8192,
                                                   "tokenizer.ggml.tokens": ["a", "<|im_start|>", "<|im_end|>"]})
    entry = gguf_registry.inspect(chatml)
    assert (entry.chat_template, entry.n_ctx, entry.context_length, entry.name) == ("chatml", 4096, 8192, "chatml")
    assert gguf_registry.inspect(chatml, context=8192).n_ctx == 8192
    with pytest.raises(InputError, match="допускает от 512 до 8192"):
        gguf_registry.inspect(chatml, context=16384)
    plain = write_gguf(tmp_path / "plain.gguf", {"general.architecture": "llama", "tokenizer.ggml.tokens": ["a", "b"]})
    with pytest.raises(BadGguf, match="нет шаблона диалога"):
        gguf_registry.inspect(plain)


def test_unknown_versions_and_headers_without_architecture_are_refused(tmp_path):
    good = write_gguf(tmp_path / "v3.gguf", {"general.architecture": "llama", "tokenizer.chat_template": "x"})
    raw = bytearray(good.read_bytes())
    raw[4:8] = struct.pack("<I", 7)
    (tmp_path / "v7.gguf").write_bytes(raw)
    with pytest.raises(BadGguf, match="Версия GGUF 7"):
        read_gguf(tmp_path / "v7.gguf")
    nameless = write_gguf(tmp_path / "nameless.gguf", {"tokenizer.chat_template": "x"})
    with pytest.raises(BadGguf, match="не указана архитектура"):
        gguf_registry.inspect(nameless)
    (tmp_path / "short.gguf").write_bytes(good.read_bytes()[:-1])  # one byte of tensor data missing
    with pytest.raises(BadGguf, match="не хватает 1 байт"):
        read_gguf(tmp_path / "short.gguf")


def test_a_refused_add_leaves_the_list_alone(tmp_path):
    models = tmp_path / "models"
    first = write_gguf(tmp_path / "a.gguf", {"general.architecture": "qwen2", "tokenizer.chat_template": "x"})
    gguf_registry.add(first, models, name="a", test=False)
    before = gguf_registry.registry_path(models).read_bytes()
    second = write_gguf(tmp_path / "b.gguf", {"general.architecture": "qwen2", "tokenizer.chat_template": "x"})
    with pytest.raises(InputError, match="уже есть"):
        gguf_registry.add(second, models, name="a", test=False)
    with pytest.raises(InputError, match="embedded"):
        gguf_registry.add(second, models, name="embedded", test=False)
    assert gguf_registry.registry_path(models).read_bytes() == before
    gguf_registry.add(first, models, name="a2", test=False)  # the same file again: its entry is replaced
    assert [m.name for m in gguf_registry.load_registry(models)] == ["a2"]
    assert [c.name for c in gguf_registry.choices(models)] == ["embedded", "a2"]
    gguf_registry.remove(models, "a2")
    assert gguf_registry.load_registry(models) == []

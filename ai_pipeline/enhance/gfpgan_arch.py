"""The GFPGAN v1.3/v1.4 network ("clean" variant: no custom CUDA ops), written so the published
``GFPGANv1.4.pth`` loads strictly (its ``params_ema`` state dict).

A U-Net encodes the degraded 512x512 face into a style code and multi-scale features; a StyleGAN2
generator decodes the style code while the features modulate it (spatial feature transform on half
of the channels). The module and parameter names follow the checkpoint's keys.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def _channels(narrow: float, multiplier: int) -> dict[int, int]:
    c = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * multiplier, 128: 128 * multiplier,
         256: 64 * multiplier, 512: 32 * multiplier, 1024: 16 * multiplier}
    return {k: int(v * narrow) for k, v in c.items()}


class ModulatedConv2d(nn.Module):
    """A conv whose weights are scaled per sample by the style (and optionally demodulated)."""

    def __init__(self, cin: int, cout: int, kernel: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False) -> None:
        super().__init__()
        self.cout, self.kernel, self.demodulate, self.upsample = cout, kernel, demodulate, upsample
        self.modulation = nn.Linear(style_dim, cin)
        self.weight = nn.Parameter(torch.randn(1, cout, cin, kernel, kernel) / math.sqrt(cin * kernel**2))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        w = self.weight * self.modulation(style).view(b, 1, c, 1, 1)
        if self.demodulate:
            w = w * torch.rsqrt(w.pow(2).sum([2, 3, 4]) + 1e-8).view(b, self.cout, 1, 1, 1)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        h, wd = x.shape[2:]
        out = F.conv2d(x.reshape(1, b * c, h, wd), w.view(b * self.cout, c, self.kernel, self.kernel),
                       padding=self.kernel // 2, groups=b)
        return out.view(b, self.cout, *out.shape[2:])


class StyleConv(nn.Module):
    def __init__(self, cin: int, cout: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(cin, cout, 3, style_dim, upsample=upsample)
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.bias = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """``noise`` None: a fresh standard normal map per sample."""
        out = self.modulated_conv(x, style) * 2**0.5
        if noise is None:
            noise = out.new_empty(out.shape[0], 1, *out.shape[2:]).normal_()
        return F.leaky_relu(out + self.weight * noise + self.bias, 0.2)


class ToRGB(nn.Module):
    def __init__(self, cin: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.modulated_conv = ModulatedConv2d(cin, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            if self.upsample:
                skip = F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
            out = out + skip
        return out


class ConstantInput(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, channels, 4, 4))


class StyleGAN2Decoder(nn.Module):
    """StyleGAN2 generator driven by per-layer latents, with SFT conditions on half the channels."""

    def __init__(self, out_size: int, style_dim: int = 512, num_mlp: int = 8, multiplier: int = 2,
                 narrow: float = 1.0) -> None:
        super().__init__()
        ch = _channels(narrow, multiplier)
        layers: list[nn.Module] = [nn.Identity()]  # the unused style MLP keeps its checkpoint indices
        for _ in range(num_mlp):
            layers += [nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2)]
        self.style_mlp = nn.Sequential(*layers)
        self.log_size = int(math.log2(out_size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.constant_input = ConstantInput(ch[4])
        self.style_conv1 = StyleConv(ch[4], ch[4], style_dim)
        self.to_rgb1 = ToRGB(ch[4], style_dim, upsample=False)
        self.style_convs, self.to_rgbs, self.noises = nn.ModuleList(), nn.ModuleList(), nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise{i}", torch.randn(1, 1, res, res))
        cin = ch[4]
        for i in range(3, self.log_size + 1):
            cout = ch[2**i]
            self.style_convs.append(StyleConv(cin, cout, style_dim, upsample=True))
            self.style_convs.append(StyleConv(cout, cout, style_dim))
            self.to_rgbs.append(ToRGB(cout, style_dim))
            cin = cout

    def forward(self, latent: torch.Tensor, conditions: list[torch.Tensor], randomize_noise: bool = True
                ) -> torch.Tensor:
        noise: list[torch.Tensor | None] = (
            [None] * self.num_layers if randomize_noise
            else [getattr(self.noises, f"noise{i}") for i in range(self.num_layers)])
        out = self.constant_input.weight.repeat(latent.shape[0], 1, 1, 1)
        out = self.style_conv1(out, latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv1, conv2, n1, n2, to_rgb in zip(self.style_convs[::2], self.style_convs[1::2], noise[1::2],
                                                noise[2::2], self.to_rgbs):
            out = conv1(out, latent[:, i], n1)
            if i < len(conditions):
                same, sft = torch.split(out, out.shape[1] // 2, dim=1)
                out = torch.cat([same, sft * conditions[i - 1] + conditions[i]], dim=1)
            out = conv2(out, latent[:, i + 1], n2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip


class ResBlock(nn.Module):
    """Residual block that halves or doubles the resolution (bilinear)."""

    def __init__(self, cin: int, cout: int, scale: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, 3, 1, 1)
        self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.interpolate(out, scale_factor=self.scale, mode="bilinear", align_corners=False)
        out = F.leaky_relu(self.conv2(out), 0.2)
        x = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + self.skip(x)


def _sft_branch(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(channels, channels, 3, 1, 1))


class GFPGANv1Clean(nn.Module):
    """GFPGAN as published for v1.3/v1.4: out_size 512, channel multiplier 2, latent per layer, SFT on half."""

    def __init__(self, out_size: int = 512, style_dim: int = 512, multiplier: int = 2, narrow: float = 1.0,
                 num_mlp: int = 8) -> None:
        super().__init__()
        self.log_size, self.style_dim = int(math.log2(out_size)), style_dim
        ch = _channels(narrow * 0.5, multiplier)  # the U-Net is half as wide as the decoder
        self.conv_body_first = nn.Conv2d(3, ch[out_size], 1)
        self.conv_body_down = nn.ModuleList()
        cin = ch[out_size]
        for i in range(self.log_size, 2, -1):
            self.conv_body_down.append(ResBlock(cin, ch[2 ** (i - 1)], 0.5))
            cin = ch[2 ** (i - 1)]
        self.final_conv = nn.Conv2d(cin, ch[4], 3, 1, 1)
        self.conv_body_up, self.toRGB = nn.ModuleList(), nn.ModuleList()
        cin = ch[4]
        for i in range(3, self.log_size + 1):
            cout = ch[2**i]
            self.conv_body_up.append(ResBlock(cin, cout, 2.0))
            self.toRGB.append(nn.Conv2d(cout, 3, 1))  # auxiliary outputs used in training; kept for the keys
            cin = cout
        self.final_linear = nn.Linear(ch[4] * 16, (self.log_size * 2 - 2) * style_dim)
        self.stylegan_decoder = StyleGAN2Decoder(out_size, style_dim, num_mlp, multiplier, narrow)
        # the SFT branches come last, so the state dict lists its keys in the published order
        self.condition_scale = nn.ModuleList(_sft_branch(ch[2**i]) for i in range(3, self.log_size + 1))
        self.condition_shift = nn.ModuleList(_sft_branch(ch[2**i]) for i in range(3, self.log_size + 1))

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> GFPGANv1Clean:
        """Build the network the checkpoint was made for (size and width read from its shapes), load strictly."""
        out_size = 2 ** (sum(1 for k in state if k.startswith("conv_body_down.") and k.endswith("conv1.weight")) + 2)
        style_dim = state["stylegan_decoder.to_rgb1.modulated_conv.modulation.weight"].shape[1]
        narrow = state["stylegan_decoder.constant_input.weight"].shape[1] / 512
        last = max(int(k.split(".")[2]) for k in state if k.startswith("stylegan_decoder.to_rgbs."))
        top = state[f"stylegan_decoder.to_rgbs.{last}.modulated_conv.weight"].shape[2]  # channels at out_size
        multiplier = max(1, round(top / (_channels(narrow, 1)[out_size]))) if out_size >= 64 else 1
        num_mlp = sum(1 for k in state if k.startswith("stylegan_decoder.style_mlp.") and k.endswith(".weight"))
        net = cls(out_size, style_dim, multiplier, narrow, num_mlp)
        net.load_state_dict(state, strict=True)
        return net

    def forward(self, x: torch.Tensor, randomize_noise: bool = True) -> torch.Tensor:
        """(B, 3, S, S) RGB in [-1, 1] -> the restored faces, same shape, roughly [-1, 1].

        ``randomize_noise``: fresh noise maps on every call, as the published inference (``GFPGANer``)
        does; False uses the stored ``stylegan_decoder.noises`` buffers (the same output for the same
        input: no flicker between video frames)."""
        feat = F.leaky_relu(self.conv_body_first(x), 0.2)
        skips = []
        for down in self.conv_body_down:
            feat = down(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        latent = self.final_linear(feat.flatten(1)).view(x.shape[0], -1, self.style_dim)
        conditions = []
        for skip, up, scale, shift in zip(skips, self.conv_body_up, self.condition_scale, self.condition_shift):
            feat = up(feat + skip)
            conditions += [scale(feat), shift(feat)]
        return self.stylegan_decoder(latent, conditions, randomize_noise)

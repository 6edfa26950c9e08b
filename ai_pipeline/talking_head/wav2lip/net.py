"""The Wav2Lip generator (Prajwal et al., 2020), written so the published checkpoints load strictly.

Parameter names and shapes follow the official ``wav2lip.pth`` / ``wav2lip_gan.pth``: a face encoder
(``face_encoder_blocks``), an audio encoder (``audio_encoder``), a U-Net style face decoder
(``face_decoder_blocks``) and ``output_block``; every block is Conv2d + BatchNorm + ReLU
(``conv_block.0`` / ``conv_block.1``), some with an identity residual. 36.3M parameters.

Input: a mel window (B, 1, 80, 16) and a face (B, 6, 96, 96) = the lower-half-masked crop and a
reference crop, both BGR in [0, 1] (the training data was read with OpenCV). Output: (B, 3, 96, 96)
BGR in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

FACE_SIZE = 96
MEL_STEPS = 16


class ConvBlock(nn.Module):
    """Conv2d + BatchNorm (+ identity residual) + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int | tuple[int, int], padding: int,
                 residual: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        return self.act(out + x if self.residual else out)


class UpBlock(nn.Module):
    """ConvTranspose2d + BatchNorm + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding),
                                        nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _stage(cin: int, cout: int, stride: int, residuals: int) -> nn.Sequential:
    """A 3x3 (down-sampling) conv followed by ``residuals`` residual 3x3 convs."""
    return nn.Sequential(ConvBlock(cin, cout, 3, stride, 1),
                         *(ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(residuals)))


def _up_stage(cin: int, cout: int, residuals: int, stride: int = 2) -> nn.Sequential:
    up = UpBlock(cin, cout, 3, 1, 0) if stride == 1 else UpBlock(cin, cout, 3, 2, 1, output_padding=1)
    return nn.Sequential(up, *(ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(residuals)))


def audio_encoder() -> nn.Sequential:
    """Wav2Lip's mel encoder: a (B, 1, 80, 16) window -> (B, 512, 1, 1). SadTalker's ExpNet and PoseVAE
    use the same stack (and the same parameter names under their own prefixes)."""
    return nn.Sequential(
        ConvBlock(1, 32, 3, 1, 1),
        ConvBlock(32, 32, 3, 1, 1, residual=True),
        ConvBlock(32, 32, 3, 1, 1, residual=True),
        ConvBlock(32, 64, 3, (3, 1), 1),
        ConvBlock(64, 64, 3, 1, 1, residual=True),
        ConvBlock(64, 64, 3, 1, 1, residual=True),
        ConvBlock(64, 128, 3, 3, 1),
        ConvBlock(128, 128, 3, 1, 1, residual=True),
        ConvBlock(128, 128, 3, 1, 1, residual=True),
        ConvBlock(128, 256, 3, (3, 2), 1),
        ConvBlock(256, 256, 3, 1, 1, residual=True),
        ConvBlock(256, 512, 3, 1, 0),
        ConvBlock(512, 512, 1, 1, 0),
    )


class Wav2Lip(nn.Module):
    """The generator. ``forward(mel, faces)`` -> faces with the mouth re-drawn for ``mel``."""

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(6, 16, 7, 1, 3)),  # 96
            _stage(16, 32, 2, 2),  # 48
            _stage(32, 64, 2, 3),  # 24
            _stage(64, 128, 2, 2),  # 12
            _stage(128, 256, 2, 2),  # 6
            _stage(256, 512, 2, 1),  # 3
            nn.Sequential(ConvBlock(512, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)),  # 1
        ])
        self.audio_encoder = audio_encoder()
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(512, 512, 1, 1, 0)),  # 1
            _up_stage(1024, 512, 1, stride=1),  # 3
            _up_stage(1024, 512, 2),  # 6
            _up_stage(768, 384, 2),  # 12
            _up_stage(512, 256, 2),  # 24
            _up_stage(320, 128, 2),  # 48
            _up_stage(160, 64, 2),  # 96
        ])
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        x = self.audio_encoder(mel)  # (B, 512, 1, 1)
        skips = []
        f = faces
        for block in self.face_encoder_blocks:
            f = block(f)
            skips.append(f)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), skips.pop()), dim=1)
        return self.output_block(x)


def clean_state_dict(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Strip DataParallel's ``module.`` prefix; BatchNorm's ``num_batches_tracked`` counters (not
    weights, absent from checkpoints saved by old torch versions) are taken from ``model`` when missing."""
    out = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in out:
            out[key] = value
    return out


def load_wav2lip(path: Path, device: str | torch.device = "cpu") -> Wav2Lip:
    """Build the generator and load an official checkpoint (``{"state_dict": ...}``) strictly."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    model = Wav2Lip()
    model.load_state_dict(clean_state_dict(state, model), strict=True)
    return model.to(device).eval()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

"""Wav2Lip's expert lip-sync discriminator ``SyncNet_color`` (``lipsync_expert.pth``), written so the
published checkpoint loads strictly.

It embeds a 0.2 s mel window (B, 1, 80, 16) and the lower halves of 5 consecutive 96 px face crops
(B, 15, 48, 96; channels frame-major, ``3 * frame + rgb``, values in [0, 1]) into unit vectors of 512;
their cosine similarity says how well the mouth matches the sound (Wav2Lip's sync loss).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ai_pipeline.talking_head.wav2lip.net import ConvBlock, clean_state_dict


def _residuals(channels: int, n: int) -> list[nn.Module]:
    return [ConvBlock(channels, channels, 3, 1, 1, residual=True) for _ in range(n)]


class SyncNetColor(nn.Module):
    """``forward(mel, faces)`` -> (audio embedding, face embedding), each (B, 512) and L2-normalised."""

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder = nn.Sequential(
            ConvBlock(15, 32, 7, 1, 3),  # 48 x 96
            ConvBlock(32, 64, 5, (1, 2), 1), *_residuals(64, 2),  # 46 x 47
            ConvBlock(64, 128, 3, 2, 1), *_residuals(128, 3),  # 23 x 24
            ConvBlock(128, 256, 3, 2, 1), *_residuals(256, 2),  # 12 x 12
            ConvBlock(256, 512, 3, 2, 1), *_residuals(512, 2),  # 6 x 6
            ConvBlock(512, 512, 3, 2, 1),  # 3 x 3
            ConvBlock(512, 512, 3, 1, 0),  # 1 x 1
            ConvBlock(512, 512, 1, 1, 0),
        )
        self.audio_encoder = nn.Sequential(
            ConvBlock(1, 32, 3, 1, 1), *_residuals(32, 2),  # 80 x 16
            ConvBlock(32, 64, 3, (3, 1), 1), *_residuals(64, 2),  # 27 x 16
            ConvBlock(64, 128, 3, 3, 1), *_residuals(128, 2),  # 9 x 6
            ConvBlock(128, 256, 3, (3, 2), 1), *_residuals(256, 2),  # 3 x 3
            ConvBlock(256, 512, 3, 1, 0),  # 1 x 1
            ConvBlock(512, 512, 1, 1, 0),
        )

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        audio = self.audio_encoder(mel).flatten(1)
        face = self.face_encoder(faces).flatten(1)
        return F.normalize(audio, p=2, dim=1), F.normalize(face, p=2, dim=1)


def sync_similarity(audio: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """(B,) cosine similarity of the two embeddings (what Wav2Lip's sync loss takes the BCE of)."""
    return F.cosine_similarity(audio, face)


def load_syncnet_color(path: Path, device: str | torch.device = "cpu") -> SyncNetColor:
    """``lipsync_expert.pth`` (``{"state_dict": ...}``, possibly DataParallel-prefixed), strictly."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    model = SyncNetColor()
    model.load_state_dict(clean_state_dict(state, model), strict=True)
    return model.to(device).eval()

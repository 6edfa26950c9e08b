"""SadTalker's ExpNet (``SimpleWrapperV2`` inside ``Audio2Exp``): speech -> 64 3DMM expression
coefficients per video frame, written so the checkpoint's ``audio2exp`` part (``netG.*`` there)
loads strictly once its prefix is removed.

Per frame it encodes the 0.2 s mel window (Wav2Lip's audio encoder), appends the reference
expression (64) and the blink ratio (1), and maps the 577 values linearly to 64 coefficients.
"""

from __future__ import annotations

import torch
from torch import nn

from ai_pipeline.talking_head.wav2lip.net import audio_encoder

EXP_DIM = 64
CHUNK = 10  # frames per network call, as upstream's test loop


class ExpNet(nn.Module):
    """``forward(mels (N, 1, 80, 16), ref (B, T, 64), ratio (B, T, 1))`` -> (B, T, 64), N = B * T."""

    def __init__(self) -> None:
        super().__init__()
        self.audio_encoder = audio_encoder()
        self.mapping1 = nn.Linear(512 + EXP_DIM + 1, EXP_DIM)

    def forward(self, mels: torch.Tensor, ref: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        audio = self.audio_encoder(mels).flatten(1)
        n = audio.shape[0]
        out = self.mapping1(torch.cat([audio, ref.reshape(n, -1), ratio.reshape(n, -1)], dim=1))
        return out.reshape(ref.shape[0], ref.shape[1], -1)


def predict_expressions(net: ExpNet, mels: torch.Tensor, ref: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """Expression coefficients (B, T, 64) for per-frame mel windows (B, T, 1, 80, 16), the reference
    coefficients (B, T, >= 64; the first 64 are the expression) and blink ratios (B, T, 1)."""
    frames = mels.shape[1]
    chunks = [net(mels[:, i:i + CHUNK].reshape(-1, 1, *mels.shape[-2:]), ref[:, i:i + CHUNK, :EXP_DIM],
                  ratio[:, i:i + CHUNK]) for i in range(0, frames, CHUNK)]
    return torch.cat(chunks, dim=1)

"""SadTalker's PoseVAE (``Audio2Pose``): speech -> head pose (yaw, pitch, roll, translation) per video
frame, written so the checkpoint's ``audio2pose`` part loads strictly (``audio_encoder.*``,
``netG.encoder.*``, ``netG.decoder.*``, ``netD_motion.*``; the encoder and discriminator are only
used in training and kept for the keys).

The decoder draws 32 frames of pose motion at once from a latent ``z`` plus a per-style class bias,
conditioned on the reference pose and the 32 frames' audio; a small residual U-Net refines it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import savgol_filter
from torch import nn

from ai_pipeline.talking_head.wav2lip.net import audio_encoder

POSE_DIM = 6


@dataclass(frozen=True)
class PoseVAEConfig:
    """``auido2pose.yaml`` (upstream's spelling) values."""

    seq_len: int = 32
    latent: int = 64
    audio_in: int = 512
    audio_out: int = 6
    num_classes: int = 46
    encoder_sizes: tuple[int, ...] = (192, 128)
    decoder_sizes: tuple[int, ...] = (128, 192)
    discriminator_channels: int = 6


class AudioEncoder(nn.Module):
    """Per-frame mel windows (B, T, 1, 80, 16) -> (B, T, 512)."""

    def __init__(self) -> None:
        super().__init__()
        self.audio_encoder = audio_encoder()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        b, t = mels.shape[:2]
        frames = torch.cat([mels[:, i] for i in range(t)], dim=0)  # frame-major, as upstream
        return self.audio_encoder(frames).reshape(b, -1, 512)  # (upstream's order; exact for B = 1)


class ResidualConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int | tuple[int, int]) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 3, stride, 1),
                                        nn.BatchNorm2d(cout), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1))
        self.conv_skip = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x) + self.conv_skip(x)


class Upsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.upsample = nn.ConvTranspose2d(channels, channels, (2, 1), (2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(x)


class ResUnet(nn.Module):
    """(B, 1, T, 6) -> (B, 1, T, 6) in (0, 1): a residual U-Net that halves T three times."""

    def __init__(self, filters: Sequence[int] = (32, 64, 128, 256)) -> None:
        super().__init__()
        f0, f1, f2, f3 = filters
        self.input_layer = nn.Sequential(nn.Conv2d(1, f0, 3, padding=1), nn.BatchNorm2d(f0), nn.ReLU(),
                                         nn.Conv2d(f0, f0, 3, padding=1))
        self.input_skip = nn.Sequential(nn.Conv2d(1, f0, 3, padding=1))
        self.residual_conv_1 = ResidualConv(f0, f1, (2, 1))
        self.residual_conv_2 = ResidualConv(f1, f2, (2, 1))
        self.bridge = ResidualConv(f2, f3, (2, 1))
        self.upsample_1 = Upsample(f3)
        self.up_residual_conv1 = ResidualConv(f3 + f2, f2, 1)
        self.upsample_2 = Upsample(f2)
        self.up_residual_conv2 = ResidualConv(f2 + f1, f1, 1)
        self.upsample_3 = Upsample(f1)
        self.up_residual_conv3 = ResidualConv(f1 + f0, f0, 1)
        self.output_layer = nn.Sequential(nn.Conv2d(f0, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.input_layer(x) + self.input_skip(x)
        x2 = self.residual_conv_1(x1)
        x3 = self.residual_conv_2(x2)
        x = self.up_residual_conv1(torch.cat([self.upsample_1(self.bridge(x3)), x3], dim=1))
        x = self.up_residual_conv2(torch.cat([self.upsample_2(x), x2], dim=1))
        x = self.up_residual_conv3(torch.cat([self.upsample_3(x), x1], dim=1))
        return self.output_layer(x)


def _mlp(sizes: Sequence[int], last: nn.Module) -> nn.Sequential:
    mlp = nn.Sequential()
    for i, (cin, cout) in enumerate(zip(sizes[:-1], sizes[1:])):
        mlp.add_module(f"L{i}", nn.Linear(cin, cout))
        if i + 2 < len(sizes):
            mlp.add_module(f"A{i}", nn.ReLU())
    mlp.add_module("sigmoid" if isinstance(last, nn.Sigmoid) else f"A{len(sizes) - 2}", last)
    return mlp


class PoseEncoder(nn.Module):
    """The VAE's encoder (training only; kept so the checkpoint loads)."""

    def __init__(self, cfg: PoseVAEConfig) -> None:
        super().__init__()
        self.resunet = ResUnet()
        first = cfg.encoder_sizes[0] + cfg.latent + cfg.seq_len * cfg.audio_out + POSE_DIM
        self.MLP = _mlp([first, *cfg.encoder_sizes[1:]], nn.ReLU())
        self.linear_means = nn.Linear(cfg.encoder_sizes[-1], cfg.latent)
        self.linear_logvar = nn.Linear(cfg.encoder_sizes[-1], cfg.latent)
        self.linear_audio = nn.Linear(cfg.audio_in, cfg.audio_out)
        self.classbias = nn.Parameter(torch.randn(cfg.num_classes, cfg.latent))


class PoseDecoder(nn.Module):
    """(z, class, reference pose, 32 frames of audio) -> 32 frames of pose motion."""

    def __init__(self, cfg: PoseVAEConfig) -> None:
        super().__init__()
        self.seq_len = cfg.seq_len
        self.resunet = ResUnet()
        first = cfg.latent + cfg.seq_len * cfg.audio_out + POSE_DIM
        self.MLP = _mlp([first, *cfg.decoder_sizes], nn.Sigmoid())
        self.pose_linear = nn.Linear(POSE_DIM, POSE_DIM)
        self.linear_audio = nn.Linear(cfg.audio_in, cfg.audio_out)
        self.classbias = nn.Parameter(torch.randn(cfg.num_classes, cfg.latent))

    def forward(self, z: torch.Tensor, class_id: torch.Tensor, ref: torch.Tensor, audio: torch.Tensor
                ) -> torch.Tensor:
        b = z.shape[0]
        audio = self.linear_audio(audio).reshape(b, -1)
        x = self.MLP(torch.cat([ref, z + self.classbias[class_id], audio], dim=-1)).reshape(b, self.seq_len, -1)
        return self.pose_linear(self.resunet(x.unsqueeze(1)).squeeze(1))


class CVAE(nn.Module):
    def __init__(self, cfg: PoseVAEConfig) -> None:
        super().__init__()
        self.encoder = PoseEncoder(cfg)
        self.decoder = PoseDecoder(cfg)


class ConvNormRelu(nn.Module):
    def __init__(self, cin: int, cout: int, downsample: bool) -> None:
        super().__init__()
        kernel, stride = (4, 2) if downsample else (3, 1)
        self.conv = nn.Conv1d(cin, cout, kernel, stride, 1, bias=False)
        self.norm = nn.BatchNorm1d(cout)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class PoseDiscriminator(nn.Module):
    """The pose-sequence discriminator (training only; kept so the checkpoint loads; its forward is not
    covered by a golden file)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(ConvNormRelu(channels, 256, True), ConvNormRelu(256, 512, True),
                                 ConvNormRelu(512, 1024, False), nn.Conv1d(1024, 1, 3, 1, 1))

    def forward(self, poses: torch.Tensor) -> torch.Tensor:
        return self.seq(poses.reshape(poses.shape[0], poses.shape[1], -1).transpose(1, 2)).squeeze(1)


class Audio2Pose(nn.Module):
    """PoseVAE with its audio encoder; :meth:`predict` is upstream's ``test``."""

    def __init__(self, cfg: PoseVAEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or PoseVAEConfig()
        self.audio_encoder = AudioEncoder()
        self.netG = CVAE(self.cfg)
        self.netD_motion = PoseDiscriminator(self.cfg.discriminator_channels)

    def predict(self, mels: torch.Tensor, ref: torch.Tensor, class_id: torch.Tensor, num_frames: int,
                noise: Callable[[int, int], torch.Tensor] | None = None) -> torch.Tensor:
        """Pose (B, num_frames, 6): the reference pose (last 6 of ``ref[:, 0]``) plus :meth:`motion`."""
        return ref[:, :1, -POSE_DIM:] + self.motion(mels, ref, class_id, num_frames, noise)

    def motion(self, mels: torch.Tensor, ref: torch.Tensor, class_id: torch.Tensor, num_frames: int,
               noise: Callable[[int, int], torch.Tensor] | None = None) -> torch.Tensor:
        """Pose motion (B, num_frames, 6) relative to the reference frame (frame 0: zeros).

        ``mels`` (B, T, 1, 80, 16) per-frame mel windows, ``ref`` (B, T, 70) reference coefficients,
        ``class_id`` (B,) the pose style; ``noise(batch, latent)`` draws each 32-frame chunk's ``z``
        (default ``torch.randn``)."""
        draw = noise or (lambda b, n: torch.randn(b, n, device=mels.device))
        seq, pose = self.cfg.seq_len, ref[:, 0, -POSE_DIM:]
        b, mels = ref.shape[0], mels[:, 1:]  # the reference is the first frame
        full, rest = divmod(num_frames - 1, seq)
        motion = [torch.zeros(b, 1, POSE_DIM, dtype=ref.dtype, device=ref.device)]
        for i in range(full):
            audio = self.audio_encoder(mels[:, i * seq:(i + 1) * seq])
            motion.append(self.netG.decoder(draw(b, self.cfg.latent), class_id, pose, audio))
        if rest:
            audio = self.audio_encoder(mels[:, -seq:])
            if audio.shape[1] != seq:  # fewer frames than one chunk: repeat the first
                audio = torch.cat([audio[:, :1].repeat(1, seq - audio.shape[1], 1), audio], dim=1)
            motion.append(self.netG.decoder(draw(b, self.cfg.latent), class_id, pose, audio)[:, -rest:])
        return torch.cat(motion, dim=1)


def smooth_poses(poses: np.ndarray, window: int = 13, order: int = 2) -> np.ndarray:
    """Savitzky-Golay smoothing along time (axis 1), as SadTalker post-processes the predicted poses."""
    return savgol_filter(poses, window, order, axis=1)

"""SyncNet as used for the LSE-C / LSE-D lip-sync metrics (Chung & Zisserman 2016; the
``syncnet_v2.model`` network of joonson/syncnet_python, its ``S`` class), written so the published
weights load strictly (without the ``__S__.`` prefix the metric's wrapper adds).

Audio: 13 MFCCs x 20 frames (0.2 s at 100 Hz), (B, 1, 13, 20). Video: 5 frames of the 224 px mouth
crop, (B, 3, 5, 224, 224), pixel values 0..255 as the metric feeds them. Both are embedded into
1024-vectors; LSE-D is their distance at the best offset, LSE-C its margin over the median
(:func:`sync_features`, :func:`sync_score`; the MFCC extraction is not here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


def _conv2d(cin: int, cout: int, kernel: tuple[int, int], padding: tuple[int, int] = (1, 1)) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=padding), nn.BatchNorm2d(cout), nn.ReLU()]


def _conv3d(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
            padding: tuple[int, int, int] = (0, 1, 1)) -> list[nn.Module]:
    return [nn.Conv3d(cin, cout, kernel, stride, padding), nn.BatchNorm3d(cout), nn.ReLU()]


def _head(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, width))


class SyncNetV2(nn.Module):
    """The two-stream network; module indices follow the published state dict."""

    def __init__(self, embedding: int = 1024) -> None:
        super().__init__()
        self.netcnnaud = nn.Sequential(
            *_conv2d(1, 64, (3, 3)), nn.MaxPool2d(1, 1),  # 13 x 20
            *_conv2d(64, 192, (3, 3)), nn.MaxPool2d(3, (1, 2)),  # 11 x 9
            *_conv2d(192, 384, (3, 3)),
            *_conv2d(384, 256, (3, 3)),
            *_conv2d(256, 256, (3, 3)), nn.MaxPool2d(3, 2),  # 5 x 4
            *_conv2d(256, 512, (5, 4), padding=(0, 0)),  # 1 x 1
        )
        self.netfcaud = _head(embedding)
        self.netfclip = _head(embedding)
        self.netcnnlip = nn.Sequential(
            *_conv3d(3, 96, (5, 7, 7), (1, 2, 2), (0, 0, 0)), nn.MaxPool3d((1, 3, 3), (1, 2, 2)),  # 1 x 54
            *_conv3d(96, 256, (1, 5, 5), (1, 2, 2)), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),  # 13
            *_conv3d(256, 256, (1, 3, 3)),
            *_conv3d(256, 256, (1, 3, 3)),
            *_conv3d(256, 256, (1, 3, 3)), nn.MaxPool3d((1, 3, 3), (1, 2, 2)),  # 6
            *_conv3d(256, 512, (1, 6, 6), padding=(0, 0, 0)),  # 1
        )

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) MFCCs -> (B, embedding)."""
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))

    def forward_lipfeat(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, 224, 224) frames -> (B, 512) convolutional features."""
        return self.netcnnlip(frames).flatten(1)

    def forward_lip(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, 224, 224) frames -> (B, embedding)."""
        return self.netfclip(self.forward_lipfeat(frames))


@dataclass(frozen=True)
class SyncScore:
    """SyncNet's verdict on a clip: LSE-D (``distance``, lower is better), LSE-C (``confidence``,
    higher is better) and the audio-video ``offset`` in video frames where the distance is smallest."""

    offset: int
    distance: float
    confidence: float


MFCC_PER_FRAME = 4  # 100 Hz MFCC frames per 25 fps video frame
WINDOW = 5  # video frames per SyncNet input


@torch.no_grad()
def sync_features(net: SyncNetV2, video: torch.Tensor, mfcc: torch.Tensor, batch: int = 20
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-window embeddings (lip, audio), each (N, embedding), as the metric computes them.

    ``video``: (3, T, 224, 224) mouth crops at 25 fps, pixel values 0..255; ``mfcc``: (13, M) at 100 Hz.
    Window ``v`` covers frames ``v..v+4`` and MFCC columns ``4v..4v+19``; N = T - 5 (the metric's
    ``range(len(frames) - 5)``)."""
    lip, audio = [], []
    starts = range(video.shape[1] - WINDOW)
    for i in range(0, len(starts), batch):
        chunk = starts[i:i + batch]
        lip.append(net.forward_lip(torch.stack([video[:, v:v + WINDOW] for v in chunk])))
        cols = [mfcc[:, MFCC_PER_FRAME * v:MFCC_PER_FRAME * v + 20] for v in chunk]
        audio.append(net.forward_aud(torch.stack(cols)[:, None]))
    return torch.cat(lip), torch.cat(audio)


def sync_score(lip: torch.Tensor, audio: torch.Tensor, vshift: int = 15) -> SyncScore:
    """Distance of each lip window to the audio windows up to ``vshift`` frames away (zero-padded
    past the ends), averaged over the clip per offset; the best offset gives LSE-D, its margin below
    the median over offsets LSE-C (the published metric, vshift 15)."""
    width = 2 * vshift + 1
    padded = F.pad(audio, (0, 0, vshift, vshift))
    dists = torch.stack([F.pairwise_distance(lip[i:i + 1].expand(width, -1), padded[i:i + width])
                         for i in range(len(lip))], dim=1)  # (offsets, windows)
    mean = dists.mean(dim=1)
    best, where = mean.min(dim=0)
    return SyncScore(vshift - int(where), float(best), float(mean.median() - best))


def load_syncnet(path: Path, device: str | torch.device = "cpu") -> SyncNetV2:
    """``syncnet_v2.model`` (a flat state dict with the metric wrapper's ``__S__.`` prefix), strictly."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = SyncNetV2()
    model.load_state_dict({k.removeprefix("__S__."): v for k, v in state.items()}, strict=True)
    return model.to(device).eval()

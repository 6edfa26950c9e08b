"""Keypoint motion for the face renderer: pose bins to degrees, rotation, keypoint transformation.

Follows SadTalker's ``make_animation.py`` (including its ``3.14`` for pi and zeroed x/z translation,
which the networks were trained with).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bins_to_degrees(bins: torch.Tensor) -> torch.Tensor:
    """66 bins of 3 degrees from -99: the expectation of the softmax."""
    idx = torch.arange(bins.shape[1], dtype=bins.dtype, device=bins.device)
    return (F.softmax(bins, dim=1) * idx).sum(1) * 3 - 99


def rotation_matrix(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) from angles in degrees (pitch about x, yaw about y, roll about z)."""
    y, p, r = (a / 180 * 3.14 for a in (yaw, pitch, roll))
    one, zero = torch.ones_like(y), torch.zeros_like(y)

    def mat(*rows: torch.Tensor) -> torch.Tensor:
        return torch.stack(rows, dim=1).view(-1, 3, 3)

    pitch_m = mat(one, zero, zero, zero, p.cos(), -p.sin(), zero, p.sin(), p.cos())
    yaw_m = mat(y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos())
    roll_m = mat(r.cos(), -r.sin(), zero, r.sin(), r.cos(), zero, zero, zero, one)
    return torch.einsum("bij,bjk,bkm->bim", pitch_m, yaw_m, roll_m)


def transform_keypoints(kp: torch.Tensor, he: dict[str, torch.Tensor], yaw: torch.Tensor | None = None,
                        pitch: torch.Tensor | None = None, roll: torch.Tensor | None = None) -> torch.Tensor:
    """Canonical keypoints (B, K, 3) posed by ``he`` (or by the given angles in degrees), plus deltas."""
    yaw = bins_to_degrees(he["yaw"]) if yaw is None else yaw
    pitch = bins_to_degrees(he["pitch"]) if pitch is None else pitch
    roll = bins_to_degrees(he["roll"]) if roll is None else roll
    rotated = torch.einsum("bmp,bkp->bkm", rotation_matrix(yaw, pitch, roll), kp)
    t = he["t"].clone()
    t[:, 0] = 0
    t[:, 2] = 0
    return rotated + t[:, None, :] + he["exp"].view(kp.shape[0], -1, 3)


def idle_pose(frame: int, fps: int, amount: float = 1.0, seed: int = 0) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees: a slow irregular sway, a pure function of the frame number."""
    t = frame / fps
    ph = (seed % 97) * 0.37
    yaw = 3.0 * math.sin(2 * math.pi * 0.061 * t + ph) + 1.0 * math.sin(2 * math.pi * 0.17 * t + 0.4)
    pitch = 1.8 * math.sin(2 * math.pi * 0.083 * t + 2.0 + ph) + 0.6 * math.sin(2 * math.pi * 0.23 * t)
    roll = 1.2 * math.sin(2 * math.pi * 0.071 * t + 1.1 * ph) + 0.5 * math.sin(2 * math.pi * 0.19 * t + 1.3)
    return yaw * amount, pitch * amount, roll * amount

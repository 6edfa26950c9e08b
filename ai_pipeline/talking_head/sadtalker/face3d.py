"""SadTalker's 3DMM coefficient regressor (Deep3DFaceRecon's ``ReconNetWrapper('resnet50')``): a face
crop -> 257 coefficients, written in plain torch (no torchvision) so the checkpoint's ``face_3drecon``
part (``net_recon``) loads strictly.

The backbone is a ResNet-50 (torchvision's layout and names, stride on the 3x3 conv, no fc) followed
by seven 1x1 heads; the coefficients are id 0:80 | exp 80:144 | tex 144:224 | angle 224:227 |
gamma 227:254 | trans 254:257. SadTalker keeps exp, angle and trans (70 values).
"""

from __future__ import annotations

import torch
from torch import nn

HEADS = (80, 64, 80, 3, 27, 2, 1)  # id, exp, tex, angle, gamma, tx/ty, tz
EXP, ANGLE, TRANS = slice(80, 144), slice(224, 227), slice(254, 257)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    """(B, 3, H, W) -> (B, 2048, 1, 1) pooled features."""

    def __init__(self, blocks: tuple[int, int, int, int] = (3, 4, 6, 3)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (n, width) in enumerate(zip(blocks, (64, 128, 256, 512))):
            layer = []
            for j in range(n):
                layer.append(Bottleneck(cin, width, 2 if j == 0 and i > 0 else 1))
                cin = width * Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x)


class ReconNet(nn.Module):
    """``forward`` (B, 3, 224, 224) RGB in [0, 1] -> (B, 257) 3DMM coefficients."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = ResNet50()
        self.final_layers = nn.ModuleList(nn.Conv2d(self.backbone.out_channels, n, 1) for n in HEADS)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.backbone(image)
        return torch.cat([head(features) for head in self.final_layers], dim=1).flatten(1)


def sadtalker_coefficients(coeffs: torch.Tensor) -> torch.Tensor:
    """The 70 values SadTalker animates with: expression (64), angles (3), translation (3)."""
    return torch.cat([coeffs[:, EXP], coeffs[:, ANGLE], coeffs[:, TRANS]], dim=1)

"""SadTalker's face renderer networks: KPDetector, HEEstimator, MappingNet and the
OcclusionAwareSPADEGenerator with its DenseMotionNetwork and SPADEDecoder.

Written from the architecture of SadTalker's ``src/facerender/modules`` (``facerender.yaml``), with
the same parameter names and shapes so ``SadTalker_V0.0.2_256.safetensors`` /
``facevid2vid_00189-model.pth.tar`` and ``mapping_00229-model.pth.tar`` load strictly. Widths are
parameters (:class:`RendererConfig`) so tests can run the same code at reduced width on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ai_pipeline.talking_head.sadtalker.blocks import (
    AntiAliasDownsample,
    DownBlock2d,
    Hourglass3d,
    ResBlock3d,
    ResBottleneck,
    SameBlock2d,
    SPADEResnetBlock,
    UpBlock3d,
    coordinate_grid,
    kp_to_gaussian,
)


@dataclass(frozen=True)
class RendererConfig:
    """Every width of the renderer; the defaults are the published ``facerender.yaml``."""

    num_kp: int = 15
    feature_channel: int = 32
    # KPDetector
    kp_expansion: int = 32
    kp_max_features: int = 1024
    kp_blocks: int = 5
    kp_reshape_channel: int = 16384
    kp_reshape_depth: int = 16
    kp_scale: float = 0.25
    temperature: float = 0.1
    # HEEstimator
    he_expansion: int = 64
    he_widths: tuple[int, int, int, int] = (256, 512, 1024, 2048)
    num_bins: int = 66
    # generator
    gen_expansion: int = 64
    gen_max_features: int = 512
    gen_down_blocks: int = 2
    gen_reshape_channel: int = 32
    gen_reshape_depth: int = 16
    gen_resblocks: int = 6
    spade_hidden: int = 128
    # dense motion
    dm_expansion: int = 32
    dm_max_features: int = 1024
    dm_blocks: int = 5
    dm_compress: int = 4
    # mapping
    coeff_nc: int = 70
    descriptor_nc: int = 1024
    mapping_layers: int = 3


class KPKHourglass(nn.Module):
    """2-D encoder, reshaped to 3-D, 3-D decoder (``down_blocks.downN`` / ``conv`` / ``up_blocks.upN``)."""

    def __init__(self, expansion: int, cin: int, reshape_features: int, reshape_depth: int, blocks: int,
                 max_features: int) -> None:
        super().__init__()

        def width(i: int) -> int:
            return min(max_features, expansion * 2 ** i)

        self.down_blocks = nn.Sequential()
        for i in range(blocks):
            self.down_blocks.add_module(f"down{i}", DownBlock2d(cin if i == 0 else width(i), width(i + 1)))
        self.conv = nn.Conv2d(width(blocks), reshape_features, 1)
        self.up_blocks = nn.Sequential()
        for i in range(blocks):
            self.up_blocks.add_module(f"up{i}", UpBlock3d(width(blocks - i), width(blocks - i - 1)))
        self.reshape_depth = reshape_depth
        self.out_filters = width(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(self.down_blocks(x))
        b, c, h, w = out.shape
        return self.up_blocks(out.view(b, c // self.reshape_depth, self.reshape_depth, h, w))


class KPDetector(nn.Module):
    """Canonical 3-D keypoints of the source image (soft-argmax over a 3-D heatmap)."""

    def __init__(self, cfg: RendererConfig) -> None:
        super().__init__()
        self.predictor = KPKHourglass(cfg.kp_expansion, 3, cfg.kp_reshape_channel, cfg.kp_reshape_depth,
                                      cfg.kp_blocks, cfg.kp_max_features)
        self.kp = nn.Conv3d(self.predictor.out_filters, cfg.num_kp, 3, padding=1)
        self.temperature = cfg.temperature
        self.down = AntiAliasDownsample(3, cfg.kp_scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        pred = self.kp(self.predictor(self.down(image)))
        b, k, d, h, w = pred.shape
        heat = F.softmax(pred.view(b, k, -1) / self.temperature, dim=2).view(b, k, d, h, w)
        grid = coordinate_grid(d, h, w, like=heat)
        return (heat.unsqueeze(-1) * grid).sum(dim=(2, 3, 4))  # (B, K, 3)


class HEEstimator(nn.Module):
    """Head pose (66-bin yaw/pitch/roll), translation and keypoint deltas from an image (ResNet-like).

    Loaded with the checkpoint for completeness; an idle base loop takes its pose from our schedule.
    """

    def __init__(self, cfg: RendererConfig) -> None:
        super().__init__()
        w1, w2, w3, w4 = cfg.he_widths
        self.conv1 = nn.Conv2d(3, cfg.he_expansion, 7, padding=3, stride=2)
        self.norm1 = nn.BatchNorm2d(cfg.he_expansion)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2, self.norm2 = nn.Conv2d(cfg.he_expansion, w1, 1), nn.BatchNorm2d(w1)
        self.block1 = self._blocks("b1", w1, 3)
        self.conv3, self.norm3 = nn.Conv2d(w1, w2, 1), nn.BatchNorm2d(w2)
        self.block2 = ResBottleneck(w2, 2)
        self.block3 = self._blocks("b3", w2, 3)
        self.conv4, self.norm4 = nn.Conv2d(w2, w3, 1), nn.BatchNorm2d(w3)
        self.block4 = ResBottleneck(w3, 2)
        self.block5 = self._blocks("b5", w3, 5)
        self.conv5, self.norm5 = nn.Conv2d(w3, w4, 1), nn.BatchNorm2d(w4)
        self.block6 = ResBottleneck(w4, 2)
        self.block7 = self._blocks("b7", w4, 2)
        self.fc_roll, self.fc_pitch, self.fc_yaw = (nn.Linear(w4, cfg.num_bins) for _ in range(3))
        self.fc_t = nn.Linear(w4, 3)
        self.fc_exp = nn.Linear(w4, 3 * cfg.num_kp)

    @staticmethod
    def _blocks(prefix: str, channels: int, n: int) -> nn.Sequential:
        seq = nn.Sequential()
        for i in range(n):
            seq.add_module(f"{prefix}_{i}", ResBottleneck(channels, 1))
        return seq

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.maxpool(F.relu(self.norm1(self.conv1(x))))
        out = self.block1(F.relu(self.norm2(self.conv2(out))))
        out = self.block3(self.block2(F.relu(self.norm3(self.conv3(out)))))
        out = self.block5(self.block4(F.relu(self.norm4(self.conv4(out)))))
        out = self.block7(self.block6(F.relu(self.norm5(self.conv5(out)))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        # the published code reads yaw from fc_roll and roll from fc_yaw; kept as trained
        return {"yaw": self.fc_roll(out), "pitch": self.fc_pitch(out), "roll": self.fc_yaw(out),
                "t": self.fc_t(out), "exp": self.fc_exp(out)}


class MappingNet(nn.Module):
    """3DMM coefficients over a 27-frame window (B, coeff_nc, 27) -> pose bins, translation, kp deltas."""

    def __init__(self, cfg: RendererConfig) -> None:
        super().__init__()
        self.layer = cfg.mapping_layers
        self.first = nn.Sequential(nn.Conv1d(cfg.coeff_nc, cfg.descriptor_nc, 7))
        for i in range(self.layer):
            setattr(self, f"encoder{i}", nn.Sequential(nn.LeakyReLU(0.1),
                                                      nn.Conv1d(cfg.descriptor_nc, cfg.descriptor_nc, 3, dilation=3)))
        self.pooling = nn.AdaptiveAvgPool1d(1)
        self.fc_roll, self.fc_pitch, self.fc_yaw = (nn.Linear(cfg.descriptor_nc, cfg.num_bins) for _ in range(3))
        self.fc_t = nn.Linear(cfg.descriptor_nc, 3)
        self.fc_exp = nn.Linear(cfg.descriptor_nc, 3 * cfg.num_kp)

    def forward(self, coeffs: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.first(coeffs)
        for i in range(self.layer):
            out = getattr(self, f"encoder{i}")(out) + out[:, :, 3:-3]
        out = self.pooling(out).flatten(1)
        return {"yaw": self.fc_yaw(out), "pitch": self.fc_pitch(out), "roll": self.fc_roll(out),
                "t": self.fc_t(out), "exp": self.fc_exp(out)}


class DenseMotionNetwork(nn.Module):
    """Dense 3-D flow (and an occlusion map) from source/driving keypoints over a 3-D feature volume."""

    def __init__(self, cfg: RendererConfig) -> None:
        super().__init__()
        k = cfg.num_kp
        self.hourglass = Hourglass3d(cfg.dm_expansion, (k + 1) * (cfg.dm_compress + 1), cfg.dm_blocks,
                                     cfg.dm_max_features)
        self.mask = nn.Conv3d(self.hourglass.out_filters, k + 1, 7, padding=3)
        self.compress = nn.Conv3d(cfg.feature_channel, cfg.dm_compress, 1)
        self.norm = nn.BatchNorm3d(cfg.dm_compress)
        self.occlusion = nn.Conv2d(self.hourglass.out_filters * cfg.gen_reshape_depth, 1, 7, padding=3)
        self.num_kp = k

    def forward(self, feature: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, d, h, w = feature.shape
        k = self.num_kp
        feature = F.relu(self.norm(self.compress(feature)))
        identity = coordinate_grid(d, h, w, like=feature).view(1, 1, d, h, w, 3)
        to_source = identity - kp_driving.view(b, k, 1, 1, 1, 3) + kp_source.view(b, k, 1, 1, 1, 3)
        motions = torch.cat([identity.expand(b, 1, d, h, w, 3), to_source], dim=1)  # (B, K+1, d, h, w, 3)
        repeated = feature.unsqueeze(1).expand(b, k + 1, *feature.shape[1:]).reshape(b * (k + 1), -1, d, h, w)
        deformed = F.grid_sample(repeated, motions.reshape(b * (k + 1), d, h, w, 3), align_corners=False)
        deformed = deformed.view(b, k + 1, -1, d, h, w)
        heat = kp_to_gaussian(kp_driving, (d, h, w)) - kp_to_gaussian(kp_source, (d, h, w))
        heat = torch.cat([torch.zeros_like(heat[:, :1]), heat], dim=1).unsqueeze(2)
        prediction = self.hourglass(torch.cat([heat, deformed], dim=2).view(b, -1, d, h, w))
        mask = F.softmax(self.mask(prediction), dim=1)
        mask = torch.where(mask < 1e-3, torch.zeros_like(mask), mask).unsqueeze(2)  # (B, K+1, 1, d, h, w)
        deformation = (motions.permute(0, 1, 5, 2, 3, 4) * mask).sum(dim=1).permute(0, 2, 3, 4, 1)
        occlusion = torch.sigmoid(self.occlusion(prediction.view(b, -1, h, w)))
        return deformation, occlusion


class SPADEDecoder(nn.Module):
    def __init__(self, channels: int, out_channels: int, hidden: int) -> None:
        super().__init__()
        ic, oc = channels, out_channels
        self.fc = nn.Conv2d(ic, 2 * ic, 3, padding=1)
        for i in range(6):
            setattr(self, f"G_middle_{i}", SPADEResnetBlock(2 * ic, 2 * ic, ic, hidden))
        self.up_0 = SPADEResnetBlock(2 * ic, ic, ic, hidden)
        self.up_1 = SPADEResnetBlock(ic, oc, ic, hidden)
        self.conv_img = nn.Conv2d(oc, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.fc(feature)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        x = self.up_1(self.up(self.up_0(self.up(x), feature)), feature)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))


class OcclusionAwareSPADEGenerator(nn.Module):
    """Encode the source to a 3-D feature volume, warp it by the dense motion, decode with SPADE."""

    def __init__(self, cfg: RendererConfig) -> None:
        super().__init__()
        e, m = cfg.gen_expansion, cfg.gen_max_features
        self.dense_motion_network = DenseMotionNetwork(cfg)
        self.first = SameBlock2d(3, e, 3)
        self.down_blocks = nn.ModuleList(DownBlock2d(min(m, e * 2 ** i), min(m, e * 2 ** (i + 1)))
                                         for i in range(cfg.gen_down_blocks))
        self.second = nn.Conv2d(min(m, e * 2 ** cfg.gen_down_blocks), m, 1)
        self.reshape_channel, self.reshape_depth = cfg.gen_reshape_channel, cfg.gen_reshape_depth
        self.resblocks_3d = nn.Sequential()
        for i in range(cfg.gen_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(cfg.gen_reshape_channel))
        out = e * 2 ** cfg.gen_down_blocks
        self.third = SameBlock2d(m, out, 3, lrelu=True)
        self.fourth = nn.Conv2d(out, out, 1)
        self.decoder = SPADEDecoder(out, e, cfg.spade_hidden)

    def source_volume(self, image: torch.Tensor) -> torch.Tensor:
        """The source's 3-D feature volume (computed once per photo)."""
        out = self.first(image)
        for block in self.down_blocks:
            out = block(out)
        out = self.second(out)
        b, _, h, w = out.shape
        return self.resblocks_3d(out.view(b, self.reshape_channel, self.reshape_depth, h, w))

    def forward(self, volume: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor) -> torch.Tensor:
        deformation, occlusion = self.dense_motion_network(volume, kp_driving, kp_source)
        out = F.grid_sample(volume, deformation, align_corners=False)
        b, c, d, h, w = out.shape
        out = self.fourth(self.third(out.view(b, c * d, h, w)))
        if out.shape[2:] != occlusion.shape[2:]:
            occlusion = F.interpolate(occlusion, size=out.shape[2:], mode="bilinear")
        return self.decoder(out * occlusion)

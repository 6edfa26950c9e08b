"""Loading SadTalker's published face-renderer checkpoints (strictly) from a local folder.

Layouts (as SadTalker's ``init_path`` finds them):
- ``SadTalker_V0.0.2_<size>.safetensors``: flat keys ``generator.*``, ``kp_extractor.*``,
  ``he_estimator.*`` (plus SadTalker's audio networks, not needed here), or
- ``facevid2vid_00189-model.pth.tar``: a dict with ``generator``, ``kp_detector``, ``he_estimator``;
- and ``mapping_00229-model.pth.tar``: a dict with ``mapping`` (70 coefficients, "crop" mode).

The speech-to-coefficient networks and the 3DMM regressor (:func:`load_coefficient_networks`) come
from the same safetensors file (prefixes ``audio2exp.``, ``audio2pose.``, ``face_3drecon.``) or from
the older ``auido2exp_00300-model.pth`` / ``auido2pose_00140-model.pth`` (``{"model": ...}``, upstream's
spelling) and ``epoch_20.pth`` (``{"net_recon": ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.talking_head.sadtalker.audio2exp import ExpNet
from ai_pipeline.talking_head.sadtalker.audio2pose import Audio2Pose
from ai_pipeline.talking_head.sadtalker.face3d import ReconNet
from ai_pipeline.talking_head.sadtalker.networks import (
    HEEstimator,
    KPDetector,
    MappingNet,
    OcclusionAwareSPADEGenerator,
    RendererConfig,
)

LEGACY = "facevid2vid_00189-model.pth.tar"
MAPPING = "mapping_00229-model.pth.tar"
LEGACY_EXP, LEGACY_POSE, LEGACY_RECON = "auido2exp_00300-model.pth", "auido2pose_00140-model.pth", "epoch_20.pth"


def safetensors_name(size: int) -> str:
    return f"SadTalker_V0.0.2_{size}.safetensors"


@dataclass
class FaceRenderer:
    kp_detector: KPDetector
    generator: OcclusionAwareSPADEGenerator
    mapping: MappingNet
    he_estimator: HEEstimator | None
    config: RendererConfig

    def to(self, device: str | torch.device) -> FaceRenderer:
        for net in (self.kp_detector, self.generator, self.mapping, self.he_estimator):
            if net is not None:
                net.to(device).eval()
        return self


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """``load_state_dict(strict=True)``; only BatchNorm's ``num_batches_tracked`` counters (not
    weights; absent when saved by old torch) are filled in from ``module`` when missing."""
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise EngineUnavailable(f"Веса SadTalker ({what}) не подходят к сети.", f"{what}: {exc}") from exc


def _with_prefix(flat: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}


def load_renderer(folder: Path, size: int = 256, config: RendererConfig | None = None) -> FaceRenderer:
    """Build the renderer networks and load them from ``folder`` (CPU tensors)."""
    cfg = config or RendererConfig()
    kp, gen, mapping, he = KPDetector(cfg), OcclusionAwareSPADEGenerator(cfg), MappingNet(cfg), HEEstimator(cfg)
    st_path, legacy_path, mapping_path = folder / safetensors_name(size), folder / LEGACY, folder / MAPPING
    if not mapping_path.is_file() or not (st_path.is_file() or legacy_path.is_file()):
        raise EngineUnavailable(
            f"Нет весов SadTalker в {folder}: нужны {safetensors_name(size)} (или {LEGACY}) и {MAPPING}. "
            "Скачайте их: `python scripts/download_models.py --only sadtalker`.",
            f"SadTalker checkpoints missing in {folder}")
    if st_path.is_file():
        from safetensors.torch import load_file

        flat = load_file(str(st_path))
        load_strict(gen, _with_prefix(flat, "generator."), "generator")
        load_strict(kp, _with_prefix(flat, "kp_extractor."), "kp_extractor")
        he_state = _with_prefix(flat, "he_estimator.")
    else:
        ckpt = torch.load(legacy_path, map_location="cpu", weights_only=True)
        load_strict(gen, ckpt["generator"], "generator")
        load_strict(kp, ckpt["kp_detector"], "kp_detector")
        he_state = ckpt.get("he_estimator") or {}
    if he_state:
        load_strict(he, he_state, "he_estimator")
    load_strict(mapping, torch.load(mapping_path, map_location="cpu", weights_only=True)["mapping"], "mapping")
    return FaceRenderer(kp, gen, mapping, he if he_state else None, cfg)


@dataclass
class CoefficientNetworks:
    """Speech -> expression (ExpNet), speech -> head pose (PoseVAE), photo -> 3DMM coefficients."""

    expnet: ExpNet
    posevae: Audio2Pose
    recon: ReconNet

    def to(self, device: str | torch.device) -> CoefficientNetworks:
        for net in (self.expnet, self.posevae, self.recon):
            net.to(device).eval()
        return self


def load_coefficient_networks(folder: Path, size: int = 256) -> CoefficientNetworks:
    """Build ExpNet, PoseVAE and the 3DMM regressor and load them strictly from ``folder`` (CPU)."""
    nets = CoefficientNetworks(ExpNet(), Audio2Pose(), ReconNet())
    st_path = folder / safetensors_name(size)
    legacy = [folder / name for name in (LEGACY_EXP, LEGACY_POSE, LEGACY_RECON)]
    if st_path.is_file():
        from safetensors.torch import load_file

        flat = load_file(str(st_path))
        parts = [_with_prefix(flat, p) for p in ("audio2exp.", "audio2pose.", "face_3drecon.")]
    elif all(p.is_file() for p in legacy):
        parts = [torch.load(path, map_location="cpu", weights_only=True)[key]
                 for path, key in zip(legacy, ("model", "model", "net_recon"))]
    else:
        raise EngineUnavailable(
            f"Нет весов SadTalker в {folder}: нужен {safetensors_name(size)} "
            f"(или {LEGACY_EXP}, {LEGACY_POSE} и {LEGACY_RECON}). "
            "Скачайте их: `python scripts/download_models.py --only sadtalker`.",
            f"SadTalker coefficient checkpoints missing in {folder}")
    for net, state, what in zip((nets.expnet, nets.posevae, nets.recon), parts,
                                ("audio2exp", "audio2pose", "face_3drecon")):
        load_strict(net, state, what)
    return nets

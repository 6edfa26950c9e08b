"""SadTalker's face renderer against the upstream golden files, on name-seeded weights at the
published size (``facerender.yaml``): KPDetector, HEEstimator, MappingNet and one ``make_animation``
step (keypoints posed by MappingNet, dense motion, SPADE generator)."""

from __future__ import annotations

import pytest
import torch

from ai_pipeline.talking_head.sadtalker.motion import transform_keypoints
from ai_pipeline.talking_head.sadtalker.networks import (
    HEEstimator,
    KPDetector,
    MappingNet,
    OcclusionAwareSPADEGenerator,
    RendererConfig,
)
from tests.golden.reference import Golden, Recorder, assert_outputs, load, recording, seeded

PUBLISHED = RendererConfig()


def test_published_config_is_the_files_config() -> None:
    params = load("sadtalker_renderer_step").meta["facerender_yaml_model_params"]
    common, kp, he = params["common_params"], params["kp_detector_params"], params["he_estimator_params"]
    gen, dm = params["generator_params"], params["generator_params"]["dense_motion_params"]
    mapping = params["mapping_params"]
    c = PUBLISHED
    assert (c.num_kp, c.feature_channel) == (common["num_kp"], common["feature_channel"])
    assert (c.kp_expansion, c.kp_max_features, c.kp_blocks, c.kp_reshape_channel, c.kp_reshape_depth,
            c.kp_scale, c.temperature) == (kp["block_expansion"], kp["max_features"], kp["num_blocks"],
                                           kp["reshape_channel"], kp["reshape_depth"], kp["scale_factor"],
                                           kp["temperature"])
    assert (c.he_expansion, c.he_widths[-1], c.num_bins) == (he["block_expansion"], he["max_features"],
                                                             he["num_bins"])
    assert (c.gen_expansion, c.gen_max_features, c.gen_down_blocks, c.gen_reshape_channel, c.gen_reshape_depth,
            c.gen_resblocks) == (gen["block_expansion"], gen["max_features"], gen["num_down_blocks"],
                                 gen["reshape_channel"], gen["reshape_depth"], gen["num_resblocks"])
    assert (c.dm_expansion, c.dm_max_features, c.dm_blocks, c.dm_compress) == (
        dm["block_expansion"], dm["max_features"], dm["num_blocks"], dm["compress"])
    assert (c.coeff_nc, c.descriptor_nc, c.mapping_layers) == (mapping["coeff_nc"], mapping["descriptor_nc"],
                                                               mapping["layer"])


def test_kp_detector() -> None:
    golden = load("sadtalker_kp_detector")
    net = seeded(KPDetector(PUBLISHED), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        kp = net(golden.input("source_image"))
    assert_outputs(golden, {"kp_canonical": kp}, rec)


def test_he_estimator() -> None:
    golden = load("sadtalker_he_estimator")
    net = seeded(HEEstimator(PUBLISHED), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        out = net(golden.input("source_image"))
    assert_outputs(golden, out, rec)


def test_mapping_net() -> None:
    golden = load("sadtalker_mapping")
    net = seeded(MappingNet(PUBLISHED), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        out = net(golden.input("coeffs"))
    assert_outputs(golden, out, rec)


def test_a_broken_layer_is_named() -> None:
    """The comparer can fail, and says where: MappingNet with one activation swapped."""
    golden = load("sadtalker_mapping")
    net = seeded(MappingNet(PUBLISHED), golden)
    net.encoder1[0] = torch.nn.ReLU()
    with torch.no_grad(), recording(net, golden) as rec:
        out = net(golden.input("coeffs"))
    with pytest.raises(AssertionError, match=r"first diverging intermediate: mid/encoder1 "):
        assert_outputs(golden, out, rec)


@pytest.fixture(scope="module")
def renderer() -> tuple[Golden, dict[str, torch.nn.Module]]:
    golden = load("sadtalker_renderer_step")
    # make_animation takes the HEEstimator too but does not use it (checked in test_he_estimator)
    nets = {"generator": OcclusionAwareSPADEGenerator(PUBLISHED), "kp_extractor": KPDetector(PUBLISHED),
            "mapping": MappingNet(PUBLISHED)}
    return golden, {role: seeded(net, golden, role) for role, net in nets.items()}


@pytest.mark.parametrize("call", ["a", "b"])
def test_renderer_step(renderer: tuple[Golden, dict[str, torch.nn.Module]], call: str) -> None:
    """``make_animation`` for one frame: a = driving pose from MappingNet's bins, b = given angles."""
    golden, nets = renderer
    gen, mapping = nets["generator"], nets["mapping"]
    src = golden.input("source_image")
    rec = Recorder()
    with torch.no_grad(), recording(gen, golden, f"{call}/generator.", rec):
        kp_canonical = nets["kp_extractor"](src)
        he_source = mapping(golden.input("source_semantics"))
        he_driving = mapping(golden.input("target_semantics")[:, 0])
        for role, he in (("source", he_source), ("driving", he_driving)):
            for key, value in he.items():
                rec.add(f"he_{role}_from_mapping:{key}", value)
        angles = {}
        if call == "b":
            angles = {a: golden.input(f"{a}_c_seq")[:, 0] for a in ("yaw", "pitch", "roll")}
        kp_source = transform_keypoints(kp_canonical, he_source)
        kp_driving = transform_keypoints(kp_canonical, he_driving, **angles)
        motion: list[tuple[torch.Tensor, torch.Tensor]] = []
        hook = gen.dense_motion_network.register_forward_hook(lambda _m, _a, out: motion.append(out))
        try:
            prediction = gen(gen.source_volume(src), kp_driving, kp_source)
        finally:
            hook.remove()
    (deformation, occlusion), = motion
    produced = {"prediction": prediction[:, None], "kp_source": kp_source, "kp_driving": kp_driving,
                "deformation": deformation, "occlusion_map": occlusion}
    if call == "a":
        produced["kp_canonical"] = kp_canonical
    # the SPADE decoder's own fp32 noise is ~1e-4 of its range, the intermediates' tolerance: outputs only
    assert_outputs(golden, {f"{call}/{k}": v for k, v in produced.items()}, rec, check_mids=False)

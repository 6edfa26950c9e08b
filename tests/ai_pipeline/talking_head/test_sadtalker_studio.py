"""Studio quality (the full SadTalker pipeline) on CPU: the renderer at reduced width with random
weights, ExpNet / PoseVAE / the 3DMM regressor at the published size with name-seeded weights, real
speech from the Festival TTS, a real photo. The clip must last as long as the speech, its frames must
move with the audio (and only with it), and the MP4 must carry both tracks."""

from __future__ import annotations

import io
from dataclasses import replace

import av
import numpy as np
import pytest
import torch

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.settings import EncoderSettings
from ai_pipeline.talking_head.prepare import prepare_face
from ai_pipeline.talking_head.sadtalker.audio2exp import ExpNet
from ai_pipeline.talking_head.sadtalker.audio2pose import Audio2Pose
from ai_pipeline.talking_head.sadtalker.checkpoint import CoefficientNetworks, FaceRenderer
from ai_pipeline.talking_head.sadtalker.face3d import ReconNet
from ai_pipeline.talking_head.sadtalker.networks import (
    HEEstimator,
    KPDetector,
    MappingNet,
    OcclusionAwareSPADEGenerator,
)
from ai_pipeline.talking_head.sadtalker.studio import (
    StudioModels,
    StudioOptions,
    encode_mp4,
    load_studio_models,
    render_studio,
    semantic_windows,
    studio_missing,
)
from ai_pipeline.tts.festival import FestivalTTS
from tests.ai_pipeline.talking_head.test_sadtalker import SMALL, _randomised
from tests.golden.seeding import seed_module

SIZE = 128  # renderer resolution for the reduced model (KPDetector downsamples 4x, then 5 blocks)
# thinner still than the prepare test's: fewer keypoints and a shallower feature volume (~0.3 s a frame)
TINY = replace(SMALL, num_kp=6, gen_max_features=32, gen_reshape_channel=4, gen_reshape_depth=8, dm_compress=2,
               spade_hidden=8)
SENTENCE = "Привет! Я твой аватар."


@pytest.fixture(scope="module")
def models() -> StudioModels:
    torch.manual_seed(0)
    renderer = FaceRenderer(_randomised(KPDetector(TINY)), _randomised(OcclusionAwareSPADEGenerator(TINY)),
                            _randomised(MappingNet(TINY)), _randomised(HEEstimator(TINY)), TINY)
    coefficients = CoefficientNetworks(seed_module(ExpNet()), seed_module(Audio2Pose()), seed_module(ReconNet()))
    return StudioModels(renderer, coefficients).to("cpu")


@pytest.fixture(scope="module")
def face(photo_bytes, tmp_path_factory):
    return prepare_face(photo_bytes, size=256, cache_dir=tmp_path_factory.mktemp("avatars"))


@pytest.fixture(scope="module")
def speech() -> AudioChunk:
    """The sentence followed by half a second of silence."""
    tts = FestivalTTS()
    tts.load()
    try:
        said = tts.synthesize_sentence(SENTENCE)
    finally:
        tts.close()
    pause = np.zeros(said.sample_rate // 2, np.float32)
    return AudioChunk(np.concatenate([said.samples, pause]), said.sample_rate)


@pytest.fixture(scope="module")
def clip(face, speech, models):
    events: list[tuple[float, str]] = []
    result = render_studio(face, speech, models, StudioOptions(size=SIZE), progress=lambda f, m: events.append((f, m)))
    return result, events


def test_clip_lasts_as_long_as_the_speech(clip, speech, face):
    result, _ = clip
    n = int(np.ceil(speech.duration * 25 - 1e-9))
    assert result.frames.shape == (n, face.size, face.size, 3) and result.frames.dtype == np.uint8
    assert result.coefficients.shape == (n, 70) and result.source_coefficients.shape == (70,)
    assert abs(result.duration - speech.duration) < 1 / 25
    assert len(result.audio.samples) == round(n * speech.sample_rate / 25)


def test_frames_move_with_the_audio(clip, speech, face, models):
    result, _ = clip
    frames = result.frames.astype(np.int16)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0.5).mean() > 0.8, "consecutive frames differ"
    # the driving expressions follow the audio: they vary more while the sentence is said than in the pause
    n_talk = int((speech.duration - 0.5) * 25)
    exp = result.coefficients[:, :64]
    assert exp[:n_talk].std(axis=0).mean() > 1.5 * exp[n_talk + 5:].std(axis=0).mean()
    # control: no expression from speech and the photo's own pose -> the frames stand still
    still = render_studio(face, AudioChunk(speech.samples[: speech.sample_rate], speech.sample_rate), models,
                          StudioOptions(size=SIZE, still=True, expression_scale=0.0))
    still_steps = np.abs(np.diff(still.frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert still_steps.max() < 0.05 < np.median(steps), (still_steps.max(), np.median(steps))
    # and only the face square is re-rendered
    assert np.array_equal(result.frames[0, :4, :4], face.image[:4, :4])


def test_progress_covers_every_stage(clip):
    _, events = clip
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[0] == 0.0
    text = " ".join(m for _, m in events)
    for stage in ("3DMM", "мимика", f"кадр {len(clip[0].frames)} из {len(clip[0].frames)}", "кадры готовы"):
        assert stage in text


def test_mp4_has_the_frames_and_the_audio(clip):
    result, _ = clip
    mp4 = encode_mp4(result, EncoderSettings())
    with av.open(io.BytesIO(mp4)) as container:
        video = container.streams.video[0]
        assert container.streams.audio, "an audio track"
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == len(result.frames)
    assert (video.width, video.height) == result.frames.shape[2:0:-1]
    mid = len(decoded) // 2
    assert np.abs(decoded[mid].astype(int) - result.frames[mid]).mean() < 6  # H.264 at the default quality


def test_refine_and_enhance_get_each_frame_with_landmarks(face, speech, models):
    calls: dict[str, int] = {}
    short = AudioChunk(speech.samples[: speech.sample_rate // 2], speech.sample_rate)

    def refine(frames, landmarks, audio):
        calls["refine"] = len(frames)
        assert landmarks.shape == (len(frames), 468, 2) and audio.duration == pytest.approx(len(frames) / 25)
        return 255 - frames

    def enhance(batch):
        calls["enhance"] = calls.get("enhance", 0) + len(batch.frames)
        assert batch.landmarks is not None and len(batch.landmarks) == len(batch.frames)
        return batch

    result = render_studio(face, short, models, StudioOptions(size=SIZE), refine=refine, enhance=enhance,
                           track=lambda frames, rest: np.repeat(rest[None], len(frames), axis=0))
    assert calls == {"refine": len(result.frames), "enhance": len(result.frames)}
    assert result.frames[0, 0, 0, 0] == 255 - face.image[0, 0, 0]


def test_semantic_windows_clamp_at_the_ends():
    coeffs = np.arange(5 * 70, dtype=np.float32).reshape(5, 70)
    w = semantic_windows(coeffs, range(5))
    assert w.shape == (5, 70, 27)
    np.testing.assert_array_equal(w[0, :, 13], coeffs[0])
    np.testing.assert_array_equal(w[0, :, 0], coeffs[0])
    np.testing.assert_array_equal(w[2, :, 14], coeffs[3])
    np.testing.assert_array_equal(w[4, :, 26], coeffs[4])


def test_without_weights_studio_is_refused_in_russian(tmp_path):
    message = studio_missing(tmp_path)
    assert message is not None and "Студийное качество недоступно" in message
    with pytest.raises(EngineUnavailable, match="нет весов SadTalker"):
        load_studio_models(tmp_path)

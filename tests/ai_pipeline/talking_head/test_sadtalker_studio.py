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
from ai_pipeline.talking_head.sadtalker.prepare import crop_for_renderer
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
from tests.support import decode_mp4

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


def test_mp4_has_the_frames_and_the_audio(clip, speech, face):
    result, _ = clip
    decoded = decode_mp4(encode_mp4(result, EncoderSettings()))
    assert len(decoded.frames) == len(result.frames) and decoded.fps == 25
    assert decoded.frames[0].shape == result.frames[0].shape
    assert abs(decoded.video_duration - result.duration) < 0.02
    assert abs(decoded.audio_duration - result.duration) < 0.05 and decoded.sample_rate == speech.sample_rate
    n_talk = int((speech.duration - 0.5) * 25)
    loud = np.abs(decoded.audio[: int(n_talk / 25 * decoded.sample_rate)]).max()
    assert loud > 0.05 and np.abs(decoded.audio[-decoded.sample_rate // 4:]).max() < 0.2 * loud  # speech, then the pause
    mid = len(result.frames) // 2
    err = np.abs(decoded.frames[mid].astype(int) - result.frames[mid]).mean()
    assert err < 12, err  # H.264 on the random renderer's noisy face; the photo around it is smooth
    left, top, side = crop_for_renderer(face, SIZE)[2]
    assert np.abs(decoded.frames[mid][:top].astype(int) - result.frames[mid][:top]).mean() < 4


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


def test_api_studio_job_reports_progress_and_returns_the_clip(models, speech, data_dir, monkeypatch):
    """``POST /api/render quality=studio``: refused in Russian without the weights; with them (the reduced
    networks stand in for the loaded checkpoints) a job whose progress names the studio stages."""
    import time
    import wave

    from fastapi.testclient import TestClient

    from ai_pipeline.settings import Settings
    from ai_pipeline.talking_head.sadtalker import studio_render
    from ai_pipeline.talking_head.sadtalker.checkpoint import MAPPING, safetensors_name
    from backend.app import create_app

    second = speech.samples[: speech.sample_rate]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(speech.sample_rate)
        w.writeframes((np.clip(second, -1, 1) * 32767).astype(np.int16).tobytes())
    settings = Settings(data_dir=data_dir / "studio_api")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        upload = {"audio": ("a.wav", buf.getvalue(), "audio/wav")}
        refused = client.post("/api/render", data={"quality": "studio"}, files=upload)
        assert refused.status_code == 503, refused.text
        assert "Студийное качество недоступно" in refused.json()["error"]["message"]
        folder = settings.models_dir / "sadtalker"
        folder.mkdir(parents=True)
        for name in (safetensors_name(256), MAPPING):
            (folder / name).write_bytes(b"")  # present; the reduced networks are handed in below
        monkeypatch.setattr(studio_render, "load_studio_models", lambda *_a, **_k: models)
        monkeypatch.setattr(studio_render, "StudioOptions", lambda **k: StudioOptions(**{**k, "size": SIZE}))
        created = client.post("/api/render", data={"quality": "studio"}, files=upload)
        assert created.status_code == 202, created.text
        url, seen = created.json()["status_url"], set()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            status = client.get(url).json()
            seen.add(status["message"])
            if status["status"] in ("done", "error"):
                break
            time.sleep(0.2)
        assert status["status"] == "done", status
        assert any(m.startswith("Студия") for m in seen), seen
        assert status["timings"]["renderer"] > 0
        mp4 = client.get(f"{url}/result").content
    with av.open(io.BytesIO(mp4)) as container:
        assert container.streams.audio
        assert sum(1 for _ in container.decode(video=0)) == 25


def test_wav2lip_refiner_redraws_only_the_mouth(face, speech, tmp_path):
    """The studio's mouth refinement: the Wav2Lip engine (random weights, the published layout) over the
    rendered frames played once, one output frame per input frame, changes inside the mouth box only."""
    from ai_pipeline.talking_head.sadtalker.studio_render import wav2lip_refiner
    from ai_pipeline.talking_head.wav2lip.base_loop import mouth_boxes
    from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine, Wav2LipSettings
    from tests.ai_pipeline.talking_head.test_wav2lip import save_official
    from ai_pipeline.talking_head.wav2lip.net import Wav2Lip

    torch.manual_seed(0)
    checkpoint = save_official(Wav2Lip().eval(), tmp_path / "wav2lip_gan.pth")
    engine = Wav2LipEngine(Wav2LipSettings(checkpoint=checkpoint, size=face.size, batch_size=8, precision="fp32"))
    engine.load()
    try:
        n = 10
        frames = np.repeat(face.image[None], n, axis=0)
        landmarks = np.repeat(face.landmarks[None], n, axis=0)
        audio = AudioChunk(speech.samples[: round(n / 25 * speech.sample_rate)], speech.sample_rate)
        out = wav2lip_refiner(engine, face)(frames, landmarks, audio)
    finally:
        engine.close()
    assert out.shape == frames.shape
    x0, y0, x1, y1 = mouth_boxes(landmarks, face.size)[0]
    changed = np.abs(out.astype(int) - frames).sum(axis=(0, 3)) > 0
    assert changed[y0:y1, x0:x1].mean() > 0.3
    assert not changed[:y0].any() and not changed[y1:].any()

"""Talking-head stage: photo preparation, bad photos, and a contract run over every engine."""

from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest
import torch

from ai_pipeline import registry
from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.errors import FaceNotFound, InputError
from ai_pipeline.media.image_io import encode_png
from ai_pipeline.talking_head import landmarks as lm
from ai_pipeline.talking_head.articulation import mouth_track, viseme_for
from ai_pipeline.talking_head.landmarks import face_mesh, inner_lip_gap
from ai_pipeline.talking_head.mesh_warp import MeshWarpSettings
from ai_pipeline.talking_head.prepare import prepare_face
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipSettings
from ai_pipeline.talking_head.wav2lip.net import Wav2Lip
from tests.ai_pipeline.talking_head.test_wav2lip import save_official
from tests.streams import streamed_batches
from tests.support import mouth_gaps

def engine_settings(name: str, folder) -> object:
    """Each engine's settings for the contract run; Wav2Lip gets a random checkpoint in the official layout."""
    if name == "wav2lip":
        torch.manual_seed(0)
        checkpoint = save_official(Wav2Lip(), folder / "wav2lip_gan.pth")
        return Wav2LipSettings(checkpoint=checkpoint, device="cpu", base_loop="mesh_warp")
    return {"mesh_warp": MeshWarpSettings()}[name]


@pytest.fixture(scope="module", params=registry.engine_names("talking_head"))
def engine(request, tmp_path_factory):
    head = registry.build("talking_head", engine_settings(request.param, tmp_path_factory.mktemp("head")))
    head.load()
    yield head
    head.close()


@pytest.fixture(scope="module")
def avatar(engine, photo_bytes, tmp_path_factory):
    return engine.prepare(photo_bytes, cache_dir=tmp_path_factory.mktemp("avatars"))


def eye_openness(frame: np.ndarray) -> float:
    pts = face_mesh(frame)
    assert pts is not None
    gap = np.linalg.norm(pts[159] - pts[145]) + np.linalg.norm(pts[386] - pts[374])
    return float(gap / np.linalg.norm(pts[33] - pts[263]))


# -- preparation --------------------------------------------------------------------------


def test_prepare_aligns_crops_and_caches(photo_bytes, tmp_path):
    face = prepare_face(photo_bytes, size=512, cache_dir=tmp_path)
    assert face.image.shape == (512, 512, 3) and face.image.dtype == np.uint8
    assert face.landmarks.shape == (468, 2)
    assert (face.landmarks > 0).all() and (face.landmarks < 512).all()
    eyes = face.landmarks[[33, 263]]
    assert abs(eyes[0, 1] - eyes[1, 1]) < 0.05 * abs(eyes[0, 0] - eyes[1, 0]), "eyes are levelled"
    width = np.ptp(face.landmarks[list(lm.FACE_OVAL), 0])
    assert 0.3 * 512 < width < 0.6 * 512, "face fills a sensible part of the frame"
    assert (tmp_path / face.avatar_id / "crop.png").is_file()
    again = prepare_face(photo_bytes, size=512, cache_dir=tmp_path)
    assert again.avatar_id == face.avatar_id
    np.testing.assert_allclose(again.landmarks, face.landmarks)


def test_two_faces_pick_the_largest(photo_rgb):
    small = cv2.resize(photo_rgb, None, fx=0.5, fy=0.5)
    canvas = np.full((512, 512 + 256, 3), 255, np.uint8)
    canvas[:, :512] = photo_rgb
    canvas[128:384, 512:] = small
    face = prepare_face(encode_png(canvas), size=256)
    assert any("несколько лиц" in w for w in face.warnings)
    assert face.face_px > 80  # the full-size face (~105 px), not the half-size copy (~52 px)


def test_no_face_is_refused():
    from skimage import data

    with pytest.raises(FaceNotFound) as err:
        prepare_face(encode_png(data.coffee()))
    assert err.value.code == "no_face" and "лицо" in err.value.message_ru


def test_tiny_face_is_refused(photo_rgb):
    tiny = cv2.resize(photo_rgb, (160, 160), interpolation=cv2.INTER_AREA)
    with pytest.raises(InputError) as err:
        prepare_face(encode_png(tiny), min_face_px=64)
    assert err.value.code in ("face_too_small", "no_face")


def test_not_an_image_is_refused():
    with pytest.raises(InputError) as err:
        prepare_face(b"this is not a picture at all" * 10)
    assert err.value.code == "bad_image"


# -- articulation -------------------------------------------------------------------------


@pytest.mark.parametrize("phoneme,closed", [("p", True), ("bb", True), ("m", True), ("aa", False), ("a", False),
                                            ("o", False), ("i", False)])
def test_visemes_close_on_bilabials(phoneme, closed):
    assert (viseme_for(phoneme).open == 0.0) is closed


def test_visemes_round_and_wide():
    assert viseme_for("oo").round > 0.5 and viseme_for("u").round > 0.5
    assert viseme_for("i").wide > 0.5 and viseme_for("ee").wide > 0.4
    assert viseme_for("pau").open == 0.0
    assert viseme_for("8").round > 0.5 and viseme_for("ju").round > 0.5  # espeak ё-like o, ю
    assert viseme_for("ja").open > 0.5 and viseme_for("V").open > 0.5  # espeak я, reduced а
    assert viseme_for("vv").open < 0.2 and viseme_for("tS;").round > 0.3  # festival в', espeak ч


def test_mouth_track_follows_loudness_and_phonemes():
    rate, fps = 16000, 25
    t = np.arange(rate * 2) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    tone[rate // 2: rate] = 0.0  # 0.5-1.0 s silent
    track = mouth_track(tone, rate, fps, 50)
    assert track[15:21, 0].max() < 0.05, "closed in silence (lips may anticipate the next sound)"
    assert track[2:10, 0].mean() > 0.4 and track[30:45, 0].mean() > 0.4, "open while sounding"
    marks = (PhonemeMark("aa", 0.0, 0.4), PhonemeMark("m", 0.4, 0.5), PhonemeMark("aa", 0.5, 2.0))
    with_m = mouth_track(np.abs(tone) + 0.1, rate, fps, 50, marks)
    assert with_m[11, 0] < 0.5 * with_m[5, 0], "closes for the bilabial"


# -- rendering contract (every engine) ----------------------------------------------------


def test_render_batches_share_one_timeline(engine, avatar):
    rate = 22050
    samples = (0.2 * np.sin(np.linspace(0, 2000, int(1.3 * rate)))).astype(np.float32)
    batches = list(engine.render(avatar, AudioChunk(samples, rate), first_frame=7))
    frames = sum(len(b.frames) for b in batches)
    assert frames == int(np.ceil(1.3 * engine.fps))
    assert batches[0].first_frame == 7 and batches[-1].final
    for b in batches:
        assert b.frames.shape[1:] == (engine.size, engine.size, 3) and b.frames.dtype == np.uint8
        assert len(b.audio) == round(len(b.frames) * rate / engine.fps)
    audio = np.concatenate([b.audio for b in batches])
    np.testing.assert_array_equal(audio[: len(samples)], samples)
    assert not audio[len(samples):].any(), "padding is silence"


def test_streamed_chunks_share_one_frame_counter(engine, avatar):
    """The streamer renders chunk after chunk on one timeline (frames numbered across chunks)."""
    rate = 16000
    chunks = [AudioChunk(np.zeros(int(0.5 * rate), np.float32), rate, index=i) for i in range(3)]
    batches = asyncio.run(streamed_batches(engine, avatar, chunks))
    assert batches[0].first_frame == 0
    for prev, cur in zip(batches, batches[1:]):
        assert cur.first_frame == prev.first_frame + len(prev.frames)
    assert sum(len(b.frames) for b in batches) == 3 * int(np.ceil(0.5 * engine.fps))


def test_frames_depend_only_on_their_index(engine, avatar):
    """Rendering a clip in two pieces gives the same frames: no jump where pieces join."""
    rate = 16000
    whole = [f for b in engine.idle(avatar, 1.2, rate, first_frame=0) for f in b.frames]
    head = [f for b in engine.idle(avatar, 0.6, rate, first_frame=0) for f in b.frames]
    tail = [f for b in engine.idle(avatar, 0.6, rate, first_frame=len(head)) for f in b.frames]
    for a, b in zip(whole, head + tail):
        np.testing.assert_array_equal(a, b)


def test_idle_keeps_mouth_closed_and_blinks(engine, avatar):
    frames = [f for b in engine.idle(avatar, 6.0, 16000) for f in b.frames]
    gaps = mouth_gaps(frames, step=5)
    rest = inner_lip_gap(avatar.face.landmarks)
    assert np.nanmax(gaps) < max(0.08, rest), "mouth stays closed while silent"
    eyes = np.array([eye_openness(f) for f in frames])
    # the face mesh never reports fully shut eyes on stills, and its jitter on open eyes is ~3 %
    assert eyes.min() < 0.75 * np.median(eyes), "the avatar blinks"
    moved = np.abs(frames[0].astype(int) - frames[len(frames) // 2].astype(int)).mean()
    assert moved > 0.5, "the head is not frozen"


def test_mouth_opens_with_the_audio(engine, avatar):
    """Inner-lip gap measured by an independent landmark pass follows the loudness envelope.

    Wav2Lip runs here on random weights, so only its plumbing is checked: the mouth region is what
    changes with the audio (tests/ai_pipeline/talking_head/test_wav2lip.py)."""
    if engine.name == "wav2lip":
        rate = 16000
        t = np.arange(int(1.0 * rate)) / rate
        voice = (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
        spoken = np.concatenate([b.frames for b in engine.render(avatar, AudioChunk(voice, rate))])
        idle = np.concatenate([b.frames for b in engine.idle(avatar, 1.0, rate)])
        changed = np.abs(spoken.astype(int) - idle.astype(int)).sum(axis=(0, 3)) > 0
        rows = np.nonzero(changed.any(axis=1))[0]
        assert rows.size and rows.min() > engine.size * 0.35, "only the lower face is re-rendered"
        return
    rate, fps = 16000, engine.fps
    t = np.arange(int(4 * rate)) / rate
    syllables = np.clip(np.sin(2 * np.pi * 1.5 * t), 0, None) ** 2  # 1.5 syllables per second
    voice = (0.35 * syllables * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 900 * t))).astype(np.float32)
    frames = [f for b in engine.render(avatar, AudioChunk(voice, rate)) for f in b.frames]
    gaps = mouth_gaps(frames)
    loud = np.array([np.sqrt(np.mean(voice[int(i * rate / fps): int((i + 1) * rate / fps)] ** 2))
                     for i in range(len(frames))])
    ok = ~np.isnan(gaps)
    assert ok.mean() > 0.95, "the face stays detectable in every frame"
    r = np.corrcoef(gaps[ok], loud[ok])[0, 1]
    assert r > 0.5, f"mouth-loudness correlation {r:.2f}"
    assert np.nanmax(gaps) > 0.2

"""End to end on the real light engines: text or a recording -> MP4, decoded back and measured."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.runner import Pipeline
from tests.support import decode_mp4, loudness_per_frame, mouth_gaps


@pytest.fixture(scope="module")
def pipeline(settings):
    p = Pipeline(settings)
    p.load(stages=("tts", "talking_head"))
    yield p
    p.close()


@pytest.fixture(scope="module")
def avatar(pipeline, photo_bytes):
    return pipeline.avatar(photo_bytes)


@pytest.fixture(scope="module")
def spoken(pipeline, avatar):
    text = "Привет! Меня зовут Аня. Сегодня двадцать второе ноября, и мы будем говорить о погоде."
    result = asyncio.run(pipeline.render(avatar, text=text))
    return result, decode_mp4(result.mp4)


def test_text_clip_format(spoken):
    result, clip = spoken
    assert clip.video_codec == "h264" and clip.pix_fmt == "yuv420p"
    assert clip.profile and "Baseline" in clip.profile
    assert (clip.width, clip.height) == (512, 512) and clip.fps == 25
    assert clip.audio_codec == "aac" and clip.sample_rate >= 16000
    assert len(clip.frames) == result.frames
    assert abs(clip.video_duration - clip.audio_duration) <= 1 / 25 + 1e-6
    assert 3.0 < result.duration < 15.0
    for stage in ("tts_s", "talking_head_s", "encode_s", "first_frames_s", "total_s"):
        assert stage in result.timings


def test_text_clip_mouth_follows_speech(spoken):
    _, clip = spoken
    gaps = mouth_gaps(clip.frames)
    loud = loudness_per_frame(clip.audio, clip.sample_rate, clip.fps, len(clip.frames))
    ok = ~np.isnan(gaps)
    assert ok.mean() > 0.95
    r = np.corrcoef(gaps[ok], loud[ok])[0, 1]
    assert r > 0.5, f"mouth-loudness correlation {r:.2f}"


def test_recording_with_a_pause_closes_the_mouth(pipeline, avatar):
    """Speech, 1.5 s of silence, speech: the mouth is closed during the pause and moves around it."""

    async def tts(text: str) -> AudioChunk:
        chunks = [c async for c in pipeline.tts.stream(text)]
        return AudioChunk(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate)

    first = asyncio.run(tts("Раз, два, три, четыре, пять."))
    second = asyncio.run(tts("Вышел зайчик погулять."))
    rate = first.sample_rate
    pause = np.zeros(int(1.5 * rate), np.float32)
    recording = AudioChunk(np.concatenate([first.samples, pause, second.samples]), rate)
    result = asyncio.run(pipeline.render(avatar, audio=recording))
    clip = decode_mp4(result.mp4)
    gaps = mouth_gaps(clip.frames)
    start = int((first.duration + 0.25) * 25)
    stop = int((first.duration + 1.25) * 25)
    assert np.nanmax(gaps[start:stop]) < 0.08, "closed while silent"
    assert np.nanmax(gaps[:start]) > 0.15 and np.nanmax(gaps[stop:]) > 0.15, "open while speaking"
    assert abs(result.duration - recording.duration) <= 1 / 25


def test_bad_inputs(pipeline, avatar):
    with pytest.raises(InputError) as err:
        asyncio.run(pipeline.render(avatar, text="   "))
    assert err.value.code == "empty_text"
    with pytest.raises(InputTooLarge) as err:
        asyncio.run(pipeline.render(avatar, text="а" * (pipeline.settings.limits.max_text_chars + 1)))
    assert err.value.code == "text_too_long"
    with pytest.raises(InputError) as err:
        pipeline.decode_audio(b"\x00\x01garbage" * 100)
    assert err.value.code == "bad_audio"


def _corner_lift(frame: np.ndarray) -> float:
    from ai_pipeline.talking_head import landmarks as lm
    from ai_pipeline.talking_head.landmarks import face_mesh

    points = face_mesh(frame)
    assert points is not None
    down = (points[lm.CHIN] - points[lm.FOREHEAD]) / np.linalg.norm(points[lm.CHIN] - points[lm.FOREHEAD])
    middle = (points[lm.UPPER_LIP_MID] + points[lm.LOWER_LIP_MID]) / 2
    corners = (points[lm.MOUTH_LEFT] + points[lm.MOUTH_RIGHT]) / 2
    return float((middle - corners) @ down / np.linalg.norm(points[lm.MOUTH_RIGHT] - points[lm.MOUTH_LEFT]))


def test_a_render_wears_the_emotion_asked_for(pipeline, avatar):
    """``RenderRequest.emotion`` (``avatar render --emotion``) shows on the face of the whole clip."""
    from ai_pipeline.request import RenderRequest

    quiet = AudioChunk(np.zeros(16000, np.float32), 16000)
    lifts = {}
    for emotion in (None, "happy", "sad"):
        result = asyncio.run(pipeline.render(avatar, RenderRequest(audio=quiet, emotion=emotion)))
        frames = decode_mp4(result.mp4).frames
        lifts[emotion] = float(np.median([_corner_lift(frames[i]) for i in (1, 12, 23)]))
    assert lifts["happy"] > lifts[None] + 0.01 and lifts["sad"] < lifts[None] - 0.01, lifts


def test_render_command_refuses_an_unknown_emotion(tmp_path, data_dir):
    import os
    import subprocess
    import sys
    from pathlib import Path

    avatar = str(Path(sys.executable).with_name("avatar"))
    env = {**os.environ, "AVATAR_DATA_DIR": str(data_dir)}
    r = subprocess.run([avatar, "render", "--text", "Привет", "--emotion", "радость", "--out", str(tmp_path / "x.mp4")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and "[bad_emotion]" in r.stderr and "Неизвестная эмоция" in r.stderr, r.stderr
    assert not (tmp_path / "x.mp4").exists()

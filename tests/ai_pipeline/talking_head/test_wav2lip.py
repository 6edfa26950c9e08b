"""Wav2Lip: the generator in the official checkpoint format, the mel front end, and the engine end to
end on random weights (real photo, real festival speech, real loading code)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.wav2lip import audio as w2l_audio
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine, Wav2LipSettings
from ai_pipeline.talking_head.wav2lip.net import Wav2Lip, load_wav2lip, parameter_count
from ai_pipeline.tts.festival import FestivalTTS
from tests.streams import streamed_batches

SENTENCE = "Мама мыла раму, а папа читал газету."


def save_official(model: torch.nn.Module, path: Path) -> Path:
    """The layout of wav2lip.pth / wav2lip_gan.pth: DataParallel keys under "state_dict"."""
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "optimizer": {}, "global_step": 0, "global_epoch": 0}, path)
    return path


@pytest.fixture(scope="module")
def random_model() -> Wav2Lip:
    torch.manual_seed(0)
    model = Wav2Lip()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a wrong mapping would show
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.1)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="module")
def checkpoint(random_model, tmp_path_factory) -> Path:
    return save_official(random_model, tmp_path_factory.mktemp("wav2lip") / "wav2lip_gan.pth")


@pytest.fixture(scope="module")
def speech() -> AudioChunk:
    tts = FestivalTTS()
    tts.load()
    try:
        return tts.synthesize_sentence(SENTENCE)
    finally:
        tts.close()


@pytest.fixture(scope="module")
def engine(checkpoint):
    head = Wav2LipEngine(Wav2LipSettings(checkpoint=checkpoint, base_loop_seconds=1.2, batch_size=8))
    head.load()
    yield head
    head.close()


@pytest.fixture(scope="module")
def avatar(engine, photo_bytes, tmp_path_factory):
    return engine.prepare(photo_bytes, cache_dir=tmp_path_factory.mktemp("avatars"))


# -- network ---------------------------------------------------------------------------------


def test_official_format_loads_strictly(checkpoint, random_model):
    loaded = load_wav2lip(checkpoint)
    reference = random_model.state_dict()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=0)
    mel, faces = torch.randn(2, 1, 80, 16), torch.rand(2, 6, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded(mel, faces), random_model(mel, faces))


def test_wrong_checkpoint_is_refused(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    state.pop("module.output_block.1.weight")
    broken = tmp_path / "broken.pth"
    torch.save({"state_dict": state}, broken)
    with pytest.raises(RuntimeError, match="output_block.1.weight"):
        load_wav2lip(broken)


def test_parameter_count_is_the_published_36_3m(random_model):
    n = parameter_count(random_model)
    assert n == 36_298_035
    assert round(n / 1e6, 1) == 36.3


def test_generator_shapes_and_range(random_model):
    with torch.no_grad():
        out = random_model(torch.randn(3, 1, 80, 16), torch.rand(3, 6, 96, 96))
    assert out.shape == (3, 3, 96, 96)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


# -- mel front end ------------------------------------------------------------------------


def test_mel_matches_an_independent_librosa_reference(speech):
    wav = librosa.resample(speech.samples.astype(np.float64), orig_sr=speech.sample_rate, target_sr=16000)
    ours = w2l_audio.melspectrogram(wav)
    stft = librosa.stft(y=lfilter([1, -0.97], [1], wav), n_fft=800, hop_length=200, win_length=800,
                        pad_mode="reflect")
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, basis @ np.abs(stft))) - 20
    reference = np.clip(8 * (db + 100) / 100 - 4, -4, 4)
    assert ours.shape == reference.shape == (80, 1 + len(wav) // 200)
    np.testing.assert_allclose(ours, reference, atol=2e-4)
    assert ours.min() >= -4 and ours.max() <= 4 and ours.max() > 0, "speech reaches well above the floor"


def test_mel_windows_start_at_each_frame(speech):
    fps, n = 25, 30
    windows = w2l_audio.mel_windows(speech.samples, speech.sample_rate, fps, n)
    assert windows.shape == (n, 1, 80, 16)
    mel = w2l_audio.melspectrogram(w2l_audio.to_16k(speech.samples, speech.sample_rate))
    for i in (0, 7, 29):
        start = int(i * 80 / fps)
        np.testing.assert_allclose(windows[i, 0], mel[:, start:start + 16], atol=1e-5)


# -- engine ------------------------------------------------------------------------------


def _mouth_only(engine, avatar, frames: np.ndarray, first_frame: int) -> int:
    """Assert every changed pixel lies in the lower part of its frame's face box; return how many changed."""
    st = avatar.state
    changed_total = 0
    for j, frame in enumerate(frames):
        b = st.loop.index(first_frame + j)
        diff = np.abs(frame.astype(np.int16) - st.loop.frames[b].astype(np.int16)).max(axis=2) > 0
        x0, y0, x1, y1 = st.boxes[b]
        allowed = np.zeros_like(diff)
        allowed[y0 + (y1 - y0) * 45 // 100:y1, x0:x1] = True
        assert not (diff & ~allowed).any(), f"frame {first_frame + j} changed outside the mouth region"
        changed_total += int(diff.sum())
    return changed_total


def test_renders_speech_over_the_base_loop(engine, avatar, speech):
    batches = list(engine.render(avatar, speech, first_frame=0))
    frames = np.concatenate([b.frames for b in batches])
    assert frames.shape == (int(np.ceil(speech.duration * 25 - 1e-9)), 512, 512, 3) and frames.dtype == np.uint8
    assert [b.first_frame for b in batches] == list(range(0, len(frames), 8))
    assert batches[-1].final and not any(b.final for b in batches[:-1])
    audio = np.concatenate([b.audio for b in batches])
    assert len(audio) == round(len(frames) * speech.sample_rate / 25)
    np.testing.assert_array_equal(audio[:len(speech.samples)], speech.samples)
    changed = _mouth_only(engine, avatar, frames, 0)
    assert changed > len(frames) * 500, "the generator redrew the mouth"


def test_base_loop_ping_pongs_without_jumps(avatar):
    loop = avatar.state.loop
    assert loop.source == "mesh_warp" and len(loop) == 30
    idx = [loop.index(n) for n in range(200)]
    assert idx[:3] == [0, 1, 2] and idx[29:32] == [29, 28, 27]
    assert max(abs(a - b) for a, b in zip(idx, idx[1:])) == 1
    steps = [np.abs(loop.frames[a].astype(np.int16) - loop.frames[b]).mean() for a, b in zip(idx, idx[1:])]
    assert max(steps) < 3.0, "consecutive base frames are close: no visible jump"


def test_chunks_continue_the_frame_numbering(engine, avatar, speech):
    half = len(speech.samples) // 2
    chunks = [AudioChunk(speech.samples[:half], speech.sample_rate), AudioChunk(speech.samples[half:], speech.sample_rate)]

    batches = asyncio.run(streamed_batches(engine, avatar, chunks))
    firsts = [b.first_frame for b in batches]
    frames = np.concatenate([b.frames for b in batches])
    assert firsts[0] == 0
    assert all(b.first_frame + len(b.frames) == n.first_frame for b, n in zip(batches, batches[1:]))
    _mouth_only(engine, avatar, frames, 0)
    # a piece rendered on its own at the same frame numbers is identical: frame n is a pure function
    n_first = int(np.ceil(half * 25 / speech.sample_rate - 1e-9))
    alone = np.concatenate([b.frames for b in engine.render(avatar, chunks[1], first_frame=n_first)])
    np.testing.assert_array_equal(alone, frames[n_first:])


def test_idle_is_the_base_loop_itself(engine, avatar):
    batches = list(engine.idle(avatar, 1.0, 16000, first_frame=17))
    frames = np.concatenate([b.frames for b in batches])
    assert len(frames) == 25 and sum(len(b.audio) for b in batches) == 16000
    loop = avatar.state.loop
    for j, frame in enumerate(frames):
        np.testing.assert_array_equal(frame, loop.frames[loop.index(17 + j)])


def test_base_frames_wear_the_look(engine, avatar):
    """The avatar's look is warped onto the base frames: surprise raises the brows (measured by the face
    mesh), in idle video and under speech alike; neutral leaves the base loop as it is."""
    from ai_pipeline.talking_head.expressions import Look
    from ai_pipeline.talking_head.landmarks import face_mesh

    def brows(frame: np.ndarray) -> float:
        p = face_mesh(frame)
        assert p is not None
        return float(((p[159] + p[386]) / 2 - (p[105] + p[334]) / 2)[1] / np.linalg.norm(p[33] - p[263]))

    surprised = avatar.wearing(Look.of({"surprised": 1.0}))
    plain = next(iter(engine.idle(avatar, 0.2, 16000, first_frame=3))).frames
    idle = next(iter(engine.idle(surprised, 0.2, 16000, first_frame=3))).frames
    spoken = next(iter(engine.render(avatar, AudioChunk(np.zeros(3200, np.float32), 16000, emotion="surprised"),
                                     first_frame=3))).frames
    assert brows(idle[0]) - brows(plain[0]) > 0.015 and brows(spoken[0]) - brows(plain[0]) > 0.015
    loop = avatar.state.loop
    np.testing.assert_array_equal(plain[0], loop.frames[loop.index(3)])


def test_missing_checkpoint_falls_back_to_mesh_warp(tmp_path):
    settings = Settings(data_dir=tmp_path, models_dir=tmp_path / "models",
                        talking_head=Wav2LipSettings())  # default: <models_dir>/wav2lip/wav2lip_gan.pth
    pipeline = Pipeline(settings)
    pipeline.load(stages=("talking_head",))
    try:
        assert pipeline.head.name == "mesh_warp"
        notice = " ".join(pipeline.status()["notices"])
        assert "wav2lip" in notice and "Нет весов Wav2Lip" in notice and "mesh_warp" in notice
    finally:
        pipeline.close()


def test_configured_checkpoint_is_used_by_the_pipeline(checkpoint, tmp_path):
    models = tmp_path / "models"
    (models / "wav2lip").mkdir(parents=True)
    (models / "wav2lip" / "wav2lip_gan.pth").write_bytes(checkpoint.read_bytes())
    pipeline = Pipeline(Settings(data_dir=tmp_path, models_dir=models, talking_head=Wav2LipSettings()))
    pipeline.load(stages=("talking_head",))
    try:
        assert pipeline.head.name == "wav2lip" and not pipeline.notices
        assert pipeline.status()["talking_head"]["checkpoint"] == "wav2lip_gan.pth"
    finally:
        pipeline.close()

"""Enrolment analysis on real signals: Festival speech, ffmpeg-encoded uploads, music, noise, silence."""

from __future__ import annotations

import numpy as np
import pytest

from ai_pipeline.voice import quality
from ai_pipeline.voice.base import PREPARED_RATE
from ai_pipeline.voice.enroll import FRAME_S, MAX_UTTERANCE_S, Enroller, group_utterances, speech_segments
from tests.voice_samples import (
    ASR_CLIPS,
    RATE,
    chords,
    encode,
    festival_speech,
    mix,
    pink_noise,
    sung_melody,
    wav_bytes,
    white_noise,
)


@pytest.fixture(scope="module")
def enroller() -> Enroller:
    return Enroller()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return festival_speech(12)


def _speech_seconds(samples: np.ndarray) -> float:
    """Seconds of non-silent audio (Festival's pauses are digital silence)."""
    frames = samples[: samples.size // 240 * 240].reshape(-1, 240)
    return float(np.count_nonzero(np.abs(frames).max(axis=1) > 1e-3)) * 240 / RATE


def test_clean_speech_is_accepted_cut_and_normalised(enroller, speech):
    result = enroller.analyse("anna.wav", wav_bytes(speech * 0.3))
    q = result.quality
    assert q.accepted and q.problems == ()
    assert q.duration_s == pytest.approx(speech.size / RATE, abs=0.01)
    assert 0.9 * _speech_seconds(speech) <= q.usable_s <= q.duration_s
    assert q.utterances == len(result.utterances) >= 3
    lengths = [u.size / PREPARED_RATE for u in result.utterances]
    assert min(lengths) >= 1.0 and max(lengths) <= MAX_UTTERANCE_S + 0.01
    assert sum(lengths) == pytest.approx(q.usable_s, abs=0.02)
    assert q.snr_db is not None and q.snr_db > 40  # digital silence between sentences
    assert q.clipping_pct == 0 and q.peak_dbfs < -9  # scaled by 0.3
    joined = np.concatenate(result.utterances)
    assert quality.integrated_loudness(joined, PREPARED_RATE) == pytest.approx(-20.0, abs=0.5)
    assert np.abs(joined).max() <= 10 ** (-1 / 20) + 1e-4  # normalised without clipping


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "m4a", "webm", "flac"])
def test_every_upload_format_decodes_to_the_same_speech(enroller, speech, tmp_path, fmt):
    reference = enroller.analyse("ref.wav", wav_bytes(speech)).quality
    path = encode(speech, fmt, tmp_path, stereo_rate=44100 if fmt in ("mp3", "m4a") else 48000)
    q = enroller.analyse(path.name, path.read_bytes()).quality
    assert q.accepted, q.problems
    assert q.duration_s == pytest.approx(reference.duration_s, abs=0.15)
    assert q.usable_s == pytest.approx(reference.usable_s, rel=0.08)
    assert q.loudness_lufs == pytest.approx(reference.loudness_lufs, abs=1.0)
    assert q.snr_db > 25  # codec noise in the pauses is far below the speech


def test_repository_clips_are_single_utterances(enroller):
    clips = sorted(ASR_CLIPS.glob("*.ogg"))
    assert len(clips) >= 10
    for clip in clips:
        q = enroller.analyse(clip.name, clip).quality
        if q.duration_s < 1.2:  # espeak_07 is 1.02 s: less than one 1 s phrase of speech in it
            assert not q.accepted and "короче" in q.problems[0], (clip.name, q)
            continue
        assert q.accepted and q.utterances == 1, (clip.name, q)
        assert 1.0 <= q.usable_s <= q.duration_s


@pytest.mark.parametrize("make,reason", [
    (lambda s: np.zeros(20 * RATE, np.float32), "Тишина"),
    (lambda s: white_noise(20, 0.0003), "Речь не найдена"),  # hiss at -70 dBFS
    (lambda s: white_noise(20), "только шум"),
    (lambda s: pink_noise(20), "только шум"),
    (lambda s: chords(20), "музыку"),
    (lambda s: chords(20, note_s=1.0, piano=False), "музыку"),
    (lambda s: chords(20, note_s=0.25, seed=7), "музыку"),
    (lambda s: chords(20, drums=True), "музыку"),
    (lambda s: sung_melody(20), "музыку"),
    (lambda s: mix(s, white_noise(60), 4), "Много шума"),
    (lambda s: mix(s, chords(60), 0), "Много шума"),
    (lambda s: np.clip(s * 8, -1, 1), "клиппинг"),
    (lambda s: s * 0.003, "Слишком тихо"),  # -68 LUFS
], ids=["silence", "hiss", "white", "pink", "piano", "organ", "fast_piano", "drums", "singing", "noisy_speech",
        "speech_drowned_in_music", "clipped", "inaudible"])
def test_garbage_is_rejected_with_a_reason(enroller, speech, make, reason):
    q = enroller.analyse("bad.wav", wav_bytes(make(speech))).quality
    assert not q.accepted and q.usable_s == 0 and q.utterances == 0
    assert any(reason.lower() in p.lower() for p in q.problems), q.problems


@pytest.mark.parametrize("data", [b"definitely not audio" * 50, b"", b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_undecodable_files_are_rejected_not_raised(enroller, data):
    q = enroller.analyse("broken.mp3", data).quality
    assert not q.accepted and q.problems and "аудио" in q.problems[0].lower()


def test_moderate_problems_are_warnings(enroller, speech):
    noisy = enroller.analyse("noisy.wav", wav_bytes(mix(speech, pink_noise(60), 15))).quality
    assert noisy.accepted and 11 <= noisy.snr_db <= 19
    assert any("шум" in p for p in noisy.problems)
    quiet = enroller.analyse("quiet.wav", wav_bytes(speech * 0.05)).quality
    assert quiet.accepted and quiet.loudness_lufs < -40 and any("тихо" in p for p in quiet.problems)
    hot = np.clip(speech * 2.5, -1, 1)
    clipped = enroller.analyse("hot.wav", wav_bytes(hot)).quality
    assert clipped.accepted and clipped.clipping_pct > 0.1 and any("Клиппинг" in p for p in clipped.problems)


def test_music_parts_are_dropped_and_speech_kept(enroller, speech):
    clean = enroller.analyse("clean.wav", wav_bytes(speech)).quality
    both = np.concatenate([chords(20), speech, sung_melody(15)])
    result = enroller.analyse("mixed.wav", wav_bytes(both))
    q = result.quality
    assert q.accepted and q.snr_db > 40  # the floor comes from the pauses around speech
    assert q.usable_s == pytest.approx(clean.usable_s, abs=1.5)
    assert any("музыка" in p for p in q.problems)


def test_report_totals_count_accepted_files_only(enroller, speech):
    files = [("a.wav", wav_bytes(speech[: 15 * RATE])), ("noise.wav", wav_bytes(white_noise(5))),
             ("b.wav", wav_bytes(speech[15 * RATE:]))]
    report, analyses = enroller.analyse_many(files)
    assert [f.accepted for f in report.files] == [True, False, True]
    assert report.usable_s == pytest.approx(report.files[0].usable_s + report.files[2].usable_s, abs=0.02)
    assert report.level == ("enough" if report.usable_s >= 30 else "not_enough")
    assert analyses[1].utterances == ()


def _frames(seconds: float) -> int:
    return round(seconds / FRAME_S)


def test_segmentation_splits_long_merges_close_and_drops_clicks():
    probs = np.zeros(_frames(80), np.float32)
    probs[_frames(1):_frames(41)] = 0.9  # 40 s without a pause
    probs[_frames(20):_frames(20.1)] = 0.4  # a breath: the preferred cut
    probs[_frames(45):_frames(45.1)] = 0.95  # a 0.1 s click: not speech
    probs[_frames(50):_frames(52)] = 0.9
    probs[_frames(52.4):_frames(55)] = 0.9  # 0.4 s pause: same utterance
    probs[_frames(60):_frames(60.5)] = 0.9  # 0.5 s phrase, 1.5 s before the next: joined to it
    probs[_frames(62):_frames(66)] = 0.9
    probs[_frames(75):_frames(75.5)] = 0.9  # 0.5 s phrase alone: dropped
    assert speech_segments(probs)[0] == (_frames(1), _frames(41))
    utterances, dropped = group_utterances(probs)
    seconds = [[(s * FRAME_S, e * FRAME_S) for s, e in spans] for spans in utterances]
    long_parts = [u for u in seconds if u[0][0] < 42]
    assert len(long_parts) >= 3 and all(e - s <= MAX_UTTERANCE_S for (s, e), in long_parts)
    assert any(abs(e - 20.05) < 0.3 for (s, e), *_ in long_parts)  # cut at the breath
    assert [len(u) for u in seconds if 49 < u[0][0] < 70] == [1, 2]
    assert seconds[-1][-1][1] < 67 and dropped == 1

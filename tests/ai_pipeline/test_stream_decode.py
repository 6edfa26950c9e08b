"""Incremental decoding of browser-style streams: real Festival speech encoded by the ffmpeg CLI."""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.media import decode_audio, write_wav
from ai_pipeline.media.stream_decode import StreamDecoder
from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS
from tests.ai_pipeline.bombs import FLAC_MAX_RATE, high_rate_flac

RATE = 16_000
PHRASE = "Здравствуйте! Сегодня мы проверяем потоковое распознавание речи, записанной в браузере."
# How MediaRecorder writes: Opus at 48 kHz, piped, so the header has no duration. The Ogg case
# uses short pages as Firefox does; FFmpeg's default one-second pages are tested too.
ENCODINGS = {
    "webm": ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k", "-page_duration", "100000", "-f", "ogg"],
    "ogg-long-pages": ["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"],
}


def ffmpeg_encode(wav: Path, args: list[str]) -> bytes:
    assert shutil.which("ffmpeg"), "ffmpeg CLI missing: scripts/setup.sh installs it"
    result = subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-ar", "48000", *args, "-"],
                            check=True, capture_output=True, timeout=120)
    return result.stdout


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tts = FestivalTTS(FestivalSettings())
    try:
        tts.load()
        chunk = tts.synthesize_sentence(PHRASE)
    finally:
        tts.close()
    assert chunk.sample_rate == RATE and chunk.duration > 3
    path = tmp_path_factory.mktemp("stream") / "speech.wav"
    write_wav(path, chunk.samples, chunk.sample_rate)
    return path


@pytest.fixture(scope="module")
def encoded(speech_wav: Path) -> dict[str, bytes]:
    return {name: ffmpeg_encode(speech_wav, args) for name, args in ENCODINGS.items()}


def fmt_of(name: str) -> str:
    return name.split("-")[0]


def split_random(data: bytes, seed: int) -> list[bytes]:
    """Random sizes from 1 byte to about half a second of audio."""
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(data):
        size = rng.choice([1, 2, 7, rng.randint(1, 300), rng.randint(300, 3000)])
        pieces.append(data[at : at + size])
        at += size
    return pieces


def split_timeslice(data: bytes, seconds: float, slice_s: float = 0.25) -> list[bytes]:
    """Pieces of about ``slice_s`` of audio each, like MediaRecorder.start(250); the first bytes one by one."""
    step = max(1, int(len(data) * slice_s / seconds))
    head = [data[i : i + 1] for i in range(300)]
    return head + [data[i : i + step] for i in range(300, len(data), step)]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


@pytest.mark.parametrize("name", list(ENCODINGS))
@pytest.mark.parametrize("chunking", ["random", "timeslice", "whole"])
def test_pushed_pieces_decode_like_the_whole_file(encoded: dict[str, bytes], name: str, chunking: str) -> None:
    data = encoded[name]
    reference, rate = decode_audio(data, target_rate=RATE)
    duration = len(reference) / rate
    pieces = {"random": split_random(data, seed=len(data)), "timeslice": split_timeslice(data, duration),
              "whole": [data]}[chunking]

    with StreamDecoder(fmt_of(name)) as decoder:
        parts = [decoder.push(piece) for piece in pieces]
        parts.append(decoder.finish())
    got = np.concatenate(parts)

    assert got.dtype == np.float32
    assert abs(len(got) - len(reference)) <= 0.003 * RATE  # within 3 ms
    n = min(len(got), len(reference))
    assert np.max(np.abs(got[:n] - reference[:n])) < 1e-3
    assert rms(got) == pytest.approx(rms(reference), rel=0.01)
    assert decoder.seconds == pytest.approx(duration, abs=0.003)


@pytest.mark.parametrize("name", ["webm", "ogg"])
def test_each_push_returns_what_its_bytes_complete(encoded: dict[str, bytes], name: str) -> None:
    """Samples come out while the stream is still arriving, not only at finish()."""
    data = encoded[name]
    pieces = split_timeslice(data, decode_audio(data, target_rate=RATE)[0].size / RATE)
    decoder = StreamDecoder(fmt_of(name))
    received, total = 0, 0
    for i, piece in enumerate(pieces):
        total += len(decoder.push(piece))
        received += len(piece)
        if i % 5 == 0 and received > 2000:
            whole_prefix = len(decode_audio(data[:received], target_rate=RATE)[0])
            # At most one Opus packet (20 ms at 16 kHz, plus resampler delay) is still pending.
            assert whole_prefix - 400 <= total <= whole_prefix
    tail = decoder.finish()
    assert len(tail) < 0.1 * RATE


def test_cut_off_data_waits_for_the_rest(encoded: dict[str, bytes]) -> None:
    data = encoded["webm"]
    decoder = StreamDecoder("webm")
    assert len(decoder.push(data[:40])) == 0  # half a header: nothing yet, no error
    first = decoder.push(data[40:5001])
    assert len(first) > 0
    rest = decoder.push(data[5001:-25])  # the last packet cut short
    tail = decoder.finish()  # ends the stream mid-packet: no error
    total = len(first) + len(rest) + len(tail)
    assert abs(total - len(decode_audio(data, target_rate=RATE)[0])) < 0.05 * RATE


def test_pcm16_is_resampled_to_16k() -> None:
    rate, seconds = 48_000, 1.0
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()
    decoder = StreamDecoder("pcm16", input_rate=rate)
    sizes = [1, 3, 2, 1001, 9600, 7, 48000]  # odd sizes split samples across pushes
    parts, at = [], 0
    while at < len(pcm):
        size = sizes[len(parts) % len(sizes)]
        parts.append(decoder.push(pcm[at : at + size]))
        at += size
    parts.append(decoder.finish())
    got = np.concatenate(parts)

    assert abs(len(got) - RATE * seconds) <= 0.003 * RATE
    spectrum = np.abs(np.fft.rfft(got * np.hanning(len(got))))
    assert np.fft.rfftfreq(len(got), 1 / RATE)[np.argmax(spectrum)] == pytest.approx(440, abs=2)
    assert rms(got[800:-800]) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_pcm16_at_16k_passes_through() -> None:
    samples = np.array([0, 1000, -1000, 32767, -32768], dtype="<i2")
    decoder = StreamDecoder("pcm16")
    got = np.concatenate([decoder.push(samples.tobytes()[:3]), decoder.push(samples.tobytes()[3:]), decoder.finish()])
    np.testing.assert_allclose(got, samples / 32768.0, atol=1e-6)


@pytest.mark.parametrize("fmt", ["webm", "ogg"])
def test_garbage_is_refused_at_once(fmt: str) -> None:
    decoder = StreamDecoder(fmt)
    with pytest.raises(InputError) as info:
        decoder.push(b"\x00\x01 this is not audio at all " * 200)
    assert info.value.code == "bad_audio"
    assert info.value.message_ru.startswith("Не удалось")
    with pytest.raises(InputError):  # the error sticks
        decoder.push(b"more")


@pytest.mark.parametrize("fmt, magic", [("webm", b"\x1a\x45\xdf\xa3"), ("ogg", b"OggS")])
def test_garbage_behind_the_right_magic_is_refused(fmt: str, magic: bytes) -> None:
    noise = np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    decoder = StreamDecoder(fmt)
    with pytest.raises(InputError) as info:
        decoder.push(magic[:1])  # a one-byte first piece is fine
        for at in range(1, len(noise), 4000):
            decoder.push((magic + noise)[at : at + 4000])
        decoder.finish()
    assert info.value.code == "bad_audio"


def test_mismatched_format_is_refused(encoded: dict[str, bytes]) -> None:
    with pytest.raises(InputError) as info:
        StreamDecoder("webm").push(encoded["ogg"][:4096])
    assert info.value.code == "bad_audio"


@pytest.mark.parametrize("name", ["webm", "ogg"])
def test_too_long_stream_is_refused(encoded: dict[str, bytes], name: str) -> None:
    data = encoded[name]
    decoder = StreamDecoder(fmt_of(name), max_seconds=1.0)
    with pytest.raises(InputTooLarge) as info:
        for at in range(0, len(data), 1000):
            decoder.push(data[at : at + 1000])
        decoder.finish()
    assert info.value.code == "audio_too_long"
    assert decoder.seconds < 1.5
    with pytest.raises(InputTooLarge):
        decoder.push(b"")


def test_too_long_pcm_is_refused() -> None:
    decoder = StreamDecoder("pcm16", input_rate=8000, max_seconds=0.5)
    decoder.push(b"\x00\x00" * 3000)
    with pytest.raises(InputTooLarge) as info:
        decoder.push(b"\x00\x00" * 2000)
    assert info.value.code == "audio_too_long"


def test_abandoned_decoders_end_their_threads(encoded: dict[str, bytes]) -> None:
    def decoding_threads() -> int:
        return sum(t.name.startswith("stream-decode") for t in threading.enumerate())

    before = decoding_threads()
    closed = StreamDecoder("webm")
    closed.push(encoded["webm"][:3000])
    dropped = StreamDecoder("ogg")
    dropped.push(encoded["ogg"][:3000])
    assert decoding_threads() == before + 2
    closed.close()
    del dropped
    for thread in threading.enumerate():
        if thread.name.startswith("stream-decode"):
            thread.join(timeout=5)
    assert decoding_threads() == before


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        StreamDecoder("mp3")  # type: ignore[arg-type]


def test_high_rate_flac_stream_stops_at_the_decoded_bytes_budget() -> None:
    """FLAC in Ogg at 655 350 Hz: 6 KB for 20 s, which decode to 52 MB at the stream's own rate."""
    data = high_rate_flac(20, "ogg")
    decoder = StreamDecoder("ogg", max_seconds=10.0)  # 10 s of 96 kHz stereo: 7.7 MB
    with pytest.raises(InputTooLarge) as info:
        for at in range(0, len(data), 500):
            decoder.push(data[at : at + 500])
        decoder.finish()
    assert info.value.code == "audio_too_large"
    assert decoder.seconds < 3.5  # stopped at the budget, long before the 10 s of audio


def test_high_rate_pcm_stream_is_bounded_too() -> None:
    decoder = StreamDecoder("pcm16", input_rate=FLAC_MAX_RATE, max_seconds=1.0)
    with pytest.raises(InputTooLarge) as info:
        for _ in range(10):
            decoder.push(b"\x00\x00" * 65_536)
    assert info.value.code == "audio_too_large" and decoder.seconds < 0.5

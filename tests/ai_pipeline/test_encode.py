"""MP4 encoding, checked by decoding the result with PyAV and the ffmpeg CLI (no mocks)."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import av
import numpy as np
import pytest

from ai_pipeline.chunks import FrameBatch, VideoSegment
from ai_pipeline.encode import FragmentedMp4Stream, Mp4Encoder, encode_stream
from ai_pipeline.encode.bitstream import annexb_to_length_prefixed, avc_codec_string
from ai_pipeline.encode.tracks import encoded_audio_length
from ai_pipeline.settings import EncoderSettings

SIZE, FPS, SECONDS, BATCH = 512, 25, 2.0, 10
FRAMES = int(SECONDS * FPS)
FLASH_FRAME = 30  # the picture turns bright and a beep starts here: the A/V sync marker
MIME = re.compile(r'^video/mp4; codecs="avc1\.42[0-9A-F]{4}, mp4a\.40\.2"$')


def synthetic_batches(rate: int, frames: int = FRAMES, batch: int = BATCH) -> Iterator[FrameBatch]:
    """Moving gradients; silence then a 1 kHz beep from FLASH_FRAME on, where the picture brightens."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    t = np.arange(round(frames * rate / FPS)) / rate
    audio = np.where(t >= FLASH_FRAME / FPS, 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0).astype(np.float32)
    for start in range(0, frames, batch):
        count = min(batch, frames - start)
        pictures = []
        for i in range(start, start + count):
            level = 200 if i >= FLASH_FRAME else 40
            red, green = (x + 4 * i) % 64 + level - 32, (y + 2 * i) % 64 + level - 32
            picture = np.stack([red, green, np.full_like(x, level)], -1)
            pictures.append(picture.astype(np.uint8))
        first, last = round(start * rate / FPS), round((start + count) * rate / FPS)
        yield FrameBatch(np.stack(pictures), audio[first:last], rate, FPS, start, final=start + count == frames)


@dataclass
class Decoded:
    video_codec: str
    pix_fmt: str
    profile: str
    width: int
    height: int
    fps: float
    audio_codec: str
    sample_rate: int
    channels: int
    frame_times: list[float]
    keyframes: list[bool]
    brightness: list[float]
    audio: np.ndarray
    audio_start: float
    audio_times: list[tuple[float, int]]

    @property
    def video_duration(self) -> float:
        return self.frame_times[-1] + 1 / self.fps

    @property
    def audio_duration(self) -> float:
        return self.audio_start + len(self.audio) / self.sample_rate


def decode(data: bytes) -> Decoded:
    with av.open(io.BytesIO(data)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        times, keys, bright, pcm, audio_times = [], [], [], [], []
        for frame in container.decode(video, audio):
            if isinstance(frame, av.VideoFrame):
                times.append(float(frame.time))
                keys.append(frame.key_frame)
                bright.append(float(frame.to_ndarray(format="rgb24")[..., 2].mean()))
            elif frame.time >= 0:  # FFmpeg drops the AAC priming itself; negative would be priming
                audio_times.append((float(frame.time), frame.samples))
                pcm.append(frame.to_ndarray().mean(axis=0))
        return Decoded(
            video.codec_context.name,
            video.codec_context.pix_fmt,
            video.codec_context.profile or "",
            video.codec_context.width,
            video.codec_context.height,
            float(video.average_rate or 0),
            audio.codec_context.name,
            audio.codec_context.sample_rate,
            audio.codec_context.channels,
            times,
            keys,
            bright,
            np.concatenate(pcm),
            audio_times[0][0],
            audio_times,
        )


def assert_clip(clip: Decoded, rate: int) -> None:
    assert (clip.video_codec, clip.pix_fmt) == ("h264", "yuv420p")
    assert "Baseline" in clip.profile
    assert (clip.width, clip.height, clip.fps) == (SIZE, SIZE, FPS)
    assert (clip.audio_codec, clip.sample_rate, clip.channels) == ("aac", rate, 1)
    assert len(clip.frame_times) == FRAMES
    assert np.allclose(clip.frame_times, np.arange(FRAMES) / FPS, atol=1e-3), "video timestamps not continuous"
    for (start, count), (following, _) in zip(clip.audio_times, clip.audio_times[1:]):
        assert following == pytest.approx(start + count / rate, abs=1e-4), "audio timestamps not continuous"
    assert clip.audio_start == pytest.approx(0.0, abs=1e-6)
    assert abs(clip.video_duration - clip.audio_duration) <= 1 / FPS + 1e-6
    assert abs(clip.video_duration - SECONDS) < 1e-6
    # Sync: the first bright frame and the beep onset agree to within one frame.
    flash = clip.frame_times[int(np.argmax(np.array(clip.brightness) > 120))]
    onset = int(np.argmax(np.abs(clip.audio) > 0.25)) / rate
    assert flash == pytest.approx(FLASH_FRAME / FPS, abs=1e-3)
    assert abs(onset - flash) <= 1 / FPS, f"beep at {onset:.3f} s, flash at {flash:.3f} s"
    beep = clip.audio[int(1.3 * rate) : int(1.9 * rate)]
    spectrum = np.abs(np.fft.rfft(beep))
    assert np.fft.rfftfreq(len(beep), 1 / rate)[np.argmax(spectrum)] == pytest.approx(1000, abs=5)


def ffmpeg_decodes(data: bytes, tmp_path) -> None:
    assert shutil.which("ffmpeg"), "ffmpeg CLI missing: scripts/setup.sh installs it"
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def box_types(data: bytes) -> list[str]:
    types, position = [], 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        types.append(data[position + 4 : position + 8].decode("ascii"))
        assert size >= 8
        position += size
    assert position == len(data), "boxes do not tile the segment"
    return types


def encoder_kwargs(rate: int) -> dict[str, int]:
    return {"width": SIZE, "height": SIZE, "fps": FPS, "sample_rate": rate}


@pytest.mark.parametrize("rate", [16000, 22050])
def test_whole_file_decodes_with_synced_tracks(rate: int, tmp_path) -> None:
    encoder = Mp4Encoder(EncoderSettings(), **encoder_kwargs(rate))
    for batch in synthetic_batches(rate):
        encoder.add(batch)
    data = encoder.finish()
    assert MIME.match(encoder.mime)
    types = box_types(data)
    assert types.index("moov") < types.index("mdat"), "faststart: moov must come first"
    clip = decode(data)
    assert_clip(clip, rate)
    assert clip.keyframes[0] and sum(clip.keyframes) >= 2  # one-second GOP
    ffmpeg_decodes(data, tmp_path)


@pytest.mark.parametrize("rate", [16000, 22050])
def test_fragmented_stream_segments(rate: int, tmp_path) -> None:
    stream = FragmentedMp4Stream(EncoderSettings(), **encoder_kwargs(rate))
    segments: list[VideoSegment] = []
    for batch in synthetic_batches(rate):
        produced = stream.push(batch)
        assert produced and not produced[-1].is_init, "every batch must yield its media segment at once"
        segments.extend(produced)
    segments.extend(stream.flush())

    init, media = segments[0], segments[1:]
    assert init.is_init and init.index == 0 and init.duration == 0
    assert box_types(init.data) == ["ftyp", "moov"]
    assert [s.index for s in media] == list(range(1, len(media) + 1))
    assert len(media) in (FRAMES // BATCH, FRAMES // BATCH + 1)  # + the audio tail
    assert sum(s.duration for s in media) == pytest.approx(SECONDS)
    for segment in media:
        assert not segment.is_init and segment.mime == init.mime and MIME.match(segment.mime)
        types = box_types(segment.data)
        if types[0] == "styp":
            types = types[1:]
        assert types[0] == "moof" and "mdat" in types

    clip = decode(b"".join(s.data for s in segments))
    assert_clip(clip, rate)
    assert [i for i, key in enumerate(clip.keyframes) if key] == list(range(0, FRAMES, BATCH))
    ffmpeg_decodes(b"".join(s.data for s in segments), tmp_path)


def test_each_media_segment_plays_after_the_init_segment() -> None:
    stream = FragmentedMp4Stream(EncoderSettings(), **encoder_kwargs(16000))
    segments = [s for batch in synthetic_batches(16000) for s in stream.push(batch)] + stream.flush()
    third = decode(segments[0].data + segments[3].data)  # init + the third batch on its own
    assert third.frame_times[0] == pytest.approx(2 * BATCH / FPS, abs=1e-3)
    assert len(third.frame_times) == BATCH and third.keyframes[0]


def test_fragmented_whole_file_option() -> None:
    encoder = Mp4Encoder(EncoderSettings(), fragmented=True, **encoder_kwargs(16000))
    for batch in synthetic_batches(16000):
        encoder.add(batch)
    data = encoder.finish()
    assert box_types(data)[:3] == ["ftyp", "moov", "moof"]
    assert_clip(decode(data), 16000)


def test_rate_aac_cannot_carry_is_resampled() -> None:
    encoder = Mp4Encoder(EncoderSettings(), **encoder_kwargs(17000))
    for batch in synthetic_batches(17000):
        encoder.add(batch)
    clip = decode(encoder.finish())
    assert clip.sample_rate == 22050
    assert abs(clip.video_duration - clip.audio_duration) <= 1 / FPS


def test_encode_stream_runs_off_the_loop_and_closes_on_early_exit() -> None:
    async def batches() -> AsyncIterator[FrameBatch]:
        for batch in synthetic_batches(16000):
            yield batch

    async def run_all() -> list[VideoSegment]:
        stream = FragmentedMp4Stream(EncoderSettings(), **encoder_kwargs(16000))
        return [segment async for segment in encode_stream(batches(), stream)]

    segments = asyncio.run(run_all())
    assert segments[0].is_init and len(segments) >= 1 + FRAMES // BATCH
    assert len(decode(b"".join(s.data for s in segments)).frame_times) == FRAMES

    async def stop_early() -> FragmentedMp4Stream:
        stream = FragmentedMp4Stream(EncoderSettings(), **encoder_kwargs(16000))
        segments = encode_stream(batches(), stream)
        async for segment in segments:
            if not segment.is_init:
                break
        await segments.aclose()
        return stream

    stream = asyncio.run(stop_early())
    with pytest.raises(RuntimeError):
        stream.push(next(synthetic_batches(16000)))

    async def whole_file() -> list[VideoSegment]:
        return [s async for s in encode_stream(batches(), Mp4Encoder(EncoderSettings(), **encoder_kwargs(16000)))]

    (only,) = asyncio.run(whole_file())
    assert_clip(decode(only.data), 16000)
    assert only.duration == pytest.approx(SECONDS)


def test_mismatched_batches_are_rejected() -> None:
    with pytest.raises(ValueError):
        Mp4Encoder(EncoderSettings(), width=511, height=512, fps=FPS, sample_rate=16000)
    encoder = Mp4Encoder(EncoderSettings(), **encoder_kwargs(16000))
    wrong = FrameBatch(np.zeros((2, 256, 256, 3), np.uint8), np.zeros(1280, np.float32), 16000, FPS)
    with pytest.raises(ValueError):
        encoder.add(wrong)
    encoder.close()


def test_codec_helpers() -> None:
    assert annexb_to_length_prefixed(b"\x00\x00\x00\x01\x67\xaa\x00\x00\x01\x68\xbb\x00") == (
        b"\x00\x00\x00\x02\x67\xaa\x00\x00\x00\x02\x68\xbb"
    )
    assert avc_codec_string(b"\x00\x00\x00\x01\x67\x42\xc0\x1e\xff") == "avc1.42C01E"
    # 2 s at 16 kHz ends 256 samples into an AAC frame: keeping it would decode 48 ms too long.
    assert encoded_audio_length(32000, 640) == 31744
    assert encoded_audio_length(32768 - 300, 640) == 32768 - 300

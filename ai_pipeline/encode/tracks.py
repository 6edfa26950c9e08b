"""The two encoded tracks every clip has: H.264 video and AAC audio on one timeline.

Shared by the whole-file and the fragmented MP4 writers: stream set-up from
:class:`~ai_pipeline.settings.EncoderSettings`, RGB frame conversion, cutting the audio into AAC
frames, and checking that incoming batches match what the encoder was opened for.

Timeline: video frame ``i`` has pts ``i`` in time base ``1/fps``; audio sample ``n`` has pts ``n``
in time base ``1/rate`` (the AAC rate). Both start at zero, so the tracks cannot drift.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np

from ai_pipeline.chunks import FrameBatch
from ai_pipeline.settings import EncoderSettings

AAC_FRAME_SAMPLES = 1024
# FFmpeg's native AAC encoder always delays its output by one frame (AVCodecContext.initial_padding).
AAC_PRIMING_SAMPLES = 1024
AAC_SAMPLE_RATES = frozenset({7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000})

# BT.601 limited range: what cv2's RGB->I420 (and swscale's default) produce. sRGB primaries/curve.
_COLORSPACE_SMPTE170M = 6
_PRIMARIES_BT709 = 1
_TRC_SRGB = 13
_RANGE_TV = 1


def check_geometry(width: int, height: int, fps: int, sample_rate: int) -> None:
    """Raise ValueError for a frame size, frame rate or sample rate the tracks cannot carry."""
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(f"frame size must be even and at least 16x16, got {width}x{height}")
    if not 1 <= fps <= 120:
        raise ValueError(f"fps must be within 1..120, got {fps}")
    if not 4000 <= sample_rate <= 192000:
        raise ValueError(f"sample rate must be within 4000..192000 Hz, got {sample_rate}")


def add_h264_stream(
    container: av.container.OutputContainer,
    settings: EncoderSettings,
    *,
    width: int,
    height: int,
    fps: int,
    low_latency: bool,
) -> av.VideoStream:
    """Add a libx264 stream: constrained baseline, yuv420p, CRF and preset from ``settings``.

    ``low_latency`` adds ``tune=zerolatency`` so each frame's packet comes out of ``encode`` at
    once (no lookahead, sliced threads) and relies on forced keyframes instead of a fixed GOP.
    Without it the GOP is one second, which keeps seeking cheap in a whole-file MP4.
    """
    options = {
        "crf": str(settings.crf),
        "preset": settings.preset,
        "profile": "baseline",  # x264 writes it as Constrained Baseline (no FMO/ASO)
        "forced-idr": "1",
    }
    if low_latency:
        options["tune"] = "zerolatency"
    stream = container.add_stream("libx264", rate=fps, options=options)
    context = stream.codec_context
    context.width, context.height = width, height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, fps)
    context.gop_size = fps * 10 if low_latency else fps
    context.colorspace = _COLORSPACE_SMPTE170M
    context.color_primaries = _PRIMARIES_BT709
    context.color_trc = _TRC_SRGB
    context.color_range = _RANGE_TV
    return stream


def add_aac_stream(
    container: av.container.OutputContainer, settings: EncoderSettings, sample_rate: int
) -> av.AudioStream:
    """Add a mono AAC-LC stream at ``sample_rate`` (one of :data:`AAC_SAMPLE_RATES`)."""
    stream = container.add_stream("aac", rate=sample_rate)
    context = stream.codec_context
    context.layout = "mono"
    context.format = "fltp"
    context.bit_rate = settings.audio_bitrate
    context.time_base = Fraction(1, sample_rate)
    return stream


def video_frame(rgb: np.ndarray, index: int, fps: int, *, keyframe: bool = False) -> av.VideoFrame:
    """Wrap one (H, W, 3) uint8 RGB frame as a yuv420p VideoFrame with pts ``index``.

    cv2's RGB->I420 conversion is several times faster than swscale's rgb24->yuv420p path and
    gives the same BT.601 limited-range values (measured: at 512x512 ~6600 vs ~840 frames/s).
    """
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    frame.pts = index
    frame.time_base = Fraction(1, fps)
    if keyframe:
        frame.pict_type = av.video.frame.PictureType.I
    return frame


class AudioFramer:
    """Cuts a mono float32 stream into AAC-sized AudioFrames with sample-count pts.

    Input at a rate AAC cannot carry is resampled to :func:`aac_rate_for` on the way in.
    """

    def __init__(self, input_rate: int) -> None:
        self.input_rate = input_rate
        self.sample_rate = aac_rate_for(input_rate)
        self.received = 0  # samples at ``sample_rate`` queued so far
        self._emitted = 0  # samples handed to the encoder so far
        self._pending = np.zeros(0, dtype=np.float32)
        self._resampler = (
            av.AudioResampler(format="flt", layout="mono", rate=self.sample_rate)
            if self.sample_rate != input_rate
            else None
        )

    def push(self, samples: np.ndarray) -> list[av.AudioFrame]:
        """Queue ``samples`` (at the input rate); return every complete AAC frame now available."""
        samples = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1)), -1.0, 1.0)
        self._queue(self._resample(samples))
        return self._take(len(self._pending) // AAC_FRAME_SAMPLES * AAC_FRAME_SAMPLES)

    def finish(self, total_samples: int, samples_per_video_frame: float) -> list[av.AudioFrame]:
        """End the stream at ``total_samples`` (the video's duration); return the remaining frames.

        The end is first moved by :func:`encoded_audio_length` so that decoders, which output
        whole AAC frames, produce audio that ends within one video frame of the video. Missing
        samples are padded with silence; extra ones are dropped from what is not encoded yet,
        which is all a producer that keeps to N/fps seconds per batch can be ahead by.
        """
        if self._resampler is not None:
            self._queue(self._resample(None))
        target = encoded_audio_length(total_samples, samples_per_video_frame)
        missing = target - self.received
        if missing > 0:
            self._pending = np.concatenate([self._pending, np.zeros(missing, dtype=np.float32)])
        elif missing < 0:
            self._pending = self._pending[: max(0, len(self._pending) + missing)]
        self.received = self._emitted + len(self._pending)
        return self._take(len(self._pending))

    def _resample(self, samples: np.ndarray | None) -> np.ndarray:
        if self._resampler is None:
            return samples if samples is not None else np.zeros(0, dtype=np.float32)
        frame = None
        if samples is not None:
            if not len(samples):
                return samples
            frame = av.AudioFrame.from_ndarray(samples[np.newaxis, :], format="flt", layout="mono")
            frame.sample_rate = self.input_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _queue(self, samples: np.ndarray) -> None:
        self.received += len(samples)
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])

    def _take(self, count: int) -> list[av.AudioFrame]:
        frames = []
        for start in range(0, count, AAC_FRAME_SAMPLES):
            chunk = self._pending[start : min(start + AAC_FRAME_SAMPLES, count)]
            frame = av.AudioFrame.from_ndarray(chunk[np.newaxis, :], format="fltp", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.pts = self._emitted
            frame.time_base = Fraction(1, self.sample_rate)
            self._emitted += len(chunk)
            frames.append(frame)
        self._pending = self._pending[count:]
        return frames


def aac_rate_for(sample_rate: int) -> int:
    """``sample_rate`` if AAC can carry it, else the nearest higher rate it can (at most 96 kHz)."""
    if sample_rate in AAC_SAMPLE_RATES:
        return sample_rate
    higher = [rate for rate in AAC_SAMPLE_RATES if rate > sample_rate]
    return min(higher) if higher else max(AAC_SAMPLE_RATES)


def encoded_audio_length(exact: int, samples_per_video_frame: float) -> int:
    """How many samples to encode so the *decoded* audio ends within one video frame of ``exact``.

    AAC decoders output whole 1024-sample frames, and FFmpeg's mp4 demuxer (so PyAV, and
    players built on it) does not apply the edit list's trim of the last frame's padding. When
    that padding would be longer than a video frame, the last partial AAC frame is dropped
    instead: that removes fewer samples than the padding would add (at most 24 ms at 16 kHz and
    25 fps, 6 ms at 22.05 kHz). Exact when the padding fits in one frame.
    """
    remainder = exact % AAC_FRAME_SAMPLES
    padding = AAC_FRAME_SAMPLES - remainder
    if remainder == 0 or padding <= samples_per_video_frame or padding <= remainder:
        return exact
    return exact - remainder


def check_batch(batch: FrameBatch, *, width: int, height: int, fps: int, sample_rate: int) -> None:
    """Raise ValueError when ``batch`` does not match the encoder it is fed to."""
    frames = batch.frames
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (height, width, 3):
        raise ValueError(
            f"expected (N, {height}, {width}, 3) uint8 frames, got {frames.shape} {frames.dtype}"
        )
    if batch.fps != fps or batch.sample_rate != sample_rate:
        raise ValueError(
            f"batch is {batch.fps} fps / {batch.sample_rate} Hz, encoder is {fps} fps / {sample_rate} Hz"
        )
    if np.asarray(batch.audio).ndim != 1:
        raise ValueError("batch audio must be mono (1-D)")


def audio_samples_for(frame_count: int, fps: int, sample_rate: int) -> int:
    """Number of audio samples that play under ``frame_count`` frames."""
    return round(frame_count * sample_rate / fps)

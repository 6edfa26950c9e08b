"""Measurements used by several tests: decode an MP4, find the mouth opening in each frame."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from ai_pipeline.talking_head.landmarks import face_mesh, inner_lip_gap


@dataclass
class DecodedClip:
    frames: list[np.ndarray]
    audio: np.ndarray
    sample_rate: int
    fps: float
    video_duration: float
    audio_duration: float
    video_codec: str
    audio_codec: str
    pix_fmt: str
    profile: str | None
    width: int
    height: int


def decode_mp4(data: bytes) -> DecodedClip:
    """Decode every frame and all audio of an MP4 with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        v = container.streams.video[0]
        a = container.streams.audio[0]
        info = (v.codec_context.name, a.codec_context.name, v.codec_context.pix_fmt, v.codec_context.profile,
                v.codec_context.width, v.codec_context.height, float(v.average_rate))
        frames, audio, rate = [], [], a.codec_context.sample_rate
        v_end, a_end = 0.0, 0.0
        for frame in container.decode(v, a):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="rgb24"))
                v_end = max(v_end, float(frame.pts * frame.time_base) + 1 / info[6])
            else:
                pcm = frame.to_ndarray()
                audio.append(pcm.mean(axis=0) if pcm.ndim == 2 and pcm.shape[0] < pcm.shape[1] else pcm.ravel())
                if frame.pts is not None and frame.pts >= 0:
                    a_end = max(a_end, float(frame.pts * frame.time_base) + frame.samples / rate)
    samples = np.concatenate(audio).astype(np.float32) if audio else np.zeros(0, np.float32)
    return DecodedClip(frames, samples, rate, info[6], v_end, a_end, *info[:4], info[4], info[5])


def mouth_gaps(frames: list[np.ndarray], step: int = 1) -> np.ndarray:
    """Inner-lip gap (relative to mouth width) measured by the face mesh on every ``step``-th frame."""
    gaps = []
    for frame in frames[::step]:
        points = face_mesh(frame)
        gaps.append(np.nan if points is None else inner_lip_gap(points))
    return np.array(gaps)


def loudness_per_frame(samples: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    hop = rate / fps
    return np.array([float(np.sqrt(np.mean(np.square(samples[int(i * hop): int((i + 1) * hop)]) + 1e-12)))
                     for i in range(n_frames)])

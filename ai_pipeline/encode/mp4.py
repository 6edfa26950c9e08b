"""Whole-file MP4 (H.264 + AAC) for downloads, history and the offline CLI.

Video frames and their audio go through one FFmpeg mp4 muxer, which hides the AAC priming with an
edit list; the end is placed by :func:`~ai_pipeline.encode.tracks.encoded_audio_length` so that
even decoders that output the last AAC frame whole end within one video frame of the video
(2 s test clip decoded with PyAV: audio 16 ms short at 16 kHz, 3 ms at 22.05 kHz).

``movflags=+faststart`` moves the ``moov`` box to the front for progressive playback. FFmpeg
implements it by re-opening the output *by name* to shift the data, which an in-memory (BytesIO)
output does not have, so the file is written in a private temporary directory and read back by
:meth:`Mp4Encoder.finish`.

With ``fragmented=True`` the same API produces a fragmented MP4 (init segment followed by one
``moof``/``mdat`` per batch, see :mod:`ai_pipeline.encode.fmp4`) as a single file.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import av

from ai_pipeline.chunks import FrameBatch, VideoSegment
from ai_pipeline.encode.base import SegmentEncoder
from ai_pipeline.encode.bitstream import aac_codec_string, avc_codec_string
from ai_pipeline.encode.fmp4 import FragmentedMp4Stream
from ai_pipeline.encode.tracks import (
    AudioFramer,
    add_aac_stream,
    add_h264_stream,
    audio_samples_for,
    check_batch,
    check_geometry,
    video_frame,
)
from ai_pipeline.settings import EncoderSettings


class Mp4Encoder(SegmentEncoder):
    """Encode FrameBatches into one MP4 file: :meth:`add` each batch, then :meth:`finish`.

    As a :class:`SegmentEncoder` it yields nothing per batch and one segment (the whole file)
    at the end.
    """

    def __init__(
        self,
        settings: EncoderSettings,
        *,
        width: int,
        height: int,
        fps: int,
        sample_rate: int,
        fragmented: bool = False,
    ) -> None:
        super().__init__()
        check_geometry(width, height, fps, sample_rate)
        self.width, self.height, self.fps, self.sample_rate = width, height, fps, sample_rate
        self.fragmented = fragmented
        self._frames = 0
        self._fragments: FragmentedMp4Stream | None = None
        self._parts: list[bytes] = []
        if fragmented:
            self._fragments = FragmentedMp4Stream(
                settings, width=width, height=height, fps=fps, sample_rate=sample_rate
            )
            self._mime = self._fragments.mime
            return
        self._framer = AudioFramer(sample_rate)
        self._tmpdir = Path(tempfile.mkdtemp(prefix="avatar-mp4-"))
        # Removes the directory even if the encoder is dropped without close().
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._tmpdir, ignore_errors=True)
        self._path = self._tmpdir / "clip.mp4"
        try:
            self._container = av.open(str(self._path), "w", format="mp4", options={"movflags": "+faststart"})
            self._video = add_h264_stream(
                self._container, settings, width=width, height=height, fps=fps, low_latency=False
            )
            self._audio = add_aac_stream(self._container, settings, self._framer.sample_rate)
            self._container.start_encoding()
        except Exception:
            self._release()
            raise
        self._mime = 'video/mp4; codecs="{}, {}"'.format(
            avc_codec_string(bytes(self._video.codec_context.extradata)),
            aac_codec_string(bytes(self._audio.codec_context.extradata)),
        )

    @property
    def mime(self) -> str:
        return self._mime

    @property
    def duration(self) -> float:
        """Seconds of video added so far."""
        return self._frames / self.fps

    def add(self, batch: FrameBatch) -> None:
        """Encode one batch (blocking)."""
        self.push(batch)

    def finish(self) -> bytes:
        """Flush the codecs and return the complete MP4 file (blocking); closes the encoder."""
        return b"".join(segment.data for segment in self.flush())

    def _push(self, batch: FrameBatch) -> list[VideoSegment]:
        if self._fragments is not None:
            self._parts.extend(segment.data for segment in self._fragments.push(batch))
            self._frames += len(batch.frames)
            return []
        check_batch(batch, width=self.width, height=self.height, fps=self.fps, sample_rate=self.sample_rate)
        for rgb in batch.frames:
            self._container.mux(self._video.encode(video_frame(rgb, self._frames, self.fps)))
            self._frames += 1
        for frame in self._framer.push(batch.audio):
            self._container.mux(self._audio.encode(frame))
        return []

    def _flush(self) -> list[VideoSegment]:
        if self._fragments is not None:
            self._parts.extend(segment.data for segment in self._fragments.flush())
            data = b"".join(self._parts)
        else:
            self._container.mux(self._video.encode(None))
            rate = self._framer.sample_rate
            total = audio_samples_for(self._frames, self.fps, rate)
            for frame in self._framer.finish(total, rate / self.fps):
                self._container.mux(self._audio.encode(frame))
            self._container.mux(self._audio.encode(None))
            self._container.close()  # writes the moov and moves it to the front
            data = self._path.read_bytes()
        return [VideoSegment(data, self._mime, self.duration, index=0)]

    def _release(self) -> None:
        if self._fragments is not None:
            self._fragments.close()
            return
        try:
            if hasattr(self, "_container"):
                self._container.close()
        except av.FFmpegError:
            pass  # closing after a failed write; the file is discarded anyway
        finally:
            self._cleanup()

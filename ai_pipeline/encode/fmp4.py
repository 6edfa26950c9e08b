"""Streaming fragmented MP4 (for Media Source Extensions): one media segment per FrameBatch.

How a segment gets out as soon as its batch is encoded:

* FFmpeg's mp4 muxer (``movflags=empty_moov+default_base_moof``) writes only the init segment
  (``ftyp`` + ``moov``): opening the output container writes the header and nothing else is ever
  muxed into it. Its codec contexts do the encoding.
* The muxer itself cannot be used for the fragments: with ``frag_keyframe`` it cuts a fragment
  only when the *next* keyframe is muxed (one batch late), its interleaving queue holds the last
  packets of whichever track is ahead, and the explicit flush (``av_write_frame(ctx, NULL)`` with
  ``frag_custom``) is not reachable from PyAV. So :mod:`ai_pipeline.encode.boxes` writes each
  ``moof`` + ``mdat`` directly from the packets of the batch.
* Video uses ``tune=zerolatency``, so every frame's packet leaves the encoder during its own
  batch; the first frame of each batch is forced to be an IDR frame, so every media segment
  starts with a keyframe and can be appended on its own after the init segment.
* AAC packets trail the input by up to two frames (priming + lookahead); a segment carries the
  audio packets finished so far, and :meth:`flush` emits the tail. The encoder's 1024 priming
  samples start the audio track at time 0 and an edit list in the init segment (media_time 1024)
  starts presentation after them - the standard signalling, also written by FFmpeg for whole
  files and by Shaka Packager for fragments. FFmpeg/PyAV honour it (see the tests); a player that
  ignored it would play the audio 1024 samples late (64 ms at 16 kHz), within lip-sync tolerance.

Concatenating the init segment and all media segments gives a valid fragmented MP4 file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import av

from ai_pipeline.chunks import FrameBatch, VideoSegment
from ai_pipeline.encode.base import SegmentEncoder
from ai_pipeline.encode.bitstream import aac_codec_string, annexb_to_length_prefixed, avc_codec_string
from ai_pipeline.encode.boxes import (
    NON_SYNC_SAMPLE_FLAGS,
    SYNC_SAMPLE_FLAGS,
    Sample,
    TrackInfo,
    TrackRun,
    add_edit_list,
    media_segment,
    parse_tracks,
)
from ai_pipeline.encode.tracks import (
    AAC_PRIMING_SAMPLES,
    AudioFramer,
    add_aac_stream,
    add_h264_stream,
    audio_samples_for,
    check_batch,
    check_geometry,
    video_frame,
)
from ai_pipeline.errors import EngineFailed
from ai_pipeline.settings import EncoderSettings


class _ByteSink:
    """A write-only, non-seekable file object that keeps what the muxer writes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


class FragmentedMp4Stream(SegmentEncoder):
    """H.264 + AAC fragmented MP4: an init segment, then one media segment per pushed batch.

    The first :meth:`push` returns ``[init, media]``, later ones ``[media]``; :meth:`flush`
    returns the last media segment (the audio tail). Init has ``index`` 0 and ``is_init`` set;
    media segments are numbered from 1 like their ``mfhd`` sequence numbers.
    """

    def __init__(
        self, settings: EncoderSettings, *, width: int, height: int, fps: int, sample_rate: int
    ) -> None:
        super().__init__()
        check_geometry(width, height, fps, sample_rate)
        self.width, self.height, self.fps, self.sample_rate = width, height, fps, sample_rate
        self._framer = AudioFramer(sample_rate)
        self._aac_rate = self._framer.sample_rate
        self._sink = _ByteSink()
        self._container = av.open(
            self._sink, "w", format="mp4", options={"movflags": "empty_moov+default_base_moof"}
        )
        try:
            self._video = add_h264_stream(
                self._container, settings, width=width, height=height, fps=fps, low_latency=True
            )
            self._audio = add_aac_stream(self._container, settings, self._aac_rate)
            self._container.start_encoding()  # opens both codecs and writes ftyp + moov
            self._init = self._init_segment(self._sink.take())
            self._mime = 'video/mp4; codecs="{}, {}"'.format(
                avc_codec_string(bytes(self._video.codec_context.extradata)),
                aac_codec_string(bytes(self._audio.codec_context.extradata)),
            )
        except Exception:
            self._container.close()
            raise
        self._frames = 0
        self._sequence = 0
        self._init_sent = False

    @property
    def mime(self) -> str:
        return self._mime

    @property
    def init_segment(self) -> VideoSegment:
        """The ``ftyp`` + ``moov`` segment every player needs before any media segment."""
        return VideoSegment(self._init, self._mime, 0.0, index=0, is_init=True)

    def _init_segment(self, header: bytes) -> bytes:
        tracks = {track.handler: track for track in parse_tracks(header)}
        if set(tracks) != {"vide", "soun"}:
            raise EngineFailed("Ошибка кодирования видео.", f"unexpected MP4 tracks {sorted(tracks)}")
        self._video_track, self._audio_track = tracks["vide"], tracks["soun"]
        priming = AAC_PRIMING_SAMPLES * self._audio_track.timescale // self._aac_rate
        return add_edit_list(header, self._audio_track.track_id, priming)

    def _push(self, batch: FrameBatch) -> list[VideoSegment]:
        check_batch(batch, width=self.width, height=self.height, fps=self.fps, sample_rate=self.sample_rate)
        first = self._frames
        video_packets = []
        for offset, rgb in enumerate(batch.frames):
            frame = video_frame(rgb, first + offset, self.fps, keyframe=offset == 0)
            video_packets.extend(self._video.encode(frame))
        self._frames += len(batch.frames)
        audio_packets = []
        for frame in self._framer.push(batch.audio):
            audio_packets.extend(self._audio.encode(frame))
        segments = [] if self._init_sent else [self.init_segment]
        self._init_sent = True
        segment = self._media_segment(video_packets, audio_packets, len(batch.frames))
        return segments + ([segment] if segment else [])

    def _flush(self) -> list[VideoSegment]:
        video_packets = list(self._video.encode(None))
        audio_packets = []
        total = audio_samples_for(self._frames, self.fps, self._aac_rate)
        for frame in self._framer.finish(total, self._aac_rate / self.fps):
            audio_packets.extend(self._audio.encode(frame))
        audio_packets.extend(self._audio.encode(None))
        segments = [] if self._init_sent else [self.init_segment]
        self._init_sent = True
        segment = self._media_segment(video_packets, audio_packets, 0)
        return segments + ([segment] if segment else [])

    def _release(self) -> None:
        self._container.close()  # writes a trailer into the sink, which is never read again

    def _media_segment(
        self, video: Sequence[av.Packet], audio: Sequence[av.Packet], frame_count: int
    ) -> VideoSegment | None:
        runs = []
        if video:
            runs.append(_track_run(self._video_track, video, annexb=True))
        if audio:
            # The encoder's first packet (pts -1024) holds the priming: it starts the track at 0,
            # and the init segment's edit list starts presentation 1024 samples later.
            priming = Fraction(AAC_PRIMING_SAMPLES, self._aac_rate)
            if audio[0].pts * audio[0].time_base < -priming:
                raise EngineFailed("Ошибка кодирования звука.", f"AAC priming longer than expected: {audio[0].pts}")
            runs.append(_track_run(self._audio_track, audio, shift=priming, all_sync=True))
        if not runs:
            return None
        self._sequence += 1
        data = media_segment(self._sequence, runs)
        return VideoSegment(data, self._mime, frame_count / self.fps, index=self._sequence)


def _track_run(
    track: TrackInfo,
    packets: Sequence[av.Packet],
    *,
    shift: Fraction = Fraction(0),
    annexb: bool = False,
    all_sync: bool = False,
) -> TrackRun:
    """Place ``packets`` on ``track``'s clock, ``shift`` seconds later than their timestamps."""

    def tick(timestamp: int, time_base: Fraction) -> int:
        return math.floor((timestamp * time_base + shift) * track.timescale)

    samples = []
    for packet in packets:
        time_base = packet.time_base
        start = tick(packet.dts, time_base)
        data = bytes(packet)
        samples.append(
            Sample(
                annexb_to_length_prefixed(data) if annexb else data,
                tick(packet.dts + (packet.duration or 1), time_base) - start,
                SYNC_SAMPLE_FLAGS if all_sync or packet.is_keyframe else NON_SYNC_SAMPLE_FLAGS,
                tick(packet.pts, time_base) - start,
            )
        )
    return TrackRun(track.track_id, tick(packets[0].dts, packets[0].time_base), samples)

"""Reading uploaded or recorded audio into mono float32, and writing WAV.

Decoding uses PyAV (FFmpeg) only, so every common upload works: WAV, MP3, Ogg/Vorbis, Opus,
WebM/Opus straight from a browser's MediaRecorder (often without a duration in its header), M4A/AAC
and FLAC, at any sample rate and channel count. Only audio container formats are accepted
(``format_whitelist``), so a crafted playlist or concat file cannot make FFmpeg open other files.

Decoding is bounded twice, and stops as soon as either bound is passed: by the seconds of audio
that come out (samples after resampling to the output rate), and by the bytes the codec decodes at
the file's own rate and channel count. A few kilobytes of FLAC may declare 655 350 Hz (the most
FLAC can state) and 8 channels, which is 21 MB of samples per second of audio: the second bound
allows ``max_seconds`` of :data:`NATIVE_BYTES_PER_SECOND`, the most an ordinary recording decodes to.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np

from ai_pipeline.errors import InputError, InputTooLarge

MIN_SECONDS = 0.1
# 96 kHz stereo as float32: decoded bytes a second of any ordinary recording stays under.
NATIVE_BYTES_PER_SECOND = 96_000 * 2 * 4

# FFmpeg demuxer names (a demuxer matches when any of its comma-separated names is listed).
_AUDIO_DEMUXERS = "wav,w64,mp3,ogg,matroska,webm,mov,mp4,m4a,flac,aac,aiff,caf,amr"


def decode_audio(
    source: bytes | str | Path,
    target_rate: int | None = None,
    max_seconds: float | None = None,
    *,
    rate_range: tuple[int, int] | None = None,
) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of ``source`` to mono float32 in [-1, 1].

    ``source`` is the file's bytes or a path. Channels are averaged; the native sample rate is
    kept unless ``target_rate`` is given, or brought into ``rate_range`` (low, high) when given.
    Decoding stops as soon as the audio exceeds ``max_seconds``, or the samples decoded at the
    native rate exceed ``max_seconds`` of :data:`NATIVE_BYTES_PER_SECOND`. Returns
    ``(samples, sample_rate)``.

    Raises InputError with code ``bad_audio`` (not decodable, no audio stream) or ``empty_audio``
    (nothing or less than 0.1 s decoded), and InputTooLarge ``audio_too_long`` or
    ``audio_too_large``.
    """
    if target_rate is not None and target_rate <= 0:
        raise ValueError(f"target_rate must be positive, got {target_rate}")
    if rate_range is not None and not 0 < rate_range[0] <= rate_range[1]:
        raise ValueError(f"bad rate_range {rate_range}")
    if isinstance(source, (bytes, bytearray, memoryview)) and len(source) == 0:
        raise _empty_audio("the file is empty")
    container = _open(source)
    with container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            raise InputError(
                "Не удалось прочитать аудио: в файле нет звуковой дорожки.",
                "no audio stream in the file",
                code="bad_audio",
            )
        downmixer = _MonoDownmixer(target_rate, rate_range=rate_range, max_seconds=max_seconds)
        samples, rate = _decode_stream(container, stream, downmixer, max_seconds)
    if rate == 0 or len(samples) < MIN_SECONDS * rate:
        raise _empty_audio(f"decoded {len(samples)} samples")
    return samples, rate


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """Write float samples in [-1, 1] as 16-bit PCM WAV; ``samples`` is (n,) or (n, channels)."""
    data = np.asarray(samples, dtype=np.float32)
    channels = 1 if data.ndim == 1 else data.shape[1]
    pcm = (np.clip(np.nan_to_num(data), -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(pcm.tobytes())


def _open(source: bytes | str | Path) -> av.container.InputContainer:
    options = {"format_whitelist": _AUDIO_DEMUXERS}
    if isinstance(source, (bytes, bytearray, memoryview)):
        target: io.BytesIO | str = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError("Не удалось прочитать аудио: файл не найден.", f"no such file: {path}", code="bad_audio")
        if path.stat().st_size == 0:
            raise _empty_audio("the file is empty")
        target = str(path)
        options["protocol_whitelist"] = "file"
    try:
        return av.open(target, "r", options=options)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(
            "Не удалось прочитать аудио: файл повреждён или это не поддерживаемый аудиоформат.",
            f"cannot open audio: {exc}",
            code="bad_audio",
        ) from exc


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    downmixer: _MonoDownmixer,
    max_seconds: float | None,
) -> tuple[np.ndarray, int]:
    decoded_any = False
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                continue  # one damaged packet: skip it, as players do
            for frame in frames:
                decoded_any = True
                downmixer.add(frame)
                _check_length(downmixer, max_seconds)
    except av.FFmpegError as exc:
        # A truncated upload (e.g. a recording cut short) keeps what was decoded before the damage.
        if not decoded_any:
            raise InputError(
                "Не удалось прочитать аудио: файл повреждён.", f"cannot decode audio: {exc}", code="bad_audio"
            ) from exc
    downmixer.flush()
    _check_length(downmixer, max_seconds)
    return downmixer.samples(), downmixer.rate


def _check_length(downmixer: _MonoDownmixer, max_seconds: float | None) -> None:
    if max_seconds is not None and downmixer.count > max_seconds * downmixer.rate:
        raise InputTooLarge(
            f"Аудио слишком длинное: допускается не больше {max_seconds:g} с.",
            f"audio longer than {max_seconds:g} s",
            code="audio_too_long",
        )


class _MonoDownmixer:
    """Resamples decoded frames to float at one rate and averages their channels.

    FFmpeg's own mono downmix does not normalise float output (stereo at full scale becomes 1.41),
    so channels are kept through the resampler and averaged here. A new resampler is made when
    the input layout or rate changes mid-stream (chained Ogg, some MP3s). With ``max_seconds``, a
    frame that takes the native-rate decoded size past its budget raises before it is resampled.
    """

    def __init__(self, target_rate: int | None, *, rate_range: tuple[int, int] | None = None,
                 max_seconds: float | None = None) -> None:
        self.rate = target_rate or 0
        self.count = 0
        self.native_bytes = 0  # decoded so far at the input's own rate and channels, as float32
        self._rate_range = rate_range
        self._max_native_bytes = None if max_seconds is None else max_seconds * NATIVE_BYTES_PER_SECOND
        self._parts: list[np.ndarray] = []
        self._resampler: av.AudioResampler | None = None
        self._input_key: tuple[str, int, int] | None = None

    def add(self, frame: av.AudioFrame) -> None:
        self.native_bytes += frame.samples * frame.layout.nb_channels * 4
        if self._max_native_bytes is not None and self.native_bytes > self._max_native_bytes:
            raise InputTooLarge(
                "Аудио слишком большое после распаковки: уменьшите частоту дискретизации, число каналов "
                "или длительность записи.",
                f"decoded audio exceeds {self._max_native_bytes / 1e6:.0f} MB at {frame.sample_rate} Hz, "
                f"{frame.layout.nb_channels} channels",
                code="audio_too_large",
            )
        key = (frame.format.name, frame.layout.nb_channels, frame.sample_rate)
        if key != self._input_key:
            self.flush()
            self.rate = self.rate or _clamp(frame.sample_rate, self._rate_range)
            self._resampler = av.AudioResampler(format="fltp", rate=self.rate)
            self._input_key = key
        self._collect(self._resampler.resample(frame))

    def flush(self) -> None:
        if self._resampler is not None:
            self._collect(self._resampler.resample(None))
            self._resampler = None
            self._input_key = None

    def samples(self) -> np.ndarray:
        if not self._parts:
            return np.zeros(0, dtype=np.float32)
        mono = np.concatenate(self._parts)
        return np.clip(np.nan_to_num(mono), -1.0, 1.0).astype(np.float32, copy=False)

    def _collect(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            planes = frame.to_ndarray()  # (channels, samples) for planar float
            mono = planes.mean(axis=0, dtype=np.float32) if planes.shape[0] > 1 else planes[0]
            self._parts.append(mono)
            self.count += len(mono)


def _clamp(rate: int, rate_range: tuple[int, int] | None) -> int:
    return rate if rate_range is None else min(max(rate, rate_range[0]), rate_range[1])


def _empty_audio(detail: str) -> InputError:
    return InputError(
        "Аудио пустое или слишком короткое (нужно хотя бы 0,1 с звука).",
        f"audio is empty or shorter than {MIN_SECONDS} s: {detail}",
        code="empty_audio",
    )

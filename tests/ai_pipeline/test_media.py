"""Decoding uploads: audio files made on the fly with the ffmpeg CLI, images made with Pillow."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFile

from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.media import decode_audio, encode_jpeg, encode_png, load_image, write_wav
from tests.ai_pipeline.bombs import high_rate_flac, png

TONE_HZ = 440
SECONDS = 1.5


def ffmpeg(*args: str, stdout=None) -> None:
    assert shutil.which("ffmpeg"), "ffmpeg CLI missing: scripts/setup.sh installs it"
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, stdout=stdout, timeout=120)


def tone(
    path: Path, rate: int, channels: int, codec: list[str], *, seconds: float = SECONDS, pipe: bool = False
) -> Path:
    """Write a 440 Hz tone with ffmpeg; ``pipe`` streams it to stdout so the header has no duration."""
    source = ["-f", "lavfi", "-i", f"sine=frequency={TONE_HZ}:sample_rate={rate}:duration={seconds}"]
    layout = ["-ac", str(channels)]
    if pipe:
        with path.open("wb") as out:
            ffmpeg(*source, *layout, *codec, "-", stdout=out)
    else:
        ffmpeg(*source, *layout, *codec, str(path))
    return path


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


AUDIO_CASES = [
    ("mono8k.wav", 8000, 1, []),
    ("stereo48k.wav", 48000, 2, ["-c:a", "pcm_s24le"]),
    ("float.wav", 22050, 1, ["-c:a", "pcm_f32le"]),
    ("stereo.mp3", 44100, 2, ["-c:a", "libmp3lame", "-b:a", "96k"]),
    ("vorbis.ogg", 22050, 2, ["-c:a", "libvorbis"]),
    ("voice.opus", 48000, 1, ["-c:a", "libopus"]),
    ("aac.m4a", 16000, 1, ["-c:a", "aac"]),
    ("stereo.flac", 32000, 2, ["-c:a", "flac"]),
]


@pytest.mark.parametrize(("name", "rate", "channels", "codec"), AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_decodes_common_formats_at_native_rate(tmp_path: Path, name, rate, channels, codec) -> None:
    path = tone(tmp_path / name, rate, channels, codec)
    samples, got_rate = decode_audio(path)
    assert got_rate == rate
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / rate - SECONDS) < 0.08  # codec padding (AAC, Opus) stays under 80 ms
    assert 0.03 < np.abs(samples).max() <= 1.0
    assert dominant_hz(samples, rate) == pytest.approx(TONE_HZ, abs=3)

    resampled, resampled_rate = decode_audio(path.read_bytes(), target_rate=16000)
    assert resampled_rate == 16000
    assert abs(len(resampled) / 16000 - len(samples) / rate) < 0.01
    assert dominant_hz(resampled, 16000) == pytest.approx(TONE_HZ, abs=3)


def test_browser_webm_without_duration(tmp_path: Path) -> None:
    """MediaRecorder writes WebM/Opus as a live stream: no duration in the header."""
    path = tone(tmp_path / "recording.webm", 48000, 1, ["-c:a", "libopus", "-f", "webm"], pipe=True)
    with av.open(str(path)) as container:
        assert container.duration is None, "the fixture should lack a duration"
    samples, rate = decode_audio(path.read_bytes())
    assert rate == 48000 and abs(len(samples) / rate - SECONDS) < 0.08
    assert dominant_hz(samples, rate) == pytest.approx(TONE_HZ, abs=3)


def test_stereo_is_averaged_not_summed(tmp_path: Path) -> None:
    rate = 16000
    t = np.arange(rate) / rate
    loud = 0.9 * np.sin(2 * np.pi * TONE_HZ * t)
    path = tmp_path / "stereo.wav"
    write_wav(path, np.stack([loud, loud], axis=1), rate)
    samples, _ = decode_audio(path)
    assert samples.max() == pytest.approx(0.9, abs=0.01)


def test_write_wav_round_trip(tmp_path: Path) -> None:
    rate = 22050
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, rate).astype(np.float32)
    write_wav(tmp_path / "noise.wav", noise, rate)
    samples, got_rate = decode_audio(tmp_path / "noise.wav")
    assert got_rate == rate and np.max(np.abs(samples - noise)) < 1e-4


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", "empty_audio"),
        (np.random.default_rng(1).bytes(20000), "bad_audio"),
        ("Это текстовый файл, а не звук.\n".encode() * 40, "bad_audio"),
        (b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "bad_audio"),
    ],
    ids=["empty", "garbage", "text", "playlist"],
)
def test_unreadable_audio(payload: bytes, code: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as bytes_error:
        decode_audio(payload)
    path = tmp_path / "upload.bin"
    path.write_bytes(payload)
    with pytest.raises(InputError) as path_error:
        decode_audio(path)
    for error in (bytes_error.value, path_error.value):
        assert error.code == code
        assert error.message_ru.startswith(("Не удалось прочитать аудио", "Аудио пустое"))


def test_video_without_audio_stream(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=128x128:rate=10:duration=1", "-c:v", "libx264", str(path))
    with pytest.raises(InputError) as error:
        decode_audio(path)
    assert error.value.code == "bad_audio" and "нет звуковой дорожки" in error.value.message_ru


def test_too_short_audio(tmp_path: Path) -> None:
    path = tone(tmp_path / "blip.wav", 16000, 1, [], seconds=0.05)
    with pytest.raises(InputError) as error:
        decode_audio(path)
    assert error.value.code == "empty_audio"


def test_too_long_audio_stops_early(tmp_path: Path) -> None:
    path = tone(tmp_path / "long.ogg", 16000, 1, ["-c:a", "libvorbis"], seconds=600)
    # CPU time of this process, not wall time: other load on the machine does not move it
    started = time.process_time()
    with pytest.raises(InputTooLarge) as error:
        decode_audio(path, max_seconds=3)
    elapsed = time.process_time() - started
    assert error.value.code == "audio_too_long" and "3 с" in error.value.message_ru
    started = time.process_time()
    decode_audio(path)
    full = time.process_time() - started
    assert elapsed < full / 5, f"stopping at 3 s took {elapsed:.3f} s of CPU, the whole 10 min {full:.3f} s"


# --- images ------------------------------------------------------------------------------------


def portrait(width: int = 120, height: int = 90) -> np.ndarray:
    """An asymmetric test picture: red left half, blue right half, a green top-left square."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, : width // 2] = (220, 30, 30)
    rgb[:, width // 2 :] = (30, 30, 220)
    rgb[:20, :20] = (30, 220, 30)
    return rgb


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "tolerance"), [("PNG", 0), ("JPEG", 12), ("WEBP", 12), ("BMP", 0), ("TIFF", 0)])
def test_loads_common_formats(fmt: str, tolerance: int, tmp_path: Path) -> None:
    rgb = portrait()
    data = saved(Image.fromarray(rgb), fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    for source in (data, _write(tmp_path / f"photo.{fmt.lower()}", data)):
        loaded = load_image(source)
        assert loaded.shape == rgb.shape and loaded.dtype == np.uint8
        assert np.abs(loaded[30:80, 10:50].astype(int) - rgb[30:80, 10:50]).max() <= tolerance


def test_transparency_is_composited_on_white() -> None:
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 40:, 3] = 255  # left half fully transparent, right half opaque red
    loaded = load_image(saved(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert loaded.shape == (80, 80, 3)
    assert (loaded[:, :40] == 255).all() and (loaded[:, 40:] == (200, 0, 0)).all()

    la = Image.fromarray(np.dstack([np.full((80, 80), 10, np.uint8), rgba[..., 3]]), "LA")
    assert (load_image(saved(la, "PNG"))[:, :40] == 255).all()

    palette = Image.fromarray(rgba, "RGBA").convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = palette.getpixel((0, 0))
    assert (load_image(saved(palette, "GIF", transparency=palette.getpixel((0, 0))))[:, :40] == 255).all()


def test_grayscale_sixteen_bit_and_cmyk_become_rgb() -> None:
    gray = np.tile(np.linspace(0, 255, 100).astype(np.uint8), (70, 1))
    loaded = load_image(saved(Image.fromarray(gray, "L"), "PNG"))
    assert loaded.shape == (70, 100, 3) and (loaded[..., 0] == gray).all() and (loaded[..., 2] == gray).all()

    deep = Image.fromarray(gray.astype(np.uint16) * 257)
    assert deep.mode == "I;16"
    loaded = load_image(saved(deep, "PNG"))
    assert np.abs(loaded[..., 1].astype(int) - gray).max() <= 1  # scaled, not clipped to white

    cmyk = Image.fromarray(portrait()).convert("CMYK")
    loaded = load_image(saved(cmyk, "JPEG", quality=95))
    assert loaded.shape == (90, 120, 3) and loaded[50, 20, 0] > 150 and loaded[50, 100, 2] > 150


def test_exif_orientation_is_applied() -> None:
    rgb = portrait(120, 90)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    data = saved(Image.fromarray(rgb), "JPEG", quality=95, exif=exif.tobytes())
    loaded = load_image(data)
    assert loaded.shape == (120, 90, 3)
    # The green top-left corner is now at the top right.
    assert loaded[5, 85, 1] > 150 and loaded[5, 5, 1] < 100


@pytest.mark.parametrize(
    "payload",
    [b"", b"just some text, not a picture\n" * 20, np.random.default_rng(2).bytes(4000)],
    ids=["empty", "text", "garbage"],
)
def test_non_images_are_rejected(payload: bytes) -> None:
    with pytest.raises(InputError) as error:
        load_image(payload)
    assert error.value.code == "bad_image"
    assert error.value.message_ru.startswith("Файл не является изображением")


def test_truncated_and_wrong_kind_files(tmp_path: Path) -> None:
    jpeg = encode_jpeg(portrait(400, 300))
    with pytest.raises(InputError) as error:
        load_image(jpeg[: len(jpeg) // 2])
    assert error.value.code == "bad_image"
    wav = tmp_path / "voice.wav"
    write_wav(wav, np.zeros(16000, np.float32), 16000)
    with pytest.raises(InputError) as error:
        load_image(wav)
    assert error.value.code == "bad_image"


def test_size_limits() -> None:
    with pytest.raises(InputError) as error:
        load_image(encode_png(portrait(63, 200)))
    assert error.value.code == "image_too_small"
    with pytest.raises(InputTooLarge) as error:
        load_image(encode_png(portrait(200, 200)), max_pixels=30_000)
    assert error.value.code == "image_too_large"


def test_decompression_bomb_is_rejected_before_decoding() -> None:
    """A PNG header claiming 100000 x 100000 pixels over a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")
    started = time.process_time()
    with pytest.raises(InputTooLarge) as error:
        load_image(bomb)
    # decoding 10^10 pixels would take minutes of CPU (or run out of memory first); refusing takes milliseconds
    assert error.value.code == "image_too_large" and time.process_time() - started < 5.0


def test_png_and_jpeg_encoders_round_trip() -> None:
    rgb = portrait()
    assert (load_image(encode_png(rgb)) == rgb).all()
    jpeg = encode_jpeg(rgb, quality=90)
    assert jpeg[:2] == b"\xff\xd8"
    assert np.abs(load_image(jpeg)[30:80, 10:50].astype(int) - rgb[30:80, 10:50]).max() <= 12
    with pytest.raises(ValueError):
        encode_png(np.zeros((10, 10), np.uint8))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- decoded-size budgets ----------------------------------------------------------------------


def test_high_rate_flac_stops_at_the_decoded_bytes_budget() -> None:
    """22 KB of FLAC at 655 350 Hz: a minute of it is 157 MB of float samples at its own rate."""
    data = high_rate_flac(60)
    assert len(data) < 50_000
    started = time.process_time()
    with pytest.raises(InputTooLarge) as error:
        decode_audio(data, target_rate=16_000, max_seconds=60)  # the output would be 60 s: within the limit
    assert error.value.code == "audio_too_large" and "распаковки" in error.value.message_ru
    assert time.process_time() - started < 5.0
    with pytest.raises(InputTooLarge):
        decode_audio(data, max_seconds=60)  # native rate: stopped long before 157 MB


def test_rate_range_decodes_once_at_a_bounded_rate() -> None:
    samples, rate = decode_audio(high_rate_flac(2, amplitude=3000), max_seconds=60, rate_range=(16_000, 48_000))
    assert rate == 48_000 and samples.size == 96_000 and samples.dtype == np.float32
    assert abs(dominant_hz(samples, rate) - 1000) < 5


def test_pipeline_decode_audio_resamples_high_rates_without_a_native_copy(tmp_path: Path) -> None:
    from ai_pipeline.runner import Pipeline
    from ai_pipeline.settings import Settings

    pipeline = Pipeline(Settings(data_dir=tmp_path))
    clip = pipeline.decode_audio(high_rate_flac(2, amplitude=3000))
    assert clip.sample_rate == 48_000 and clip.samples.size == 96_000
    with pytest.raises(InputTooLarge) as error:  # 180 s allowed, but not 180 s of 655 kHz
        pipeline.decode_audio(high_rate_flac(120))
    assert error.value.code == "audio_too_large"


@pytest.mark.parametrize(("width", "height", "bit_depth", "color_type"), [
    (6000, 6000, 1, 0),  # 36 MP of 1-bit gray: 4 KB of PNG, 144 MB decoded as Pillow holds RGB
    (10000, 10000, 1, 0),
    (5000, 4000, 16, 0),  # 20 MP, but 16-bit: scaled through 8 bytes a pixel
])
def test_small_pngs_that_decode_to_much_are_refused_from_the_header(
        width: int, height: int, bit_depth: int, color_type: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = png(width, height, bit_depth, color_type)
    assert len(data) < 100_000

    def no_decoding(self: Image.Image) -> None:
        raise AssertionError("pixels decoded before the size check")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InputTooLarge) as error:
        load_image(data)
    assert error.value.code == "image_too_large" and error.value.http_status == 413
    assert "МБ" in error.value.message_ru and f"{width}×{height}" in error.value.message_ru


def test_image_budget_follows_the_megapixel_setting() -> None:
    data = png(3000, 2000, 8, 2)  # 6 MP of RGB: 24 MB as Pillow holds it
    assert load_image(data).shape == (2000, 3000, 3)
    with pytest.raises(InputTooLarge):
        load_image(data, max_pixels=5_000_000)

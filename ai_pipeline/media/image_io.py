"""Loading an uploaded portrait as RGB uint8, and encoding PNG/JPEG.

Pillow decodes; the image is turned upright from its EXIF orientation, transparency is composited
on white, and every other mode (palette, grayscale, CMYK, 16-bit) becomes 8-bit RGB.

The size is checked from the header before any pixel is decoded, in decoded bytes rather than in
pixels: a tiny 1-bit PNG may declare a size that decodes to hundreds of megabytes, and a 16-bit
image costs twice as much per pixel as an 8-bit one. The budget is ``max_pixels`` pixels of RGB as
Pillow holds it (4 bytes a pixel), so a decompression bomb costs nothing.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageMode, ImageOps, UnidentifiedImageError

from ai_pipeline.errors import InputError, InputTooLarge

MIN_SIDE = 64
DEFAULT_MAX_PIXELS = 24_000_000  # LimitSettings.max_image_megapixels
RGB_BYTES = 4  # Pillow keeps RGB (and every multi-band mode) at 4 bytes a pixel
_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")  # JPEG also opens MPO (phone photos)
_WHITE = (255, 255, 255)
_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def load_image(source: bytes | str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode ``source`` (bytes or a path) to an upright (H, W, 3) uint8 RGB array.

    Accepts PNG, JPEG, WebP, BMP, GIF (first frame) and TIFF. Raises InputError ``bad_image``
    (not an image, damaged), ``image_too_small`` (a side under 64 px) and InputTooLarge
    ``image_too_large`` (decoding would take more bytes than ``max_pixels`` pixels of RGB).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream: io.BytesIO | Path = io.BytesIO(bytes(source))
    else:
        stream = Path(source)
        if not stream.is_file():
            raise _bad_image(f"no such file: {stream}")
    try:
        with Image.open(stream, formats=_FORMATS) as image:
            _check_size(image.size, image.mode, max_pixels)
            image.load()
            return _to_rgb(_upright(image))
    except Image.DecompressionBombError as exc:  # Pillow's own limit, if max_pixels is above it
        raise _too_large(str(exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _bad_image(f"{type(exc).__name__}: {exc}") from exc


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 RGB array as PNG."""
    out = io.BytesIO()
    Image.fromarray(_as_rgb_array(rgb), "RGB").save(out, format="PNG")
    return out.getvalue()


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """Encode an (H, W, 3) uint8 RGB array as baseline JPEG at ``quality`` (1..95)."""
    out = io.BytesIO()
    Image.fromarray(_as_rgb_array(rgb), "RGB").save(out, format="JPEG", quality=int(quality))
    return out.getvalue()


def decoded_bytes(size: tuple[int, int], mode: str) -> int:
    """Bytes a picture of ``size`` in ``mode`` takes at its largest while it becomes RGB."""
    width, height = size
    if mode in _SIXTEEN_BIT_MODES or mode == "F":
        per_pixel = 8  # scaled through float64
    else:
        try:
            info = ImageMode.getmode(mode)
            per_pixel = max(RGB_BYTES, len(info.bands) * int(info.typestr[-1]))
        except (KeyError, ValueError):  # a rare raw mode: assume the widest common pixel
            per_pixel = 8
    return width * height * per_pixel


def _check_size(size: tuple[int, int], mode: str, max_pixels: int) -> None:
    width, height = size
    need, budget = decoded_bytes(size, mode), max_pixels * RGB_BYTES
    if need > budget:
        raise InputTooLarge(
            f"Изображение слишком большое: {width}×{height} пикселей займут после распаковки "
            f"{need / 1e6:.0f} МБ, допускается до {budget / 1e6:.0f} МБ (около {max_pixels / 1e6:g} Мпикс). "
            "Уменьшите его и загрузите снова.",
            f"image too large: {width}x{height} {mode} decodes to {need} bytes > {budget}",
            code="image_too_large",
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"Изображение слишком маленькое: нужно не меньше {MIN_SIDE} пикселей по каждой стороне.",
            f"image is {width}x{height}, minimum side is {MIN_SIDE}",
            code="image_too_small",
        )


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a damaged EXIF block leaves the image as it is."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - Pillow raises many types for malformed EXIF
        return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in _SIXTEEN_BIT_MODES:
        image = _sixteen_bit_to_gray(image)
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0.0, 255.0).astype(np.uint8), "L")
    has_alpha = image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _sixteen_bit_to_gray(image: Image.Image) -> Image.Image:
    """Scale 16-bit grayscale to 8 bits (Pillow's own conversion clips instead of scaling)."""
    values = np.asarray(image, dtype=np.float64)
    return Image.fromarray(np.clip(values / 257.0, 0, 255).round().astype(np.uint8), "L")


def _as_rgb_array(rgb: np.ndarray) -> np.ndarray:
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8, got {array.shape} {array.dtype}")
    return np.ascontiguousarray(array)


def _bad_image(detail: str) -> InputError:
    return InputError(
        "Файл не является изображением или повреждён. Загрузите фото в формате JPEG, PNG или WebP.",
        f"not a readable image: {detail}",
        code="bad_image",
    )


def _too_large(detail: str) -> InputTooLarge:
    return InputTooLarge(
        "Изображение слишком большое: уменьшите его и загрузите снова.",
        f"image too large: {detail}",
        code="image_too_large",
    )

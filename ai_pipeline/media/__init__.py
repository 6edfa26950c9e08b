"""Media input/output: decoding uploaded audio and images, writing WAV/PNG/JPEG.

The names below are loaded on first use: ``ai_pipeline.media.image_io`` alone (photos) does not pull
in PyAV (``audio_io``), which importing the settings would otherwise pay for.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"decode_audio": "audio_io", "write_wav": "audio_io",
            "encode_jpeg": "image_io", "encode_png": "image_io", "load_image": "image_io"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

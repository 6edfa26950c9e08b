"""Media input/output: decoding uploaded audio and images, writing WAV/PNG/JPEG."""

from ai_pipeline.media.audio_io import decode_audio, write_wav
from ai_pipeline.media.image_io import encode_jpeg, encode_png, load_image

__all__ = ["decode_audio", "encode_jpeg", "encode_png", "load_image", "write_wav"]

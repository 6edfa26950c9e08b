"""Make an avatar's SadTalker base loop offline:

    python -m ai_pipeline.talking_head.sadtalker photo.jpg [--seconds 4] [--size 256]

Uses ``talking_head.sadtalker_dir`` / ``data_dir`` from the settings (AVATAR_* env or avatar.yaml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.prepare import prepare_face
from ai_pipeline.talking_head.sadtalker.prepare import make_base_loop
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render an avatar's SadTalker base loop (cached per photo).")
    parser.add_argument("photo", type=Path)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--size", type=int, choices=(256, 512), default=None)
    args = parser.parse_args(argv)
    settings = Settings()
    head = settings.talking_head if isinstance(settings.talking_head, Wav2LipSettings) else Wav2LipSettings()
    folder = head.sadtalker_dir if head.sadtalker_dir.is_absolute() else settings.models_dir / head.sadtalker_dir
    face = prepare_face(args.photo.read_bytes(), size=head.size, min_face_px=settings.limits.min_face_px,
                        cache_dir=settings.avatars_dir, max_pixels=int(settings.limits.max_image_megapixels * 1e6))
    seconds = args.seconds or head.base_loop_seconds
    make_base_loop(face, settings.avatars_dir / face.avatar_id, folder, n_frames=int(round(seconds * head.fps)),
                   fps=head.fps, size=args.size or head.sadtalker_size, seed=head.seed, head_motion=head.head_motion,
                   blink_interval_s=head.blink_interval_s, device=head.device,
                   progress=lambda f, m: print(f"{f * 100:5.1f}% {m}", file=sys.stderr))
    print(settings.avatars_dir / face.avatar_id / "base_loop_sadtalker.npz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The default avatar photo, so a fresh checkout renders something without any upload.

It is the public-domain NASA portrait of astronaut Eileen Collins that scikit-image ships as
``skimage/data/astronaut.png``; setup copies it to ``data/avatars/default.png``, and this module
falls back to the package copy if that file is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path



def packaged_default_photo() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-image is not installed: the default avatar photo ships with it")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png"


def default_photo_path(avatars_dir: Path) -> Path:
    """Path of the default photo under ``avatars_dir`` (copied there on first use)."""
    path = avatars_dir / "default.png"
    if not path.is_file():
        avatars_dir.mkdir(parents=True, exist_ok=True)
        # copy then rename: a concurrent reader never sees a half-written file
        with tempfile.NamedTemporaryFile(dir=avatars_dir, suffix=".part", delete=False) as tmp:
            shutil.copyfileobj(packaged_default_photo().open("rb"), tmp)
        os.replace(tmp.name, path)
    return path

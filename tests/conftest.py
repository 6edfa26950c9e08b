"""Shared fixtures: real engines, real files; data written under a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.assets import packaged_default_photo
from ai_pipeline.settings import Settings


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def photo_bytes() -> bytes:
    return packaged_default_photo().read_bytes()


@pytest.fixture(scope="session")
def photo_rgb() -> np.ndarray:
    from skimage import data

    return data.astronaut()

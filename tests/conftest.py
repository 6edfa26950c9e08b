"""Shared fixtures: real engines, real files; data written under a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.assets import packaged_default_photo
from ai_pipeline.settings import Settings
from tests.devices import NO_CUDA, cuda_available, gpu_test_device


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` run on CUDA when there is one; without it they are skipped, saying why
    (``AVATAR_TEST_GPU_DEVICE=cpu`` runs them on the CPU instead, see tests/devices.py)."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items or gpu_test_device() == "cpu" or cuda_available():
        return
    for item in gpu_items:
        item.add_marker(pytest.mark.skip(reason=NO_CUDA))


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

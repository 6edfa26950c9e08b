"""Which torch device the tests run on: CUDA when this machine has one, else the CPU.

Tests marked ``gpu`` (tests/gpu/) run their engines on :func:`gpu_test_device`: ``cuda`` unless
``AVATAR_TEST_GPU_DEVICE=cpu`` forces them onto the CPU, which proves their plumbing on a machine
without a GPU. Without CUDA and without that override, tests/conftest.py skips them.
"""

from __future__ import annotations

import os
from functools import cache

GPU_DEVICE_ENV = "AVATAR_TEST_GPU_DEVICE"
NO_CUDA = "no CUDA device (torch.cuda.is_available() is False)"


@cache
def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device (asked once per test run)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def expected_device() -> str:
    """The device an engine set to ``device="auto"`` should pick here: "cuda" or "cpu"."""
    return "cuda" if cuda_available() else "cpu"


def gpu_test_device() -> str:
    """Where the ``gpu`` tests put their engines: "cuda" (default) or "cpu" (``AVATAR_TEST_GPU_DEVICE``)."""
    device = os.environ.get(GPU_DEVICE_ENV, "cuda").strip().lower() or "cuda"
    if device not in ("cuda", "cpu"):
        raise ValueError(f"{GPU_DEVICE_ENV}={device!r}: expected 'cuda' or 'cpu'")
    return device

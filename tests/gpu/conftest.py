"""Fixtures of the ``gpu`` tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture
def full_fp32() -> Iterator[None]:
    """float32 convolutions and matmuls in full precision on CUDA for this test.

    PyTorch lets cuDNN convolutions use TF32 (10-bit mantissas) by default. Through a randomly
    initialised generator that rounding alone moves pixels by several levels (measured on the CPU by
    rounding conv inputs and weights the same way), which would hide what these tests compare: the
    engine's own CUDA code path against its CPU one. The engines themselves do not change the setting.
    """
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved

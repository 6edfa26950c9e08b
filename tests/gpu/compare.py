"""How close an engine on the device under test must come to its CPU twin, by the precision it runs in.

The reference is always the CPU engine in fp32. On CUDA, fp32 (with TF32 off: the ``full_fp32``
fixture) differs from it only by the order kernels sum in; fp16 and bf16 differ more. For scale: the
same networks in fp16/bf16 on the CPU differ from fp32 by 0.003-0.15 levels on average, 0-1 at the
99th percentile.
"""

from __future__ import annotations

import numpy as np

from tests.devices import gpu_test_device

DEVICE = gpu_test_device()

# 8-bit images: mean and 99th percentile of |difference| in levels, over the pixels the engine draws
IMAGE_TOLERANCE = {"fp32": (0.5, 2.0), "fp16": (0.5, 2.0), "bf16": (1.0, 4.0)}
# float tensors: (rtol, atol) for torch.testing.assert_close
TENSOR_TOLERANCE = {"fp32": (1e-3, 1e-3), "fp16": (2e-2, 2e-2)}


def device_kind(reported: object) -> str:
    """``"cuda:0"`` -> ``"cuda"``: engines report a torch device string, tests compare the kind."""
    return str(reported).split(":")[0]


def assert_images_close(actual: np.ndarray, expected: np.ndarray, precision: str,
                        where: np.ndarray | None = None) -> None:
    """Same shape, both uint8, and close within ``IMAGE_TOLERANCE[precision]`` over ``where``
    (a boolean mask of the image's H x W; all pixels when None)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype == np.uint8, (actual.dtype, expected.dtype)
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    if where is not None:
        diff = diff[..., where, :]
    mean, p99 = IMAGE_TOLERANCE[precision]
    stats = {"precision": precision, "mean": float(diff.mean()), "p99": float(np.percentile(diff, 99)),
             "max": int(diff.max()), "pixels": diff.size // 3}
    assert stats["mean"] <= mean and stats["p99"] <= p99, stats

"""The project's port of the golden seeding rule reproduces the upstream test vectors."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
import torch

from tests.golden.reference import DATA
from tests.golden.seeding import RULE, SEED, seeded_values

VECTORS = json.loads((DATA / "seeded_selftest.json").read_text())


def _state() -> dict[str, torch.Tensor]:
    """Tensors of the names and shapes in the test vectors (including the spectral-norm triple)."""
    state = {v["name"]: torch.zeros(v["shape"]) for v in VECTORS["vectors"] if "shape" in v}
    state["sn.weight_orig"] = torch.zeros(4, 3, 3, 3)
    return state


def test_rule_and_seed_match_the_vectors() -> None:
    assert (VECTORS["rule"], VECTORS["seed"]) == (RULE, SEED)


@pytest.mark.parametrize("vector", [v for v in VECTORS["vectors"] if "shape" in v], ids=lambda v: v["name"])
def test_seeded_values_match(vector: dict) -> None:
    value = seeded_values(_state())[vector["name"]]
    if "crc32" in vector:
        assert zlib.crc32(vector["name"].encode()) == vector["crc32"]
        assert vector["crc32"] + SEED == vector["generator_seed"]
    first = value.reshape(-1)[: len(vector["first_values_float32"])].numpy()
    np.testing.assert_array_equal(first, np.float32(vector["first_values_float32"]))
    assert float(value.double().sum()) == pytest.approx(vector["sum_float64_of_float32"], rel=1e-12, abs=1e-12)


def test_spectral_norm_sigma() -> None:
    values = seeded_values(_state())
    w = values["sn.weight_orig"].reshape(4, -1)
    sigma = torch.dot(values["sn.weight_u"], w @ values["sn.weight_v"])
    expected = next(v["value"] for v in VECTORS["vectors"] if v["name"].startswith("sn: eval-mode sigma"))
    assert float(sigma) == pytest.approx(expected, abs=1e-6)
    # the same sigma as eval-mode torch spectral_norm computes from the stored u and v
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 4, 3, bias=False)).eval()
    with torch.no_grad():
        conv.weight_orig.copy_(values["sn.weight_orig"])
        conv.weight_u.copy_(values["sn.weight_u"])
        conv.weight_v.copy_(values["sn.weight_v"])
        x = torch.randn(1, 3, 5, 5)
        torch.testing.assert_close(conv(x), torch.nn.functional.conv2d(x, values["sn.weight_orig"] / sigma))

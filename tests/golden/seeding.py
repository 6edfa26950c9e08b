"""Name-seeded weights: every tensor of a state dict filled from its own key name (the golden rule).

The golden reference files (tests/data/golden, made with the upstream code) were computed with
weights produced by this rule. Each floating-point tensor gets its own CPU generator seeded with
``crc32(key) + SEED``, so the values depend only on the key, the shape and the seed: a network whose
key names and shapes equal upstream's gets bit-identical weights, in any module order.

- ``running_var``: ``0.5 + 0.5 * min(|r|, 2)``;
- ``running_mean`` and every tensor of dim <= 1: ``0.1 * r`` (``+ 1`` for 1-D ``.weight``: norm scales,
  PReLU slopes, StyleGAN noise strengths);
- everything else: ``r / sqrt(fan_in)`` with ``fan_in`` the size of one slice along dim 0;
- spectral norm (``<base>_orig``/``_u``/``_v``): ``u`` is the normalised draw of ``<base>_u`` and
  ``v = W^T u / ||W^T u||`` (half a power iteration), so that sigma is close to 1.

All arithmetic is float64, rounded to the tensor's dtype once at the end.
"""

from __future__ import annotations

import math
import zlib

import torch
from torch import nn

SEED = 20261205
RULE = "seeded-v1+sn"


def draw(name: str, shape: tuple[int, ...] | torch.Size) -> torch.Tensor:
    """The float64 standard normal draw of key ``name``."""
    generator = torch.Generator().manual_seed(zlib.crc32(name.encode("utf-8")) + SEED)
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float64)


def base_value(name: str, shape: tuple[int, ...] | torch.Size) -> torch.Tensor:
    """The base rule's float64 value of key ``name`` (no spectral-norm adjustment)."""
    r = draw(name, shape)
    if name.endswith("running_var"):
        return 0.5 + 0.5 * r.abs().clamp(max=2)
    if name.endswith("running_mean") or len(shape) <= 1:
        return 0.1 * r + (1.0 if name.endswith(".weight") and len(shape) == 1 else 0.0)
    return r / math.sqrt(math.prod(shape[1:]))


def spectral_pair(base: str, shape_orig: tuple[int, ...] | torch.Size) -> tuple[torch.Tensor, torch.Tensor]:
    """``(u, v)`` in float64 for the spectrally normalised weight ``<base>_orig`` of ``shape_orig``."""
    r_u = draw(base + "_u", shape_orig[:1])
    u = r_u / r_u.norm()
    w = base_value(base + "_orig", shape_orig).reshape(shape_orig[0], -1)
    wt_u = w.T @ u
    return u, wt_u / wt_u.norm()


def seeded_values(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The rule's value (in each tensor's dtype) for every floating-point entry of ``state``."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            continue
        base = name[:-2]
        if name.endswith(("_u", "_v")) and all(base + s in state for s in ("_orig", "_u", "_v")):
            u, v = spectral_pair(base, state[base + "_orig"].shape)
            value = u if name.endswith("_u") else v
        else:
            value = base_value(name, tensor.shape)
        out[name] = value.to(tensor.dtype)
    return out


@torch.no_grad()
def seed_module(module: nn.Module) -> nn.Module:
    """Overwrite every floating-point entry of ``module.state_dict()`` by the rule, in place."""
    state = module.state_dict(keep_vars=True)
    for name, value in seeded_values({k: v.detach() for k, v in state.items()}).items():
        state[name].data.copy_(value)
    return module

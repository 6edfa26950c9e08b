"""Reading a golden reference file and comparing a network's outputs with it.

A golden ``.npz`` (tests/data/golden, layout in its README) holds the upstream inputs ``in/*``, outputs
``out/*`` with a tolerance each (``meta.outputs[name].atol``), intermediate module outputs ``mid/*`` and
the seeded state-dict key list with per-key checksums. :func:`assert_outputs` checks every output at its
own tolerance, and the recorded intermediates at theirs; when something fails, the message names the
first intermediate (in the order our network produced them) that already differs, so a wrong layer is
found without a debugger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tests.golden.seeding import seed_module

DATA = Path(__file__).resolve().parent.parent / "data" / "golden"
MID_RTOL = 1e-4  # intermediates: relative to their max |value| (README: "about 1e-4")
HEAD = 16384  # a larger intermediate is stored as its first HEAD values and its per-channel mean


@dataclass
class Golden:
    """One reference file."""

    path: Path

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        with np.load(self.path) as z:
            return {k: z[k] for k in z.files}

    @cached_property
    def meta(self) -> dict:
        return json.loads(str(self.arrays["meta"]))

    @cached_property
    def state_dicts(self) -> dict[str, list[list]]:
        """``{model: [[key, shape, dtype, sum, sum_abs], ...]}`` in upstream order."""
        return {k: v["state_dict"] for k, v in json.loads(str(self.arrays["state_dict"])).items()}

    def input(self, name: str) -> torch.Tensor:
        return torch.from_numpy(self.arrays[f"in/{name}"].copy())

    def output(self, name: str) -> np.ndarray:
        return self.arrays[f"out/{name}"]

    @property
    def output_names(self) -> list[str]:
        return [k[len("out/"):] for k in self.arrays if k.startswith("out/")]

    def atol(self, name: str) -> float:
        return float(self.meta["outputs"][name]["atol"])

    def mid_names(self) -> set[str]:
        """Intermediate names without ``mid/`` and without the ``:head``/``:chanmean`` suffix."""
        names = set()
        for key in self.arrays:
            if key.startswith("mid/"):
                name = key[len("mid/"):]
                for suffix in (":head", ":chanmean"):
                    name = name.removesuffix(suffix)
                names.add(name)
        return names


def load(name: str) -> Golden:
    return Golden(DATA / f"{name}.npz")


def seeded(module: nn.Module, golden: Golden, model: str | None = None) -> nn.Module:
    """``module`` seeded by the rule and in eval mode, after checking that its key list, shapes and
    per-key checksums equal the stored ones (``model``: which stored state dict, when there are several)."""
    seed_module(module).eval()
    entries = golden.state_dicts[model] if model else next(iter(golden.state_dicts.values()))
    assert_state_dict(module.state_dict(), entries)
    return module


def assert_state_dict(state: Mapping[str, torch.Tensor], entries: list[list]) -> None:
    ours, theirs = list(state), [e[0] for e in entries]
    if ours != theirs:
        missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
        raise AssertionError(f"key list differs: missing {missing[:5]}, extra {extra[:5]}"
                             + ("" if missing or extra else ", same keys in another order"))
    for key, shape, _dtype, total, total_abs in entries:
        t = state[key].detach().double()
        assert list(t.shape) == list(shape), f"{key}: shape {list(t.shape)} != {shape}"
        got = (float(t.sum()), float(t.abs().sum()))
        assert np.allclose(got, (total, total_abs), rtol=1e-9, atol=1e-9), f"{key}: sums {got} != {(total, total_abs)}"


@dataclass
class Recorder:
    """Intermediate outputs captured during a forward pass, in the order they were produced."""

    captured: dict[str, torch.Tensor] = field(default_factory=dict)

    def add(self, name: str, value: torch.Tensor) -> None:
        self.captured[name] = value.detach().float().clone()


@contextmanager
def recording(module: nn.Module, golden: Golden, prefix: str = "", recorder: Recorder | None = None
              ) -> Iterator[Recorder]:
    """Hooks on every submodule of ``module`` whose name (after ``prefix``) has stored intermediates;
    calls are numbered ``@i`` when the file numbers them, dict/tuple outputs give ``:key``."""
    rec = recorder or Recorder()
    wanted = golden.mid_names()
    handles = []
    for path, sub in module.named_modules():
        name = prefix + path
        numbered = any(w.split(":")[0].startswith(name + "@") for w in wanted)
        if not numbered and not any(w == name or w.startswith(name + ":") for w in wanted):
            continue
        calls = [0]

        def hook(_m: nn.Module, _args: tuple, out: object, name: str = name, numbered: bool = numbered,
                 calls: list[int] = calls) -> None:
            key = f"{name}@{calls[0]}" if numbered else name
            calls[0] += 1
            if isinstance(out, torch.Tensor):
                rec.add(key, out)
            elif isinstance(out, Mapping):
                for k, v in out.items():
                    rec.add(f"{key}:{k}", v)
            elif isinstance(out, (tuple, list)):
                for i, v in enumerate(out):
                    rec.add(f"{key}:{i}", v)

        handles.append(sub.register_forward_hook(hook))
    try:
        yield rec
    finally:
        for h in handles:
            h.remove()


def mid_difference(golden: Golden, name: str, value: torch.Tensor) -> tuple[float, float] | None:
    """(max |diff|, tolerance) of one intermediate against the stored one, None if not stored."""
    a = golden.arrays
    ours = value.detach().double().numpy()
    if f"mid/{name}" in a:
        ref = a[f"mid/{name}"].astype(np.float64)
        if ref.shape != ours.shape:
            return float("inf"), 0.0
        return float(np.abs(ours - ref).max()), MID_RTOL * float(np.abs(ref).max())
    if f"mid/{name}:head" in a:
        head, chanmean = a[f"mid/{name}:head"].astype(np.float64), a[f"mid/{name}:chanmean"].astype(np.float64)
        if ours.ndim < 2 or ours.shape[1] != chanmean.shape[0]:
            return float("inf"), 0.0
        axes = tuple(i for i in range(ours.ndim) if i != 1)
        diff = max(np.abs(ours.reshape(-1)[:HEAD] - head).max(), np.abs(ours.mean(axis=axes) - chanmean).max())
        return float(diff), MID_RTOL * float(np.abs(head).max())
    return None


def first_divergence(golden: Golden, recorder: Recorder) -> str:
    """The first captured intermediate beyond its tolerance, described; or why none is named."""
    compared = 0
    for name, value in recorder.captured.items():
        found = mid_difference(golden, name, value)
        if found is None:
            continue
        compared += 1
        diff, tol = found
        if not diff <= tol:
            return f"first diverging intermediate: mid/{name} (max|diff| {diff:.3g} > {tol:.3g})"
    if compared == 0 and recorder.captured:
        return "first diverging intermediate: none of the recorded names is stored (module names differ?)"
    return f"all {compared} compared intermediates agree"


def output_differences(golden: Golden, produced: Mapping[str, torch.Tensor | np.ndarray]) -> dict[str, float]:
    """max |ours - ref| per output (inf on a shape mismatch)."""
    diffs = {}
    for name, value in produced.items():
        ours = value.detach().double().numpy() if isinstance(value, torch.Tensor) else np.asarray(value, np.float64)
        ref = golden.output(name).astype(np.float64)
        diffs[name] = float(np.abs(ours - ref).max()) if ours.shape == ref.shape else float("inf")
    return diffs


def assert_outputs(golden: Golden, produced: Mapping[str, torch.Tensor | np.ndarray],
                   recorder: Recorder | None = None, check_mids: bool = True) -> dict[str, float]:
    """Every produced output within its stored atol and, with ``check_mids``, every recorded intermediate
    within its tolerance (a small error deep in a network can pass at the output: the README's 1e-3
    perturbation inside RRDBNet's 23 blocks shows 0.3 atol there). On failure the message names the
    first diverging intermediate.

    Returns ``{output: max|diff| / atol}``."""
    diffs = output_differences(golden, produced)
    failed = [f"out/{n}: max|diff| {d:.3g} > atol {golden.atol(n):.3g}" for n, d in diffs.items()
              if not d <= golden.atol(n)]
    where = first_divergence(golden, recorder) if recorder is not None else "no intermediates recorded"
    if failed or (check_mids and where.startswith("first diverging")):
        raise AssertionError(f"{golden.path.name}: " + "; ".join(failed or ["outputs within atol"]) + f"; {where}")
    return {n: d / golden.atol(n) for n, d in diffs.items()}

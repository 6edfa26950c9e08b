"""The installs are locked: requirements.txt pins everything requirements.in asks for, setup installs it,
and the web app's package-lock.json holds every platform's native binaries (it installs anywhere)."""

from __future__ import annotations

import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ai_pipeline.settings import REPO_ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _pins(path: Path) -> dict[str, Version]:
    pins = {}
    for line in _requirement_lines(path):
        match = PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


@pytest.fixture(scope="module")
def lock() -> dict[str, Version]:
    return _pins(REPO_ROOT / "requirements.txt")


def test_lock_covers_the_input_within_its_ranges(lock):
    wanted = [Requirement(line) for line in _requirement_lines(REPO_ROOT / "requirements.in")]
    assert len(wanted) > 50
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is in requirements.in but not locked: run bash scripts/lock.sh"
        assert req.specifier.contains(lock[name], prereleases=True), f"lock {name}=={lock[name]} breaks {req}"


def test_lock_is_generated_not_edited():
    text = (REPO_ROOT / "requirements.txt").read_text()
    assert "bash scripts/lock.sh" in text.split("\n\n")[0], "requirements.txt is made by scripts/lock.sh"
    assert "+cpu" not in text and "--index-url" not in text and "--find-links" not in text


def test_no_deps_packages_are_exact_and_not_also_resolved(lock):
    nodeps = _pins(REPO_ROOT / "requirements-nodeps.txt")
    assert nodeps and not set(nodeps) & set(lock), "a --no-deps package must not also come from the lock"


def test_setup_installs_the_locked_bootstrap_versions(lock):
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text()
    for name in ("pip", "setuptools", "wheel", "torch"):
        assert f"{name}=={lock[name]}" in setup, f"setup.sh must install {name}=={lock[name]} (the lock's)"
    assert re.search(r"install[^\n]*-r requirements\.txt", setup) and "-r requirements.in" not in setup


def test_this_environment_is_the_lock(lock):
    """setup.sh installed exactly the locked versions (torch's local build label aside)."""
    wrong = {}
    for name, pinned in lock.items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            wrong[name] = (str(pinned), None)
            continue
        if installed.public != pinned.public:
            wrong[name] = (str(pinned), str(installed))
    assert not wrong, f"installed versions differ from the lock (re-run bash scripts/setup.sh): {wrong}"


# --- the web app ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def npm_lock() -> dict:
    return json.loads((REPO_ROOT / "frontend" / "package-lock.json").read_text())


def test_npm_lock_matches_package_json(npm_lock):
    manifest = json.loads((REPO_ROOT / "frontend" / "package.json").read_text())
    root = npm_lock["packages"][""]
    assert npm_lock["lockfileVersion"] == 3
    for field in ("dependencies", "devDependencies"):
        assert root.get(field, {}) == manifest.get(field, {}), f"package-lock.json is stale ({field}): npm install"
    for name in {**manifest["dependencies"], **manifest["devDependencies"]}:
        assert f"node_modules/{name}" in npm_lock["packages"], name


def test_npm_lock_holds_every_platforms_native_packages(npm_lock):
    """Native binaries are optional dependencies, one per platform: all of them must be in the lock, not
    just this machine's, or `npm ci` on a Mac or on Windows misses its binary (npm/cli#4828)."""
    packages = npm_lock["packages"]
    native = {path: entry for path, entry in packages.items() if entry.get("os") or entry.get("cpu")}
    missing = []
    for path, entry in packages.items():
        for dep in entry.get("optionalDependencies", {}):
            if not any(p == f"node_modules/{dep}" or p.endswith(f"/node_modules/{dep}") for p in packages):
                missing.append(f"{path or 'frontend'} -> {dep}")
    assert not missing, f"optional dependencies absent from package-lock.json: {missing}"
    platforms = {(tuple(e.get("os", [])), tuple(e.get("cpu", []))) for e in native.values()}
    for wanted in ((("darwin",), ("arm64",)), (("win32",), ("x64",)), (("linux",), ("x64",)), (("linux",), ("arm64",))):
        assert wanted in platforms, f"no native package for {wanted} in package-lock.json"
    assert not any("resolved" in e and "registry.npmjs.org" not in e["resolved"] and e["resolved"].startswith("http")
                   for e in packages.values()), "a lock entry points at a private registry"

"""Readers for the deployment files, as Docker reads them: Dockerfile stages, .dockerignore, compose.

There is no Docker engine on the development and CI machines, so the tests check the files statically
with these readers plus the real tools that run without an engine (hadolint, the compose-spec schema).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

from ai_pipeline.settings import REPO_ROOT

DOCKERFILES = {"cpu": REPO_ROOT / "docker" / "Dockerfile.cpu", "gpu": REPO_ROOT / "docker" / "Dockerfile.gpu"}
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SETUP_SH = REPO_ROOT / "scripts" / "setup.sh"


# --- Dockerfiles -------------------------------------------------------------------------------------


@dataclass
class Instruction:
    name: str  # upper case: RUN, COPY...
    value: str  # continuation lines joined
    line: int

    def words(self) -> list[str]:
        return shlex.split(self.value)

    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for the shell form."""
        import json

        text = self.value.strip()
        if self.name == "HEALTHCHECK":
            text = text.split("CMD", 1)[1].strip() if "CMD" in text else ""
        if text.startswith("["):
            return json.loads(text)
        return None


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]

    def env(self) -> dict[str, str]:
        """ENV (``K=V ...`` form) of this stage, later ones winning."""
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for word in ins.words():
                key, _, value = word.partition("=")
                out[key] = value
        return out

    def args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in self.all("ARG"):
            key, _, value = ins.value.strip().partition("=")
            out[key] = value
        return out

    def workdir(self) -> str:
        dirs = self.all("WORKDIR")
        return dirs[-1].value.strip() if dirs else "/"


def copy_parts(ins: Instruction) -> tuple[dict[str, str], list[str], str]:
    """(flags, sources, destination) of a COPY/ADD in the shell form."""
    words = ins.words()
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words[:-1], words[-1]


def stages(path: Path) -> list[Stage]:
    """The build stages of a Dockerfile, in order (instructions before the first FROM are dropped)."""
    with path.open("rb") as fh:
        parser = DockerfileParser(fileobj=fh, env_replace=False)
        structure = parser.structure
    out: list[Stage] = []
    for item in structure:
        name, value = item["instruction"].upper(), item["value"]
        if name == "FROM":
            words = value.split()
            out.append(Stage(words[2] if len(words) > 2 and words[1].lower() == "as" else str(len(out)), words[0]))
        elif out and name != "COMMENT":
            out[-1].instructions.append(Instruction(name, value, item["startline"] + 1))
    return out


def run_commands(path: Path) -> list[tuple[str, str]]:
    """(stage name, command) of every RUN; BuildKit flags such as ``--mount=...`` removed."""
    out = []
    for stage in stages(path):
        for ins in stage.all("RUN"):
            out.append((stage.name, re.sub(r"^(--\S+\s+)+", "", ins.value.strip())))
    return out


# --- scripts/setup.sh ----------------------------------------------------------------------------------


def setup_steps() -> list[str]:
    """The step names of scripts/setup.sh, in run order (``--list``)."""
    out = subprocess.run(["bash", str(SETUP_SH), "--list"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def setup_apt_packages() -> list[str]:
    match = re.search(r"^APT_PACKAGES=\(([^)]*)\)", SETUP_SH.read_text(), re.M)
    assert match, "APT_PACKAGES=(...) not found in scripts/setup.sh"
    return match.group(1).split()


def setup_step_inputs() -> dict[str, set[str]]:
    """Repository files each setup step reads (scripts it runs, requirements files, the project for ``-e .``,
    the frontend folder), from the step's ``if wants NAME; then ... fi`` block."""
    text = SETUP_SH.read_text()
    out: dict[str, set[str]] = {}
    blocks = re.split(r"^if wants (\w+); then$", text, flags=re.M)
    for name, body in zip(blocks[1::2], blocks[2::2]):
        files = set(re.findall(r"\b(scripts/[\w./-]+|requirements[\w-]*\.txt)", body))
        if re.search(r"install (--no-deps )?-e \.", body):
            files |= {"pyproject.toml", "README.md", "ai_pipeline", "backend"}
        if "cd frontend" in body:
            files.add("frontend/package.json")
        out[name] = files
    return out


def copied_before(stage: "Stage", line: int) -> set[str]:
    """Paths (relative to the stage's WORKDIR) copied from the build context before ``line``."""
    workdir = Path(stage.workdir())
    out: set[str] = set()
    for ins in stage.all("COPY"):
        flags, sources, dest = copy_parts(ins)
        if ins.line >= line or "from" in flags:
            continue
        target = workdir / dest
        for source in sources:
            # a folder's contents go into dest; a file goes to dest, or into it when dest is a folder
            into = (REPO_ROOT / source).is_file() and (dest.endswith("/") or len(sources) > 1)
            path = target / Path(source).name if into else target
            out.add(path.relative_to(workdir).as_posix() if path.is_relative_to(workdir) else path.as_posix())
    return out


SETUP_CALL = re.compile(r"(?:bash\s+)?scripts/setup\.sh\s+--only[= ](\S+)")


def setup_calls(command: str) -> list[list[str]]:
    """The step lists of every ``scripts/setup.sh --only a,b`` in a shell command."""
    return [m.group(1).split(",") for m in SETUP_CALL.finditer(command)]


# --- .dockerignore -------------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regex over slash paths."""
    pattern = os.path.normpath(pattern.strip().lstrip("/"))
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


class DockerIgnore:
    """Which repository paths are in the build context (the last matching pattern wins; a pattern that
    matches a parent folder matches everything in it), as Docker's patternmatcher does."""

    def __init__(self, path: Path) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            self.rules.append((negated, _pattern_regex(line[1:] if negated else line)))

    def excluded(self, rel: str) -> bool:
        parts = Path(rel).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for negated, regex in self.rules:
            if any(regex.match(c) for c in candidates):
                excluded = not negated
        return excluded


# --- docker-compose.yml --------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ``${V}``, ``${V:-default}``, ``${V-default}``, ``${V:?error}``,
    ``$$`` (a literal ``$``). A missing required variable raises ``KeyError`` with its message."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("-", ":-"):
            return arg if unset else value  # type: ignore[return-value]
        if op in ("?", ":?"):
            if unset:
                raise KeyError(f"{name}: {arg}")
            return value  # type: ignore[return-value]
        return value or ""

    return _INTERPOLATION.sub(sub, text)


def _interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(n, env) for n in node]
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, env) for k, v in node.items()}
    return node


def load_compose(env: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml with anchors merged and variables substituted from ``env``."""
    return _interpolate_tree(yaml.safe_load(COMPOSE_FILE.read_text()), env)


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {k: str(v) for k, v in environment.items()}

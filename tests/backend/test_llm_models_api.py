"""The settings API lists the GGUF models `avatar models add-llm` registered and switches the live
llama.cpp engine to one; a path that is not registered is refused. Real app, real models: the models
dir mirrors the real one (links), so the registry written here stays in the test's folder."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from ai_pipeline.llm import gguf_registry
from ai_pipeline.settings import Settings
from backend.app import create_app
from tests.gguf_files import embedded_gguf, linked_copy


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm-models")
    real = Settings().models_dir
    models_dir = root / "models"
    models_dir.mkdir()
    for child in real.iterdir():
        if child.name != "llm":
            (models_dir / child.name).symlink_to(child)
    embedded = embedded_gguf()
    linked_copy(embedded, models_dir / "llm" / embedded.name)
    own = linked_copy(embedded, root / "downloads" / "own.gguf")
    entry = gguf_registry.add(own, models_dir, name="Своя", context=2048, test=False)  # the CLI test self-tests
    settings = Settings(data_dir=root / "data", models_dir=models_dir)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client, entry, root


def _settled(client, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/api/settings").json()
        if not body["reloading"]:
            return body
        time.sleep(0.2)
    raise AssertionError("reload did not finish")


def test_registered_models_are_listed_and_one_can_be_chosen(app_env):
    client, entry, root = app_env
    body = client.get("/api/settings/llm-models").json()
    assert [m["name"] for m in body["models"]] == ["embedded", "Своя"]
    embedded, own = body["models"]
    assert embedded["embedded"] and embedded["present"] and body["current"] == embedded["model"]
    assert own["model"] == entry.path and own["n_ctx"] == 2048 and own["present"] and "Q4_K_M" in own["label_ru"]
    assert client.get("/api/settings").json()["options"]["llm"]["model"] == embedded["model"]

    # a path nobody registered is refused, and nothing changes
    stray = linked_copy(root / "downloads" / "own.gguf", root / "elsewhere" / "stray.gguf")
    r = client.put("/api/settings", json={"options": {"llm": {"model": str(stray)}}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_settings", r.text
    assert not (root / "data" / "ui_settings.json").exists()

    r = client.put("/api/settings", json={"options": {"llm": {"model": own["model"], "n_ctx": own["n_ctx"]}}})
    assert r.status_code == 200, r.text
    assert _settled(client)["options"]["llm"] == {"model": entry.path, "n_ctx": 2048}
    llm = client.get("/api/health").json()["engines"]["llm"]
    assert llm["model"] == entry.path and llm["n_ctx"] == 2048
    assert client.get("/api/settings/llm-models").json()["current"] == entry.path

    # and back to the embedded model
    r = client.put("/api/settings", json={"options": {"llm": {"model": embedded["model"], "n_ctx": embedded["n_ctx"]}}})
    assert r.status_code == 200, r.text
    _settled(client)
    assert client.get("/api/health").json()["engines"]["llm"]["model"].endswith(embedded["model"])

"""The persona and memory REST API on a small app with a real SQLite file."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ai_pipeline.settings import Settings
from backend.db import init_db
from backend.db.conversations import add_message, start_session
from backend.db.memory import upsert_facts
from backend.errors import install_error_handlers
from backend.routes import personas
from backend.runtime import Runtime

ANYA = {"name": "Аня", "age": 12, "temperament": "любознательная, добрая, энергичная",
        "interests": ["рисование", "музыка", "чтение"], "speech_style": "разговорный, с эмодзи, простые предложения"}


@pytest.fixture
def app(tmp_path):
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(personas.router)
    app.state.runtime = runtime = Runtime(Settings(data_dir=tmp_path))  # not started: only its database
    runtime.db = init_db(f"sqlite:///{tmp_path / 'avatar.db'}")
    yield app
    runtime.db.close()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def test_persona_crud(client):
    r = client.post("/api/personas", json=ANYA)
    assert r.status_code == 201, r.text
    anya = r.json()
    assert anya["name"] == "Аня" and anya["gender"] == "female" and anya["avatar_id"] is None
    assert anya["created_at"].endswith(("Z", "+00:00"))
    pid = anya["id"]
    assert [p["id"] for p in client.get("/api/personas").json()] == [pid]
    assert client.get(f"/api/personas/{pid}").json() == anya

    patched = client.patch(f"/api/personas/{pid}", json={"age": 13, "avatar_id": "0123456789abcdef"}).json()
    assert (patched["age"], patched["avatar_id"]) == (13, "0123456789abcdef")
    assert patched["temperament"] == ANYA["temperament"]
    assert client.patch(f"/api/personas/{pid}", json={"avatar_id": None}).json()["avatar_id"] is None

    replaced = client.put(f"/api/personas/{pid}", json={"name": "Боря", "age": 10, "gender": "male",
                                                        "interests": "футбол, лего"}).json()
    assert (replaced["name"], replaced["gender"], replaced["interests"], replaced["temperament"]) == \
        ("Боря", "male", ["футбол", "лего"], "")

    assert client.delete(f"/api/personas/{pid}").status_code == 204
    r = client.get(f"/api/personas/{pid}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found" and r.json()["error"]["message"] == "Персонаж не найден."
    assert client.get("/api/personas").json() == []


@pytest.mark.parametrize("body, field", [
    ({"name": "", "age": 12}, "Имя"),
    ({"name": "Аня", "age": 200}, "Возраст"),
    ({"name": "Аня", "age": 12, "gender": "robot"}, "Пол"),
    ({"name": "Аня", "age": 12, "notes": "я" * 3000}, "Заметки"),
])
def test_invalid_personas_get_russian_errors(client, body, field):
    r = client.post("/api/personas", json=body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "bad_persona" and field in error["message"]


def test_malformed_bodies_are_rejected(client):
    assert client.post("/api/personas", json={"name": "Аня"}).json()["error"]["code"] == "bad_request"
    assert client.post("/api/personas", json={**ANYA, "colour": "red"}).status_code == 422
    pid = client.post("/api/personas", json=ANYA).json()["id"]
    r = client.patch(f"/api/personas/{pid}", json={"name": None})
    assert r.status_code == 422 and "Имя" in r.json()["error"]["message"]
    assert client.patch("/api/personas/999", json={"age": 5}).status_code == 404
    assert client.put("/api/personas/999", json=ANYA).status_code == 404
    assert client.delete("/api/personas/999").status_code == 404


def test_sessions_history_and_facts(app, client):
    pid = client.post("/api/personas", json=ANYA).json()["id"]
    with app.state.runtime.db.session() as s:
        old = start_session(s, pid)
        add_message(s, old.id, "user", "Привет, меня зовут Петя")
        new = start_session(s, pid)
        ids = [add_message(s, new.id, "assistant" if i % 2 else "user", f"реплика {i}").id for i in range(5)]
        upsert_facts(s, pid, {"name": "Петя", "likes": "футбол"})

    sessions = client.get(f"/api/personas/{pid}/sessions").json()
    assert [x["id"] for x in sessions] == [new.id, old.id]
    assert [x["message_count"] for x in sessions] == [5, 1] and sessions[1]["title"] == "Привет, меня зовут Петя"

    page = client.get(f"/api/sessions/{new.id}/messages", params={"limit": 2}).json()
    assert [m["id"] for m in page["items"]] == ids[3:] and page["next_before"] == ids[3]
    page = client.get(f"/api/sessions/{new.id}/messages", params={"limit": 10, "before": page["next_before"]}).json()
    assert [m["text"] for m in page["items"]] == ["реплика 0", "реплика 1", "реплика 2"] and page["next_before"] is None
    assert page["items"][0]["role"] == "user"
    assert client.get("/api/sessions/999/messages").status_code == 404
    assert client.get(f"/api/sessions/{new.id}/messages", params={"limit": 0}).status_code == 422

    facts = client.get(f"/api/personas/{pid}/facts").json()
    assert [(f["key"], f["value"]) for f in facts] == [("likes", "футбол"), ("name", "Петя")]
    assert client.delete(f"/api/personas/{pid}/facts/likes").status_code == 204
    assert [f["key"] for f in client.get(f"/api/personas/{pid}/facts").json()] == ["name"]
    assert client.delete(f"/api/personas/{pid}/facts/likes").json()["error"]["code"] == "not_found"
    assert client.get("/api/personas/999/facts").status_code == 404
    assert client.get("/api/personas/999/sessions").status_code == 404

    assert client.delete(f"/api/personas/{pid}").status_code == 204
    assert client.get(f"/api/sessions/{new.id}/messages").status_code == 404  # cascaded


def test_routes_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/personas", "/api/personas/{persona_id}", "/api/personas/{persona_id}/sessions",
            "/api/sessions/{session_id}/messages", "/api/personas/{persona_id}/facts",
            "/api/personas/{persona_id}/facts/{key}"} <= set(paths)
    assert set(paths["/api/personas/{persona_id}"]) == {"get", "put", "patch", "delete"}


def test_only_a_changed_character_is_prepared_again(client, app):
    """The persona's prompt is prepared when it is created and again only when the prompt changes (a server
    that has not started its worker shows the requests as queued)."""
    warmups = app.state.runtime.warmups
    persona = client.post("/api/personas", json=ANYA).json()["id"]
    assert client.get(f"/api/personas/{persona}/warmup").json()["status"] == "queued"
    asked = dict(warmups._asked)
    same = {**ANYA, "greeting": "Салют!"}  # the wizard saves the whole form again: only the greeting differs
    assert client.put(f"/api/personas/{persona}", json=same).status_code == 200
    assert client.patch(f"/api/personas/{persona}", json={"greeting": "Хай!"}).status_code == 200
    assert warmups._asked == asked
    assert client.patch(f"/api/personas/{persona}", json={"temperament": "задумчивая"}).status_code == 200
    assert warmups._asked[persona] == asked[persona] + 1
    assert client.delete(f"/api/personas/{persona}").status_code == 204
    assert warmups.status(persona) is None
    assert client.get(f"/api/personas/{persona}/warmup").status_code == 404

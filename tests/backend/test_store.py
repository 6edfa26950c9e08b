"""The SQLite store on real files: round trips, memory across restarts, migrations, validation."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from ai_pipeline.errors import InputError
from ai_pipeline.llm.facts import extract_facts
from backend.db import Database, init_db
from backend.db.conversations import (
    add_message,
    list_sessions,
    messages_page,
    recent_messages,
    start_session,
    to_chat,
)
from backend.db.errors import NotFound
from backend.db.memory import delete_fact, get_facts, get_summary, remember_facts, set_summary, upsert_facts
from backend.db.migrate import alembic_config, current_revision
from backend.db.models import Base, Message, UserFact
from backend.db.personas import create_persona, delete_persona, get_persona, list_personas, persona_card, update_persona
from backend.db.seed import seed_default_persona

ANYA = {"name": "Аня", "age": 12, "interests": ["рисование", "музыка"], "speech_style": "простые предложения"}


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'data' / 'avatar.db'}"


@pytest.fixture
def db(url):
    database = init_db(url)
    yield database
    database.close()


def test_persona_round_trip(db: Database):
    with db.session() as s:
        created = create_persona(s, {**ANYA, "interests": "рисование, музыка ,, чтение"})
    with db.session() as s:
        p = get_persona(s, created.id)
    assert (p.name, p.age, p.gender, p.language) == ("Аня", 12, "female", "ru")
    assert p.interests == ["рисование", "музыка", "чтение"]
    assert p.avatar_id is None and p.created_at.tzinfo == UTC
    with db.session() as s:
        update_persona(s, p.id, {"temperament": "весёлая", "avatar_id": "0123456789abcdef"})
        assert [x.name for x in list_personas(s)] == ["Аня"]
    with db.session() as s:
        p2 = get_persona(s, p.id)
        assert (p2.temperament, p2.avatar_id, p2.name) == ("весёлая", "0123456789abcdef", "Аня")
        assert p2.updated_at >= p.updated_at
        card = persona_card(p2)
    assert card.name == "Аня" and card.interests == ("рисование", "музыка", "чтение") and card.is_child


@pytest.mark.parametrize("fields, fragment", [
    ({"name": "", "age": 12}, "Имя"),
    ({"name": "Я" * 61, "age": 12}, "Имя"),
    ({"name": "Аня", "age": 0}, "Возраст"),
    ({"name": "Аня", "age": 121}, "Возраст"),
    ({"name": "Аня", "age": True}, "Возраст"),
    ({"name": "Аня"}, "возраст"),
    ({"name": "Аня", "age": 12, "gender": "robot"}, "Пол"),
    ({"name": "Аня", "age": 12, "greeting": "п" * 301}, "Приветствие"),
    ({"name": "Аня", "age": 12, "notes": "п" * 2001}, "Заметки"),
    ({"name": "Аня", "age": 12, "interests": ["x"] * 21}, "Интересов"),
    ({"name": "Аня", "age": 12, "language": "en"}, "русский"),
    ({"name": "Аня", "age": 12, "avatar_id": "../etc/passwd"}, "идентификатор"),
    ({"name": "Аня", "age": 12, "colour": "red"}, "Неизвестные"),
])
def test_persona_validation_speaks_russian(db: Database, fields, fragment):
    with db.session() as s, pytest.raises(InputError) as err:
        create_persona(s, fields)
    assert fragment in err.value.message_ru and err.value.http_status == 422
    with db.session() as s:
        assert list_personas(s) == []


def test_update_rejects_bad_values_and_missing_ids(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        with pytest.raises(InputError):
            update_persona(s, p.id, {"name": None})
        with pytest.raises(NotFound) as err:
            update_persona(s, p.id + 100, {"age": 13})
    assert err.value.http_status == 404 and "не найден" in err.value.message_ru


def test_sessions_and_messages(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        first = start_session(s, p.id)
        add_message(s, first.id, "assistant", "Привет! Я Аня")
        add_message(s, first.id, "user", "Привет, меня зовут Петя и я люблю футбол и рисовать комиксы про котов")
        add_message(s, first.id, "assistant", "Здорово!", emotion="happy", timings={"llm_s": 0.5})
        second = start_session(s, p.id, title="Второй")
        sessions = list_sessions(s, p.id)
    assert [x.id for x in sessions] == [second.id, first.id]
    assert sessions[1].message_count == 3 and sessions[0].message_count == 0 and sessions[0].last_message_at is None
    assert sessions[1].title.startswith("Привет, меня зовут Петя") and sessions[1].title.endswith("…")
    assert sessions[0].title == "Второй"
    with db.session() as s:
        msgs = recent_messages(s, first.id, limit=2)
        assert [m.text for m in msgs] == ["Привет, меня зовут Петя и я люблю футбол и рисовать комиксы про котов",
                                          "Здорово!"]
        assert msgs[1].timings == {"llm_s": 0.5} and msgs[1].emotion == "happy"
        assert [m.role for m in to_chat(msgs)] == ["user", "assistant"]
        assert [m.text for m in recent_messages(s, first.id, after_id=msgs[0].id)] == ["Здорово!"]
        budget = recent_messages(s, first.id, limit=10, budget_tokens=10, count_tokens=len)
        assert [m.text for m in budget] == ["Здорово!"]
        with pytest.raises(InputError):
            add_message(s, first.id, "system", "ты бот")
        with pytest.raises(InputError):
            add_message(s, first.id, "user", "   ")
        with pytest.raises(NotFound):
            add_message(s, 999, "user", "кто здесь?")
        with pytest.raises(NotFound):
            start_session(s, 999)


def test_history_pages_go_back_in_time(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        sess = start_session(s, p.id)
        ids = [add_message(s, sess.id, "user" if i % 2 else "assistant", f"сообщение {i}").id for i in range(7)]
        page, before = messages_page(s, sess.id, limit=3)
        assert [m.id for m in page] == ids[4:] and before == ids[4]
        page, before = messages_page(s, sess.id, before_id=before, limit=3)
        assert [m.id for m in page] == ids[1:4] and before == ids[1]
        page, before = messages_page(s, sess.id, before_id=before, limit=3)
        assert [m.id for m in page] == ids[:1] and before is None


def test_facts_upsert_merge_and_forget(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        sess = start_session(s, p.id)
        m1 = add_message(s, sess.id, "user", "Меня зовут Петя, я люблю футбол и не люблю суп")
        facts = remember_facts(s, p.id, extract_facts(m1.text), source_message_id=m1.id)
        assert facts == {"name": "Петя", "likes": "футбол", "dislikes": "суп"}
        m2 = add_message(s, sess.id, "user", "Зови меня Павлом. А теперь я люблю суп")
        facts = remember_facts(s, p.id, extract_facts(m2.text), source_message_id=m2.id)
        assert facts == {"name": "Павел", "likes": "футбол, суп"}
        name = s.scalar(select(UserFact).where(UserFact.key == "name"))
        assert name.source_message_id == m2.id
        upsert_facts(s, p.id, {"city": "в Казани"})
        assert s.scalar(select(text("count(*)")).select_from(UserFact)) == 3  # unique (persona, key): no duplicates
        delete_fact(s, p.id, "city")
        with pytest.raises(NotFound):
            delete_fact(s, p.id, "city")
        with pytest.raises(InputError):
            upsert_facts(s, p.id, {"": "x"})
        other = create_persona(s, {"name": "Боря", "age": 10, "gender": "male"})
        assert get_facts(s, other.id) == {}  # facts are per persona


def test_max_facts_drops_the_least_recently_updated(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        for i in range(5):
            upsert_facts(s, p.id, {f"k{i}": str(i)}, max_facts=3)
        assert get_facts(s, p.id) == {"k2": "2", "k3": "3", "k4": "4"}


def test_summaries_per_scope(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        sess = start_session(s, p.id)
        msg = add_message(s, sess.id, "user", "Привет")
        assert get_summary(s, p.id) is None
        set_summary(s, p.id, "Говорили о школе.")
        set_summary(s, p.id, "Говорили о школе и котах.", up_to_message_id=msg.id)
        set_summary(s, p.id, "Этот разговор: привет.", session_id=sess.id, up_to_message_id=msg.id)
        persona_level = get_summary(s, p.id)
        session_level = get_summary(s, p.id, session_id=sess.id)
    assert (persona_level.text, persona_level.up_to_message_id) == ("Говорили о школе и котах.", msg.id)
    assert session_level.text == "Этот разговор: привет." and session_level.id != persona_level.id


def test_deleting_a_persona_deletes_its_memory(db: Database):
    with db.session() as s:
        p = create_persona(s, ANYA)
        keep = create_persona(s, {"name": "Боря", "age": 10})
        sess = start_session(s, p.id)
        add_message(s, sess.id, "user", "Привет")
        upsert_facts(s, p.id, {"name": "Петя"})
        set_summary(s, p.id, "итог", session_id=sess.id)
        delete_persona(s, p.id)
        assert s.scalar(select(text("count(*)")).select_from(Message)) == 0
        assert [x.id for x in list_personas(s)] == [keep.id]
        for table in ("sessions", "user_facts", "summaries"):
            assert s.execute(text(f"select count(*) from {table}")).scalar() == 0


def test_memory_survives_a_restart(url):
    first = init_db(url)
    with first.session() as s:
        p = create_persona(s, ANYA)
        sess = start_session(s, p.id)
        add_message(s, sess.id, "user", "Меня зовут Петя")
        add_message(s, sess.id, "assistant", "Приятно познакомиться, Петя!")
        upsert_facts(s, p.id, {"name": "Петя"})
        set_summary(s, p.id, "Петя любит футбол.")
        ids = p.id, sess.id
    first.close()

    second = init_db(url)  # a new engine on the same file; migrations run again and change nothing
    try:
        with second.session() as s:
            assert get_persona(s, ids[0]).name == "Аня"
            assert [m.text for m in recent_messages(s, ids[1])] == ["Меня зовут Петя", "Приятно познакомиться, Петя!"]
            assert get_facts(s, ids[0]) == {"name": "Петя"}
            assert get_summary(s, ids[0]).text == "Петя любит футбол."
    finally:
        second.close()


def test_migrations_are_idempotent_and_match_the_models(db: Database, url):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(db.engine) == head
    init_db(url).close()
    init_db(url).close()
    assert current_revision(db.engine) == head
    with db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_in_memory_sqlite_is_refused():
    with pytest.raises(ValueError, match="in-memory"):
        init_db("sqlite://")


def test_seed_creates_anya_once(db: Database):
    with db.session() as s:
        anya = seed_default_persona(s)
        assert anya is not None and (anya.name, anya.age) == ("Аня", 12)
        assert "рисование" in anya.interests and anya.greeting
        assert seed_default_persona(s) is None
        assert len(list_personas(s)) == 1


def test_async_callers_use_a_worker_thread(db: Database):
    async def turn() -> list[str]:
        p = await db.call(create_persona, ANYA)
        sess = await db.call(start_session, p.id)
        await db.call(add_message, sess.id, "user", "Привет из корутины")
        return [m.text for m in await db.call(recent_messages, sess.id)]

    assert asyncio.run(turn()) == ["Привет из корутины"]

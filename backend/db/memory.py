"""Memory repository: facts about the user and rolling summaries, per persona.

Functions take an ORM ``Session`` and commit their own work.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ai_pipeline.errors import InputError
from ai_pipeline.llm.facts import merge_facts
from backend.db.errors import NotFound
from backend.db.models import Summary, UserFact
from backend.db.personas import get_persona

KEY_CHARS = 40
VALUE_CHARS = 500


def list_facts(db: Session, persona_id: int) -> list[UserFact]:
    """The persona's facts about the user, in key order."""
    get_persona(db, persona_id)
    return list(db.scalars(select(UserFact).where(UserFact.persona_id == persona_id).order_by(UserFact.key)))


def get_facts(db: Session, persona_id: int) -> dict[str, str]:
    """Facts as ``{key: value}`` (what the prompt builder takes)."""
    return {f.key: f.value for f in list_facts(db, persona_id)}


def upsert_facts(db: Session, persona_id: int, facts: Mapping[str, str], *, source_message_id: int | None = None,
                 max_facts: int | None = None) -> dict[str, str]:
    """Insert or replace the given facts; beyond ``max_facts`` the least recently updated go. Returns all facts."""
    for key, value in facts.items():
        if not key or len(key) > KEY_CHARS or not value.strip() or len(value) > VALUE_CHARS:
            raise InputError("Неверный факт: пустой ключ или значение, либо слишком длинные.",
                             f"bad fact {key!r}", code="bad_fact")
    existing = {f.key: f for f in list_facts(db, persona_id)}
    for key, value in facts.items():
        value = value.strip()
        fact = existing.get(key)
        if fact is None:
            db.add(UserFact(persona_id=persona_id, key=key, value=value, source_message_id=source_message_id))
        elif fact.value != value:
            fact.value, fact.source_message_id = value, source_message_id
    db.flush()
    if max_facts is not None:
        stale = select(UserFact.id).where(UserFact.persona_id == persona_id) \
            .order_by(UserFact.updated_at.desc(), UserFact.id.desc()).offset(max_facts)
        db.execute(delete(UserFact).where(UserFact.id.in_(stale)))
    db.commit()
    return get_facts(db, persona_id)


def remember_facts(db: Session, persona_id: int, extracted: Mapping[str, str], *,
                   source_message_id: int | None = None, max_facts: int | None = None) -> dict[str, str]:
    """Fold facts from :func:`ai_pipeline.llm.facts.extract_facts` into what is known (list facts merge)."""
    if not extracted:
        return get_facts(db, persona_id)
    known = get_facts(db, persona_id)
    merged = merge_facts(known, extracted)
    changed = {k: v for k, v in merged.items() if known.get(k) != v}
    for gone in set(known) - set(merged):  # e.g. "dislikes" emptied by a new like
        delete_fact(db, persona_id, gone)
    return upsert_facts(db, persona_id, changed, source_message_id=source_message_id, max_facts=max_facts)


def delete_fact(db: Session, persona_id: int, key: str) -> None:
    """Forget one fact, or ``NotFound``."""
    get_persona(db, persona_id)
    fact = db.scalar(select(UserFact).where(UserFact.persona_id == persona_id, UserFact.key == key))
    if fact is None:
        raise NotFound("Такого факта нет.", f"fact {key!r} of persona {persona_id} not found")
    db.delete(fact)
    db.commit()


def get_summary(db: Session, persona_id: int, *, session_id: int | None = None) -> Summary | None:
    """The rolling summary of one session, or with ``session_id=None`` of all the persona's conversations."""
    scope = Summary.session_id.is_(None) if session_id is None else Summary.session_id == session_id
    return db.scalar(select(Summary).where(Summary.persona_id == persona_id, scope))


def set_summary(db: Session, persona_id: int, text: str, *, session_id: int | None = None,
                up_to_message_id: int | None = None) -> Summary:
    """Replace the summary of that scope; ``up_to_message_id`` is the last message it covers."""
    get_persona(db, persona_id)
    summary = get_summary(db, persona_id, session_id=session_id)
    if summary is None:
        summary = Summary(persona_id=persona_id, session_id=session_id)
        db.add(summary)
    summary.text, summary.up_to_message_id = text.strip(), up_to_message_id
    db.commit()
    return summary

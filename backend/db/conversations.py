"""Conversation repository: sessions and their messages.

Functions take an ORM ``Session`` and commit their own work. Message lists come oldest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ai_pipeline.chunks import ChatMessage
from ai_pipeline.errors import InputError
from backend.db.errors import NotFound
from backend.db.ids import MAX_ID, valid_id
from backend.db.models import ConversationSession, Message
from backend.db.personas import get_persona

ROLES = ("user", "assistant")
MAX_MESSAGE_CHARS = 20_000
TITLE_CHARS = 60


@dataclass(frozen=True)
class SessionInfo:
    """A session as the history list shows it."""

    id: int
    persona_id: int
    title: str | None
    started_at: datetime
    last_message_at: datetime | None
    message_count: int


def start_session(db: Session, persona_id: int, title: str | None = None) -> ConversationSession:
    """Open a new conversation with the persona."""
    get_persona(db, persona_id)
    session = ConversationSession(persona_id=persona_id, title=(title or "").strip()[:120] or None)
    db.add(session)
    db.commit()
    return session


def get_session(db: Session, session_id: int) -> ConversationSession:
    """The session, or ``NotFound``."""
    session = db.get(ConversationSession, session_id) if valid_id(session_id) else None
    if session is None:
        raise NotFound("Разговор не найден.", f"session {session_id} not found")
    return session


def list_sessions(db: Session, persona_id: int) -> list[SessionInfo]:
    """All sessions of a persona, newest first, with their message counts."""
    get_persona(db, persona_id)
    stats = (select(Message.session_id, func.count(Message.id).label("n"), func.max(Message.id).label("last_id"))
             .group_by(Message.session_id).subquery())
    last = select(Message.created_at).where(Message.id == stats.c.last_id).scalar_subquery()
    rows = db.execute(
        select(ConversationSession, func.coalesce(stats.c.n, 0), last)
        .outerjoin(stats, stats.c.session_id == ConversationSession.id)
        .where(ConversationSession.persona_id == persona_id)
        .order_by(ConversationSession.id.desc())
    )
    return [SessionInfo(s.id, s.persona_id, s.title, s.started_at, last_at, n) for s, n, last_at in rows]


def add_message(db: Session, session_id: int, role: str, text: str, *, emotion: str | None = None,
                timings: dict[str, float] | None = None) -> Message:
    """Store one turn. The first user message also titles an untitled session."""
    if role not in ROLES:
        raise InputError("Неизвестная роль сообщения.", f"role must be one of {ROLES}, got {role!r}",
                         code="bad_message")
    text = _message_text(text)
    session = get_session(db, session_id)
    if role == "user" and session.title is None:
        session.title = text[:TITLE_CHARS].rstrip() + ("…" if len(text) > TITLE_CHARS else "")
    message = Message(session_id=session_id, role=role, text=text, emotion=emotion, timings=timings)
    db.add(message)
    db.commit()
    return message


def save_reply(db: Session, session_id: int, message_id: int | None, text: str, *, emotion: str | None = None,
               timings: dict[str, float] | None = None) -> int:
    """Store the avatar's reply so far: a new assistant message, or ``message_id`` updated. Returns its id.

    Called before each reply chunk goes out, so what was said survives any interruption or restart."""
    if message_id is None:
        message = add_message(db, session_id, "assistant", text, emotion=emotion, timings=timings)
        return message.id
    message = db.get(Message, message_id)
    if message is None or message.session_id != session_id or message.role != "assistant":
        raise NotFound("Сообщение не найдено.", f"assistant message {message_id} of session {session_id} not found")
    message.text, message.emotion, message.timings = _message_text(text), emotion, timings
    db.commit()
    return message.id


def continue_user_message(db: Session, session_id: int, more: str) -> Message | None:
    """The user went on speaking after their message was taken as finished (a pause mid-sentence):
    ``more`` is appended to the session's last user message and the replies after it (cut short
    before they were heard) are deleted. None when the session has no user message."""
    last = db.scalar(select(Message).where(Message.session_id == session_id, Message.role == "user")
                     .order_by(Message.id.desc()).limit(1))
    if last is None:
        return None
    for later in db.scalars(select(Message).where(Message.session_id == session_id, Message.id > last.id)):
        db.delete(later)
    if more.strip():
        last.text = _message_text(f"{last.text} {more.strip()}")
    db.commit()
    return last


def _message_text(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"Сообщение должно быть непустым и не длиннее {MAX_MESSAGE_CHARS} символов.",
                         "empty or too long message", code="bad_message")
    return text


def recent_messages(db: Session, session_id: int, *, limit: int = 12, after_id: int | None = None,
                    budget_tokens: int | None = None,
                    count_tokens: Callable[[str], int] | None = None) -> list[Message]:
    """The newest ``limit`` messages (after ``after_id``, e.g. a summary's last message), oldest first.

    With ``budget_tokens`` and ``count_tokens`` the oldest are dropped until the texts fit the budget.
    """
    query = select(Message).where(Message.session_id == session_id)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    newest = list(db.scalars(query.order_by(Message.id.desc()).limit(limit)))
    if budget_tokens is not None and count_tokens is not None:
        kept, used = [], 0
        for message in newest:
            used += count_tokens(message.text)
            if used > budget_tokens:
                break
            kept.append(message)
        newest = kept
    return newest[::-1]


def messages_page(db: Session, session_id: int, *, before_id: int | None = None,
                  limit: int = 50) -> tuple[list[Message], int | None]:
    """One page of history going back in time: (messages oldest first, ``before_id`` of the next page or None)."""
    get_session(db, session_id)
    query = select(Message).where(Message.session_id == session_id)
    if before_id is not None and before_id < 1:
        return [], None  # no id is below 1
    if before_id is not None and before_id <= MAX_ID:  # every id is below a larger one
        query = query.where(Message.id < before_id)
    rows = list(db.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit][::-1]
    return rows, (rows[0].id if more and rows else None)


def to_chat(messages: Iterable[Message]) -> list[ChatMessage]:
    """Stored messages as prompt messages."""
    return [ChatMessage(m.role, m.text) for m in messages]

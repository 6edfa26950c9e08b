"""The database handle: a sync SQLAlchemy engine plus a session factory, migrated on start-up.

SQLite gets WAL (readers never wait for the writer), foreign keys (cascading deletes), a busy
timeout, and real transactions around DDL too, so a crash mid-migration leaves no half schema.
Queries are small, so a sync engine is enough: ``def`` routes run in FastAPI's threadpool and async
code uses :meth:`Database.call`, which runs one unit of work in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ai_pipeline import workers

P = ParamSpec("P")
T = TypeVar("T")


def make_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and the pragmas above."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database in (None, "", ":memory:"):
        raise ValueError("in-memory SQLite is not supported: every connection would see its own empty database")
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below), DDL included
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer is active (no busy wait).
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@dataclass
class Database:
    """What ``Runtime.db`` holds: the engine and a factory of ORM sessions."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, engine: Engine) -> Database:
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    def session(self) -> Session:
        """A new ORM session (use it as a context manager); repository functions commit their own work."""
        return self.sessions()

    async def call(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` in the IO pool, e.g. ``await db.call(add_message, ...)``
        (never behind renders and encodes, which have their own pool)."""

        def work() -> T:
            with self.session() as session:
                return fn(session, *args, **kwargs)

        return await workers.run("io", work)

    def close(self) -> None:
        self.engine.dispose()


def init_db(url: str) -> Database:
    """Open the database at ``url`` and migrate it to the newest schema (safe to call on every start)."""
    from backend.db.migrate import upgrade

    # Migrations run with foreign keys off: SQLite's batch table rebuilds would otherwise cascade deletes.
    migration_engine = make_engine(url, foreign_keys=False)
    try:
        upgrade(migration_engine)
    finally:
        migration_engine.dispose()
    return Database.open(make_engine(url))

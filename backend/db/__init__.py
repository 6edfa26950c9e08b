"""Persistence: personas, conversations and what the avatar remembers (SQLAlchemy + Alembic).

``init_db(url)`` migrates and opens the database; the repository functions live in ``personas``,
``conversations`` and ``memory``; ``seed.seed_default_persona`` creates the example persona.
"""

from backend.db.engine import Database, init_db

__all__ = ["Database", "init_db"]

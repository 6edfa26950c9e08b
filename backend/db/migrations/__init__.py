"""Alembic migrations of the avatar database (run by ``backend.db.init_db``)."""

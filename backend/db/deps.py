"""Database dependencies for routes, as ``Annotated`` aliases (``app.state.db`` comes from ``init_db``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backend.db.engine import Database


def get_database(request: Request) -> Database:
    return request.app.state.db


def get_db_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """One ORM session per request, closed afterwards (repository functions commit their own work)."""
    with database.session() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
DbSessionDep = Annotated[Session, Depends(get_db_session)]

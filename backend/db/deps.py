"""Database dependencies for routes, as ``Annotated`` aliases (the database is ``Runtime.db``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from backend.db.engine import Database
from backend.deps import RuntimeDep


def get_database(runtime: RuntimeDep) -> Database:
    return runtime.db


def get_db_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """One ORM session per request, closed afterwards (repository functions commit their own work)."""
    with database.session() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
DbSessionDep = Annotated[Session, Depends(get_db_session)]

"""Alembic, configured in code (no alembic.ini): migrations live in ``backend/db/migrations/``.

``init_db`` calls :func:`upgrade` on every start. Developers add a revision after changing
``models.py`` with ``python -m backend.db.migrate revision -m "what changed" --autogenerate``
(compared against the database of the current settings, which must be at head).
"""

from __future__ import annotations

import argparse

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPT_LOCATION = "backend.db:migrations"  # a package resource, found wherever the package is installed


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations; ``url`` is used when no connection is handed over."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` in one transaction."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def main(argv: list[str] | None = None) -> None:
    """``python -m backend.db.migrate upgrade|revision``, on the database of the current settings."""
    from ai_pipeline.settings import Settings
    from backend.db.engine import init_db

    parser = argparse.ArgumentParser(prog="python -m backend.db.migrate")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("upgrade", help="migrate the database to head")
    rev = sub.add_parser("revision", help="create a new revision file")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true")
    args = parser.parse_args(argv)
    url = Settings().db_url
    if args.cmd == "upgrade":
        init_db(url).close()
    else:
        command.revision(alembic_config(url), message=args.message, autogenerate=args.autogenerate)


if __name__ == "__main__":
    main()

"""Alembic environment: the schema of every model on routing.db.Base.

Run through `hotline db upgrade` (or `alembic` with `-x url=...`); building the Flask app
is never needed to migrate.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import hotline.models  # noqa: F401  (declares the tables on the shared base)
import routing.models  # noqa: F401
from routing.db import Base, make_engine

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get(
        "url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass -x url=... or run `hotline db upgrade`")
    return url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it, dropping the old one and renaming; with
        # foreign keys on, dropping a table other rows refer to fails. The PRAGMA only
        # takes effect outside a transaction, hence before it starts; checked after.
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.commit()  # end the transaction the statement began
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        connection.commit()
        if broken:
            raise RuntimeError(f"migration left {len(broken)} rows with broken references")


if context.is_offline_mode():
    run_offline()
else:
    run_online()

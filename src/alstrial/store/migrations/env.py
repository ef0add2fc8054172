"""Alembic environment: runs on a connection handed over by ``alstrial.store.migrate`` or a URL."""

from __future__ import annotations

from alembic import context

from alstrial.store import models  # noqa: F401  (registers every table on the metadata)
from alstrial.store.base import Base
from alstrial.store.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()

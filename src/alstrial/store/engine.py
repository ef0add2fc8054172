"""Engines and sessions for the capture database (SQLite file by default, PostgreSQL for many sites).

SQLite connections get WAL, foreign keys and ``synchronous=FULL`` on every connect. Write
transactions start with ``BEGIN IMMEDIATE`` so writers queue for the database lock up front instead
of failing halfway (this is what serialises audit-trail appends on SQLite); read transactions (an
engine with the ``alstrial_read`` execution option, see ``services.context.CaptureDB``) start
with a deferred ``BEGIN``, so that under WAL they never wait for a writer or for each other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

#: Execution option marking an engine (or connection) whose transactions only read.
READ_OPTION = "alstrial_read"


def normalise_url(url: str) -> str:
    """Accept a bare file path as SQLite and plain ``postgresql://`` as psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for the capture database's guarantees."""
    sa_url = make_url(normalise_url(url))
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(sa_url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if sa_url.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database URL {url!r}: use a SQLite file or postgresql+psycopg://")
    return create_engine(sa_url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_OPTION) else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)

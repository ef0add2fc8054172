"""Engines and sessions for the capture database (SQLite file by default, PostgreSQL for many sites).

SQLite connections get WAL, foreign keys and ``synchronous=FULL`` on every connect. Write
transactions start with ``BEGIN IMMEDIATE`` so writers queue for the database lock up front instead
of failing halfway (this is what serialises audit-trail appends on SQLite); read transactions (an
engine with the ``alstrial_read`` execution option, see ``services.context.CaptureDB``) start
with a deferred ``BEGIN``, so that under WAL they never wait for a writer or for each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from alstrial.errors import AlstrialError

#: Execution option marking an engine (or connection) whose transactions only read.
READ_OPTION = "alstrial_read"


class DatabaseURLError(AlstrialError):
    """A database URL that alstrial cannot use: unsupported, malformed, or a file that is not a trial database."""


_SQLITE_HEADER = b"SQLite format 3\x00"


def _sqlite_path(url: str) -> str | None:
    """The file path of a bare path or ``sqlite:///`` URL (a ``?`` in a bare path is part of the name)."""
    if "://" not in url:
        return url
    if url.startswith("sqlite:///"):
        return make_url(url).database
    return None


def normalise_url(url: str) -> str:
    """Accept a bare file path as SQLite and plain ``postgresql://`` as psycopg 3."""
    if "://" not in url:
        return URL.create("sqlite", database=url).render_as_string()
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, must_exist: bool = False, scratch: bool = False, **kwargs: Any) -> Engine:
    """An engine configured for the capture database's guarantees.

    ``must_exist`` refuses a SQLite path that does not name an existing SQLite file, instead of
    quietly creating an empty database there. ``scratch`` (SQLite only) skips the disk flush of each
    commit, for a database built in one go and thrown away if the build does not finish (the demo's
    staging copy): a crash can lose its last commits, so it must end with :func:`make_durable`.
    """
    if not isinstance(url, str) or not url.strip():
        raise DatabaseURLError("no database given: pass a SQLite file path or a postgresql:// URL")
    path = _sqlite_path(url)
    try:
        sa_url = (
            URL.create("sqlite", database=path)
            if path is not None and "://" not in url
            else make_url(normalise_url(url))
        )
    except exc.ArgumentError:
        raise DatabaseURLError(f"not a database URL: {url!r}; use a SQLite file path or postgresql://…") from None
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        if sa_url.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        elif must_exist:
            _check_sqlite_file(str(sa_url.database))
        engine = create_engine(sa_url, **kwargs)
        _configure_sqlite(engine, synchronous="OFF" if scratch else "FULL")
        return engine
    if backend != "postgresql":
        raise DatabaseURLError(f"unsupported database URL {url!r}: use a SQLite file or postgresql+psycopg://")
    try:
        return create_engine(sa_url, **kwargs)
    except (exc.ArgumentError, ImportError) as e:
        raise DatabaseURLError(f"cannot use database URL {url!r}: {e}") from None


def _check_sqlite_file(path: str) -> None:
    file = Path(path)
    if not file.is_file():
        raise DatabaseURLError(f"no database file at {path!r} (set up a trial database there first)")
    with file.open("rb") as fh:
        header = fh.read(len(_SQLITE_HEADER))
    if header and header != _SQLITE_HEADER:
        raise DatabaseURLError(f"{path!r} is not a SQLite database file")


def make_durable(engine: Engine, *, wait_ms: int = 30_000) -> None:
    """Write everything a ``scratch`` SQLite engine committed into the database file and flush it to
    disk, so the file holds the whole build on its own: a WAL checkpoint under ``synchronous=FULL``
    syncs the database file itself. Waits up to ``wait_ms`` for other connections to finish."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
        busy, _, _ = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cur.close()
    finally:
        raw.close()
    if busy:
        raise RuntimeError("the database is still in use: its write-ahead log could not be checkpointed")


def _configure_sqlite(engine: Engine, *, synchronous: str = "FULL") -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_OPTION) else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)

"""SQLite engine settings: every commit flushed to disk, except a scratch build that is made durable once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from alstrial.store.engine import make_durable, make_engine


def _synchronous(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_a_capture_database_flushes_every_commit(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "a.db"))
    assert _synchronous(engine) == 2  # FULL
    engine.dispose()


def test_a_scratch_build_skips_the_flushes_and_is_then_made_durable(tmp_path: Path) -> None:
    path = tmp_path / "scratch.db"
    engine = make_engine(str(path), scratch=True)
    assert _synchronous(engine) == 0  # OFF
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
    wal = Path(f"{path}-wal")
    assert wal.exists() and wal.stat().st_size > 0  # committed into the write-ahead log only
    make_durable(engine)
    assert wal.stat().st_size == 0  # checkpointed into the database file and truncated
    engine.dispose()
    wal.unlink(missing_ok=True)  # the file alone holds everything
    fresh = make_engine(str(path), must_exist=True)
    with fresh.connect() as conn:
        assert conn.execute(text("SELECT sum(x) FROM t")).scalar_one() == 6
    fresh.dispose()


def test_make_durable_refuses_a_database_still_in_use(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    engine = make_engine(str(path), scratch=True)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")  # a reader holding its snapshot keeps the log from being truncated
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with pytest.raises(RuntimeError, match="still in use"):
        make_durable(engine, wait_ms=100)
    reader.execute("COMMIT")
    reader.close()
    make_durable(engine)  # once the reader is gone
    engine.dispose()

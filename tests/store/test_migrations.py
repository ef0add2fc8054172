"""The packaged migrations build exactly the models' schema, with the audit guards, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc, select, text

from alstrial.store import Base, make_engine
from alstrial.store.migrate import MIGRATIONS_DIR
from alstrial.store.models import Site, Trial


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert diff == []
    assert version == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()  # one head, applied


def test_sqlite_connections_get_the_safety_pragmas(tmp_path) -> None:
    engine = make_engine(str(tmp_path / "x.db"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_timestamps_are_aware_utc_and_naive_ones_are_refused(db_url: str) -> None:
    from sqlalchemy.orm import Session

    engine = make_engine(db_url)
    local = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with Session(engine) as s, s.begin():
        s.add(
            Trial(
                code="T",
                title="t",
                protocol_toml="",
                protocol_sha256="0" * 64,
                randomization_seed="1",
                created_at=local,
                locked=False,
            )
        )
    with Session(engine) as s:
        got = s.execute(select(Trial.created_at)).scalar_one()
    assert got == local and got.tzinfo == UTC and got.hour == 10 and got.microsecond == 123456
    with Session(engine) as s, pytest.raises(exc.StatementError, match="naive datetime"), s.begin():
        s.add(
            Trial(
                code="U",
                title="t",
                protocol_toml="",
                protocol_sha256="0" * 64,
                randomization_seed="1",
                created_at=datetime(2025, 1, 1),
                locked=False,
            )
        )
    engine.dispose()


def test_foreign_keys_are_enforced(db_url: str) -> None:
    from sqlalchemy.orm import Session

    from alstrial.store.models import User

    engine = make_engine(db_url)
    with Session(engine) as s, pytest.raises(exc.IntegrityError), s.begin():
        s.add(
            User(
                username="x",
                full_name="x",
                role="investigator",
                site_id=999,
                password_hash="h",
                active=True,
                created_at=datetime.now(UTC),
            )
        )
    with Session(engine) as s, s.begin():
        s.add(Site(code="S1", name="one", country="US", active=True))
    engine.dispose()


def test_the_database_refuses_update_and_delete_on_the_audit_trail(capture_db) -> None:
    from conftest import make_trial

    make_trial(capture_db)
    for sql in ("UPDATE audit_record SET reason = 'x' WHERE seq = 1", "DELETE FROM audit_record WHERE seq = 1"):
        with pytest.raises(exc.DatabaseError, match="append-only"), capture_db.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    if capture_db.engine.dialect.name == "postgresql":
        with pytest.raises(exc.DatabaseError, match="append-only"), capture_db.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_record CASCADE")
    with capture_db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_record").scalar() > 10


def test_downgrade_removes_everything(db_url: str) -> None:
    from alembic import command

    from alstrial.store.migrate import alembic_config, upgrade

    engine = make_engine(db_url)
    cfg = alembic_config(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata)  # tables are gone
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_0002_keeps_eligibility_data_across_downgrade_and_upgrade(capture_db) -> None:
    """A pending run-in outcome (passed NULL) becomes 'not passed' on downgrade; rows survive both ways."""
    from alembic import command

    from alstrial.store.migrate import alembic_config, upgrade
    from conftest import make_trial

    t = make_trial(capture_db)
    code = t.screen()
    query = text(
        "SELECT criterion_id, outcome, passed FROM eligibility_outcome o JOIN participant p ON p.id = o.participant_id "
        "WHERE p.code = :code ORDER BY o.id"
    )
    with capture_db.engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(query, {"code": code})]
    assert ("IN6", "pending", None) in before and len(before) == 9
    cfg = alembic_config(capture_db.engine.url.render_as_string(hide_password=False))
    with capture_db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with capture_db.engine.connect() as conn:
        down = [tuple(r) for r in conn.execute(query, {"code": code})]
    assert down == [(c, o, False if p is None else bool(p)) for c, o, p in before]
    upgrade(capture_db.engine)
    with capture_db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert [(c, o, bool(p)) for c, o, p in conn.execute(query, {"code": code})] == [
            (c, o, bool(p)) for c, o, p in down
        ]

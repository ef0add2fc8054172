"""`alstrial backup` / `restore`: consistent while others write, restored row for row, nothing overwritten."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from alstrial import services as sv
from alstrial.cli import app
from alstrial.store import make_engine
from alstrial.store.backup import BackupError, backup, manifest_of, read_manifest, restore
from conftest import SCREEN_DAY, alsfrs_items


def _keep_writing(trial, stop: threading.Event) -> list[int]:
    """A coordinator recording visits while the backup runs."""
    done: list[int] = []
    code = trial.randomized()
    sc = trial["site_coordinator"]
    day0 = SCREEN_DAY + timedelta(days=90)
    visits = ("W0", "W4", "W8", "W12", "W16", "W20", "W24", "W28")
    for n, visit in enumerate(visits):
        if stop.is_set():
            break
        sv.record_visit(trial.db, sc, code, visit, day0 + timedelta(days=28 * n))
        sv.record_alsfrs(trial.db, sc, code, visit, alsfrs_items(40 - n))
        done.append(n)
    return done


def test_a_backup_taken_during_writes_restores_exactly_and_verifies(
    trial, db_url: str, tmp_path: Path, request
) -> None:
    trial.at_day0()
    trial.screen(eligible=False)
    stop = threading.Event()
    writer = threading.Thread(target=_keep_writing, args=(trial, stop))
    writer.start()
    try:
        manifest = backup(db_url, tmp_path / "trial.backup")
    finally:
        stop.set()
        writer.join(120)
    assert read_manifest(tmp_path / "trial.backup") == manifest
    assert manifest.tables["participant"]["rows"] >= 2 and manifest.audit_head
    target = _empty_target(db_url, tmp_path)
    restored = restore(tmp_path / "trial.backup", target)
    assert restored.tables == manifest.tables and restored.audit_head == manifest.audit_head
    out = CliRunner().invoke(app, ["verify", "--db", target])
    assert out.exit_code == 0 and "VERIFIED" in out.output
    # nothing is overwritten: neither the backup file nor a database that holds data
    with pytest.raises(BackupError, match="already exists"):
        backup(db_url, tmp_path / "trial.backup")
    with pytest.raises(BackupError, match=r"already exists|not empty"):
        restore(tmp_path / "trial.backup", target)


def test_a_backup_that_does_not_match_its_manifest_is_refused(sqlite_trial, tmp_path: Path) -> None:
    """A SQLite backup edited after it was written: the restore finds the difference and says where."""
    trial = sqlite_trial
    trial.at_day0()
    trial.screen(eligible=False)
    source = str(trial.db.engine.url.database)
    backup(source, tmp_path / "b.db")
    engine = make_engine(str(tmp_path / "b.db"), must_exist=True)
    with engine.begin() as conn:
        conn.execute(text("UPDATE site SET name = 'edited'"))
    engine.dispose()
    with pytest.raises(BackupError, match="differs from the backup in: site"):
        restore(tmp_path / "b.db", str(tmp_path / "restored.db"))


def test_backup_and_restore_commands(sqlite_trial, tmp_path: Path) -> None:
    trial = sqlite_trial
    trial.at_day0()
    trial.screen(eligible=False)
    source = str(trial.db.engine.url.database)
    runner = CliRunner()
    made = runner.invoke(app, ["backup", "--db", source, "--out", str(tmp_path / "c.db")])
    assert made.exit_code == 0 and "backed up" in made.output
    back = runner.invoke(app, ["restore", "--from", str(tmp_path / "c.db"), "--db", str(tmp_path / "r.db")])
    assert back.exit_code == 0 and "VERIFIED" in back.output
    missing = runner.invoke(app, ["restore", "--from", str(tmp_path / "none.db"), "--db", str(tmp_path / "x.db")])
    assert missing.exit_code == 2 and "no backup file" in missing.output and not (tmp_path / "x.db").exists()
    engine = make_engine(str(tmp_path / "r.db"), must_exist=True)
    with engine.connect() as conn:
        assert manifest_of(conn, "sqlite").tables == read_manifest(tmp_path / "c.db").tables
    engine.dispose()


def _empty_target(db_url: str, tmp_path: Path) -> str:
    if "://" not in db_url:
        return str(tmp_path / "restored.db")
    import psycopg

    admin = db_url.rsplit("/", 1)[0] + "/test"
    name = db_url.rsplit("/", 1)[1] + "_restore"
    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return db_url.rsplit("/", 1)[0] + f"/{name}"

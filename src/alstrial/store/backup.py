"""Online backup and verified restore of a trial database.

SQLite uses its online backup API (a consistent copy while writers keep working); PostgreSQL uses
``pg_dump`` in custom format on a snapshot exported from a REPEATABLE READ transaction, so the
dump and the manifest describe exactly the same moment. Every backup writes ``FILE`` and
``FILE.manifest.json``: row count and SHA-256 of every table (rows in key order, canonical JSON)
and the audit chain's head. A restore refuses to overwrite a database that holds data, restores,
and then recomputes the manifest of the result: any difference is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, exc, select, text

from alstrial.errors import AlstrialError
from alstrial.store.base import Base
from alstrial.store.engine import make_engine
from alstrial.store.types import utcnow

MANIFEST_SUFFIX = ".manifest.json"


class BackupError(AlstrialError):
    """A backup or restore that cannot be done or did not reproduce the data exactly."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: per-table row counts and digests, and the audit head."""

    backend: str
    tables: dict[str, dict[str, Any]]
    audit_head: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "tables": self.tables,
            "audit_head": self.audit_head,
            "created_at": self.created_at,
        }

    def rows(self) -> int:
        return sum(t["rows"] for t in self.tables.values())

    def __str__(self) -> str:
        return f"{len(self.tables)} tables, {self.rows()} rows, audit head {self.audit_head}"


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat() if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def manifest_of(conn: Connection, backend: str) -> Manifest:
    """Row counts and digests of every table of the schema, read in the caller's transaction."""
    tables: dict[str, dict[str, Any]] = {}
    for table in Base.metadata.sorted_tables:
        digest = hashlib.sha256()
        count = 0
        order = list(table.primary_key.columns) or list(table.columns)
        for row in conn.execute(select(table).order_by(*order)):
            count += 1
            digest.update(json.dumps([_plain(v) for v in row], default=str, separators=(",", ":")).encode())
            digest.update(b"\n")
        tables[table.name] = {"rows": count, "sha256": digest.hexdigest()}
    head = conn.execute(text("SELECT hash FROM audit_head")).scalar()
    return Manifest(backend, tables, head, utcnow().isoformat())


def _write_manifest(out: Path, manifest: Manifest) -> Path:
    path = out.with_name(out.name + MANIFEST_SUFFIX)
    path.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(backup: Path) -> Manifest:
    path = backup.with_name(backup.name + MANIFEST_SUFFIX)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(data["backend"], data["tables"], data["audit_head"], data["created_at"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"the backup's manifest {path} is missing or unreadable ({exc})") from None


@contextmanager
def _database_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (exc.DBAPIError, exc.TimeoutError) as e:
        detail = e.orig if isinstance(e, exc.DBAPIError) else e
        raise BackupError(f"{what}: the database cannot be reached or refused the operation ({detail})") from None


def backup(url: str, out: Path) -> Manifest:
    """Back up the database at ``url`` into ``out`` (refusing to overwrite) and write its manifest."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file for the backup")
    out.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, must_exist=True)
    try:
        with _database_errors("backup"):
            manifest = (
                _backup_sqlite(engine, out) if engine.dialect.name == "sqlite" else _backup_postgresql(engine, out)
            )
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    _write_manifest(out, manifest)
    return manifest


def _backup_sqlite(engine: Engine, out: Path) -> Manifest:
    source_path = engine.url.database
    assert source_path is not None
    partial = out.with_name(out.name + ".partial")
    src = sqlite3.connect(source_path, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # the online backup API: a consistent copy while others write
    finally:
        dst.close()
        src.close()
    os.replace(partial, out)
    copy = make_engine(str(out), must_exist=True)
    try:
        with copy.connect() as conn:
            return manifest_of(conn, "sqlite")
    finally:
        copy.dispose()


def _pg_dsn(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _backup_postgresql(engine: Engine, out: Path) -> Manifest:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed (Debian package postgresql-client)")
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        manifest = manifest_of(conn, "postgresql")
        done = subprocess.run(
            ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={out}", "--no-owner", _pg_dsn(engine)],
            capture_output=True,
            text=True,
            check=False,
        )
        conn.rollback()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return manifest


def restore(backup_file: Path, url: str) -> Manifest:
    """Restore ``backup_file`` into the (new or empty) database at ``url`` and check it against the manifest."""
    backup_file = Path(backup_file)
    if not backup_file.is_file():
        raise BackupError(f"no backup file at {backup_file}")
    expected = read_manifest(backup_file)
    if expected.backend == "sqlite":
        target = make_engine(url)
        if target.dialect.name != "sqlite":
            target.dispose()
            raise BackupError("a SQLite backup restores into a SQLite file; give a file path")
        path = Path(str(target.url.database))
        target.dispose()
        if path.exists() and path.stat().st_size > 0:
            raise BackupError(f"{path} already exists; restore into a new file (nothing is overwritten)")
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".restoring", delete=False) as tmp:
            partial = Path(tmp.name)
        shutil.copyfile(backup_file, partial)
        os.replace(partial, path)
    else:
        _restore_postgresql(backup_file, url)
    engine = make_engine(url, must_exist=True)
    try:
        with _database_errors("restore"), engine.connect() as conn:
            found = manifest_of(conn, expected.backend)
    finally:
        engine.dispose()
    differences = [
        name
        for name in sorted(set(expected.tables) | set(found.tables))
        if expected.tables.get(name) != found.tables.get(name)
    ]
    if differences or found.audit_head != expected.audit_head:
        raise BackupError(f"the restored database differs from the backup in: {', '.join(differences) or 'audit head'}")
    return found


def _restore_postgresql(backup_file: Path, url: str) -> None:
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed (Debian package postgresql-client)")
    engine = make_engine(url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        raise BackupError("a PostgreSQL backup restores into a PostgreSQL database; give a postgresql:// URL")
    try:
        with _database_errors("restore"), engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).scalar_one()
        if tables:
            raise BackupError("the target database is not empty; restore into a new, empty database")
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_pg_dsn(engine)}", str(backup_file)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")

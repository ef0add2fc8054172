"""Database triggers that refuse UPDATE, DELETE (and TRUNCATE) on the audit trail.

Installed by the initial migration; kept here so tests and repair tools use the same SQL.
"""

from __future__ import annotations

from sqlalchemy import Connection

_SQLITE_CREATE = [
    """CREATE TRIGGER IF NOT EXISTS audit_record_no_update BEFORE UPDATE ON audit_record
       BEGIN SELECT RAISE(ABORT, 'audit_record is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_record_no_delete BEFORE DELETE ON audit_record
       BEGIN SELECT RAISE(ABORT, 'audit_record is append-only: DELETE refused'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_record_no_update",
    "DROP TRIGGER IF EXISTS audit_record_no_delete",
]
_PG_CREATE = [
    """CREATE OR REPLACE FUNCTION alstrial_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_record is append-only: %% refused', TG_OP; END $$""",
    "DROP TRIGGER IF EXISTS audit_record_no_change ON audit_record",
    """CREATE TRIGGER audit_record_no_change BEFORE UPDATE OR DELETE ON audit_record
       FOR EACH ROW EXECUTE FUNCTION alstrial_audit_append_only()""",
    "DROP TRIGGER IF EXISTS audit_record_no_truncate ON audit_record",
    """CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
       FOR EACH STATEMENT EXECUTE FUNCTION alstrial_audit_append_only()""",
]
_PG_DROP = [
    "DROP TRIGGER IF EXISTS audit_record_no_change ON audit_record",
    "DROP TRIGGER IF EXISTS audit_record_no_truncate ON audit_record",
]


def install_audit_guards(conn: Connection) -> None:
    """Create the append-only triggers (idempotent)."""
    for sql in _PG_CREATE if conn.dialect.name == "postgresql" else _SQLITE_CREATE:
        conn.exec_driver_sql(sql)


def drop_audit_guards(conn: Connection) -> None:
    """Remove the triggers (downgrade, and tamper tests only)."""
    for sql in _PG_DROP if conn.dialect.name == "postgresql" else _SQLITE_DROP:
        conn.exec_driver_sql(sql)

"""`alstrial audit verify` and `alstrial audit log` (both backends)."""

from __future__ import annotations

import json

from cli_mount import capture_cli
from typer.testing import CliRunner

from alstrial.store.audit_guard import drop_audit_guards, install_audit_guards
from conftest import PASSWORD, make_trial

ENV = {"ALSTRIAL_PASSWORD": PASSWORD}


def run(*args: str):
    return CliRunner().invoke(capture_cli(), list(args), env=ENV)


def test_verify_passes_then_names_the_tampered_record(capture_db, db_url: str) -> None:
    t = make_trial(capture_db)
    code = t.randomized()
    ok = run("audit", "verify", "--db", db_url)
    assert ok.exit_code == 0 and "intact" in ok.output
    with capture_db.engine.begin() as conn:
        drop_audit_guards(conn)
        conn.exec_driver_sql("UPDATE audit_record SET username = 'mallory' WHERE seq = 5")
    try:
        bad = run("audit", "verify", "--db", db_url, "--json")
        assert bad.exit_code == 1
        result = json.loads(bad.output)
        assert result["ok"] is False and result["bad_seq"] == 5 and "altered" in result["problem"]
        text = run("audit", "verify", "--db", db_url)
        assert text.exit_code == 1 and "BROKEN at record 5" in text.output
    finally:
        with capture_db.engine.begin() as conn:
            install_audit_guards(conn)
    log = run("audit", "log", "--db", db_url, "--user", "monitor", "--participant", code)
    assert log.exit_code == 0
    assert "participant.screen" in log.output and "participant.randomize" in log.output and code in log.output
    denied = run("audit", "log", "--db", db_url, "--user", "statistician")
    assert denied.exit_code == 2 and "PermissionDenied" in denied.output


def test_verify_on_a_database_without_a_schema_is_a_clean_error(tmp_path) -> None:
    result = run("audit", "verify", "--db", str(tmp_path / "empty.db"))
    assert result.exit_code == 2 and "no database file" in result.output
    assert not (tmp_path / "empty.db").exists()
    (tmp_path / "empty.db").touch()  # an empty file is a valid, empty SQLite database
    for command in (["audit", "verify"], ["verify"]):
        result = run(*command, "--db", str(tmp_path / "empty.db"))
        assert result.exit_code == 2 and "holds no alstrial trial database" in result.output

"""Sign-in: the same work for unknown and known users, failures audited, lockout and admin unlock,
and no database lock held while Argon2 runs."""

from __future__ import annotations

import shutil
import threading

import pytest

from alstrial import services as sv
from alstrial.services import passwords, users
from alstrial.services.context import CaptureDB
from conftest import PASSWORD, make_trial, no_trace


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every Argon2 verification the sign-in service makes (the hash it was checked against)."""
    calls: list[str] = []
    real = passwords.verify_password

    def verify(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(users, "verify_password", verify)
    return calls


def _params(argon2_hash: str) -> str:
    return argon2_hash.split("$")[3]  # m=...,t=...,p=...


def test_unknown_and_known_users_cost_one_verification_with_the_same_parameters(trial, counted) -> None:
    with pytest.raises(sv.AuthenticationFailed) as unknown:
        sv.authenticate(trial.db, "nobody", PASSWORD)
    with pytest.raises(sv.AuthenticationFailed) as wrong:
        sv.authenticate(trial.db, "monitor", "wrong-password-123")
    assert sv.authenticate(trial.db, "monitor", PASSWORD).username == "monitor"
    assert len(counted) == 3
    assert _params(counted[0]) == _params(counted[1]) == _params(counted[2])
    assert str(unknown.value) == str(wrong.value)  # the answer does not tell which part was wrong
    failed = sv.audit_log(trial.db, trial["monitor"], action="user.sign_in_failed")
    assert [f.entity_id for f in failed] == ["nobody", "monitor"]


def test_repeated_failures_lock_the_account_until_an_admin_unlocks_it(trial, counted) -> None:
    for _ in range(users.MAX_FAILED_SIGN_INS):
        with pytest.raises(sv.AuthenticationFailed):
            sv.authenticate(trial.db, "monitor", "not-the-password")
    with pytest.raises(sv.AuthenticationFailed):
        sv.authenticate(trial.db, "monitor", PASSWORD)  # the right password, but locked out
    assert len(counted) == users.MAX_FAILED_SIGN_INS + 1  # a locked account still costs one verification
    (view,) = [u for u in sv.list_users(trial.db, trial["admin"]) if u.username == "monitor"]
    assert view.locked_until is not None and view.failed_sign_ins == users.MAX_FAILED_SIGN_INS + 1
    with no_trace(trial.db), pytest.raises(sv.PermissionDenied):
        sv.unlock_account(trial.db, trial["data_manager"], "monitor", reason="not an admin")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="reason"):
        sv.unlock_account(trial.db, trial["admin"], "monitor", reason=" ")
    sv.unlock_account(trial.db, trial["admin"], "monitor", reason="identity confirmed by phone")
    assert sv.authenticate(trial.db, "monitor", PASSWORD).role == "monitor"
    actions = [line.action for line in sv.audit_log(trial.db, trial["monitor"], entity="user")]
    assert actions.count("user.sign_in_failed") == users.MAX_FAILED_SIGN_INS + 1 and actions[-1] == "user.unlock"


def test_virtual_accounts_without_a_password_can_never_sign_in(trial, counted) -> None:
    sv.add_user(trial.db, trial["admin"], username="robot", role="monitor", password=None)
    for attempt in ("", "!unusable", PASSWORD):
        with pytest.raises(sv.AuthenticationFailed):
            sv.authenticate(trial.db, "robot", attempt)
    assert len(counted) == 3


def test_argon2_runs_outside_any_database_transaction(sqlite_template, tmp_path, monkeypatch) -> None:
    """While add_user hashes and authenticate verifies, another writer gets SQLite's write lock at once."""
    target = str(tmp_path / "hashing.db")
    shutil.copyfile(sqlite_template, target)
    db = CaptureDB.from_url(target)
    t = make_trial(db)
    other_writer_ok: list[bool] = []

    def write_elsewhere() -> None:
        import sqlite3

        conn = sqlite3.connect(target, timeout=0.2, isolation_level=None)  # fail fast instead of queueing
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE site SET name = name")
            conn.execute("COMMIT")
            other_writer_ok.append(True)
        except sqlite3.OperationalError:
            other_writer_ok.append(False)
        finally:
            conn.close()

    real_hash, real_verify = passwords.hash_password, passwords.verify_password

    def hash_probe(password: str) -> str:
        worker = threading.Thread(target=write_elsewhere)
        worker.start()
        worker.join(30)
        return real_hash(password)

    def verify_probe(stored: str, password: str) -> bool:
        worker = threading.Thread(target=write_elsewhere)
        worker.start()
        worker.join(30)
        return real_verify(stored, password)

    monkeypatch.setattr(users, "hash_password", hash_probe)
    monkeypatch.setattr(users, "verify_password", verify_probe)
    sv.add_user(db, t["admin"], username="newcomer", role="monitor", password=PASSWORD)
    sv.authenticate(db, "newcomer", PASSWORD)
    db.dispose()
    assert other_writer_ok == [True, True]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("12345678", "at least 10"),
        ("password123", "most common"),
        ("Password123!", "most common"),
        ("qwertyuiop", "most common"),
        ("abcdefghijkl", "run of the keyboard"),
        ("9876543210", "run of the keyboard"),
        ("zzzzzzzzzzzz", "fewer than 4"),
        ("ababababab", "fewer than 4"),
        ("my-newcomer-pass", "contains the user name"),
        ("x" * 257, "at most 256"),
    ],
)
def test_the_password_policy_refuses_guessable_passwords(trial, password: str, reason: str) -> None:
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match=reason) as refused:
        sv.add_user(trial.db, trial["admin"], username="newcomer", role="monitor", password=password)
    assert password not in str(refused.value)  # the refusal never echoes the password


def test_an_empty_password_variable_without_a_terminal_is_a_clear_error(tmp_path) -> None:
    from typer.testing import CliRunner

    from alstrial.cli import app

    out = CliRunner().invoke(app, ["init", "--db", str(tmp_path / "t.db")], env={"ALSTRIAL_PASSWORD": ""}, input="")
    assert out.exit_code == 2 and "no password given" in out.output and "Aborted" not in out.output
    assert not (tmp_path / "t.db").exists()

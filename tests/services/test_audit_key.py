"""The HMAC-keyed audit chain: with a key kept outside the database, rewriting the whole chain is detected.

Without a key (``ALSTRIAL_AUDIT_KEY`` unset) the chain is plain SHA-256 as before, and a full
rewrite after an edit verifies (see ``test_verify_database``). With a key, the same rewrite by
someone without the key is caught, whether it is re-hashed as a plain chain or under a guessed
key; the key's holder could rewrite it (that is what a key means). Both engines.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_verify_database import _filled, _rewrite_history, _tamper
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.services.audit import verify_database
from alstrial.services.context import CaptureDB
from alstrial.store.audit_chain import KEY_ENV, KEY_FILE_ENV, AuditKeyError, keyed_genesis
from conftest import Trial, make_trial, snapshot

KEY = "k3y-held-by-the-sponsor-outside-the-db-0123456789"
GUESS = "a-key-the-attacker-made-up-for-the-rewrite-000000"


@pytest.fixture
def keyed_trial(capture_db: CaptureDB, monkeypatch: pytest.MonkeyPatch) -> Trial:
    monkeypatch.setenv(KEY_ENV, KEY)
    return make_trial(capture_db)


def test_a_keyed_chain_verifies_with_its_key_only(keyed_trial: Trial, monkeypatch: pytest.MonkeyPatch) -> None:
    _filled(keyed_trial)
    engine = keyed_trial.db.engine
    good = verify_database(engine)
    assert good.ok and good.chain.keyed, str(good)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT prev_hash FROM audit_record WHERE seq = 1")).scalar_one() == keyed_genesis(
            KEY.encode()
        )
    monkeypatch.delenv(KEY_ENV)
    without = verify_database(engine)
    assert not without.ok and "keyed (HMAC)" in str(without)
    monkeypatch.setenv(KEY_ENV, GUESS)
    other = verify_database(engine)
    assert not other.ok and "another key" in str(other)


@pytest.mark.parametrize("attacker_key", [None, GUESS], ids=["rehashed-plain", "rehashed-with-a-guessed-key"])
def test_rewriting_the_whole_chain_without_the_key_is_detected(
    keyed_trial: Trial, attacker_key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _filled(keyed_trial)
    key = None if attacker_key is None else attacker_key.encode()
    _tamper(keyed_trial, lambda conn: _rewrite_history(conn, key))
    result = verify_database(keyed_trial.db.engine)
    assert not result.ok and result.chain.bad_seq == 1, str(result)
    # the same rewrite verifies when no key is in play: this is what the key adds
    monkeypatch.setenv(KEY_ENV, attacker_key or "")
    assert verify_database(keyed_trial.db.engine).ok


def test_the_key_holder_can_still_be_caught_by_the_replay(keyed_trial: Trial) -> None:
    _filled(keyed_trial)
    _tamper(keyed_trial, lambda conn: conn.execute(text("UPDATE alsfrs_assessment SET q1 = 4 - q1")))
    result = verify_database(keyed_trial.db.engine)
    assert result.chain.ok and not result.ok  # chain intact, data differs from what the trail wrote


def test_writing_with_a_missing_or_wrong_key_is_refused_and_writes_nothing(
    keyed_trial: Trial, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(keyed_trial.db)
    for value in (None, GUESS):
        if value is None:
            monkeypatch.delenv(KEY_ENV)
        else:
            monkeypatch.setenv(KEY_ENV, value)
        with pytest.raises(AuditKeyError):
            keyed_trial.screen()
        assert snapshot(keyed_trial.db) == before


def test_an_unkeyed_chain_refuses_keyed_writes_and_fails_keyed_verification(
    trial: Trial, monkeypatch: pytest.MonkeyPatch
) -> None:
    trial.screen()
    assert verify_database(trial.db.engine).ok
    monkeypatch.setenv(KEY_ENV, KEY)
    before = snapshot(trial.db)
    with pytest.raises(AuditKeyError, match="not keyed"):
        trial.screen()
    assert snapshot(trial.db) == before
    result = verify_database(trial.db.engine)
    assert not result.ok and "not keyed" in str(result)


def test_key_from_a_file_and_bad_keys(
    capture_db: CaptureDB, monkeypatch: pytest.MonkeyPatch, tmp_path: object, db_url: str
) -> None:
    key_file = tmp_path / "audit.key"  # type: ignore[operator]
    key_file.write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    trial = make_trial(capture_db)
    trial.screen()
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--db", db_url])
    assert ok.exit_code == 0, ok.output
    ok = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert ok.exit_code == 0 and "HMAC-keyed" in ok.output, ok.output
    monkeypatch.setenv(KEY_ENV, KEY)  # both set: ambiguous
    both = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert both.exit_code == 2 and "not both" in both.output
    monkeypatch.delenv(KEY_FILE_ENV)
    monkeypatch.setenv(KEY_ENV, "short")
    short = runner.invoke(app, ["verify", "--db", db_url])
    assert short.exit_code == 2 and "at least 32" in short.output
    monkeypatch.delenv(KEY_ENV)
    missing = runner.invoke(app, ["verify", "--db", db_url])
    assert missing.exit_code == 1 and "keyed (HMAC)" in missing.output

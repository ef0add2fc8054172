"""`alstrial sign`, `signatures`, `lock`, `unlock`, `unblind`, `user deactivate` and `user password` (both backends)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.services import authenticate
from alstrial.services.context import CaptureDB
from conftest import PASSWORD, Trial, make_trial, snapshot

ENV = {"ALSTRIAL_PASSWORD": PASSWORD}


def run(db: str, user: str, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [*args, "--db", db, "--user", user], env=env or ENV)


@pytest.fixture
def cli_trial(db_url: str):
    db = CaptureDB.from_url(db_url)
    yield db_url, make_trial(db)
    db.dispose()


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in result.output, result.output
    return result.output


def test_sign_lock_unblind_unlock_happy_path(cli_trial: tuple[str, Trial]) -> None:
    url, trial = cli_trial
    code = trial.randomized()
    out = ok(run(url, "investigator", "sign", "--participant", code, "--meaning", "approval"))
    assert "[valid] casebook participant/" in out and "approval by investigator" in out
    out = ok(run(url, "investigator", "sign", "--participant", code, "--visit", "SCR", "--meaning", "review", "--json"))
    assert json.loads(out)["target"] == f"participant/{code}/visit/SCR"
    listed = ok(run(url, "monitor", "signatures", "--participant", code))
    assert listed.count("[valid]") == 2
    out = ok(run(url, "data_manager", "lock", "--reason", "last participant last visit"))
    assert "database locked" in out and "database_lock" in out and "[valid]" in out
    head = re.search(r"audit head ([0-9a-f]{64})", out).group(1)  # type: ignore[union-attr]
    anchored = CliRunner().invoke(app, ["verify", "--db", url, "--expect-head", head])
    assert anchored.exit_code == 0 and "found in the chain" in anchored.output
    out = ok(run(url, "investigator", "unblind", "--participant", code, "--reason", "SAE management"))
    assert f"participant {code}: arm " in out and "emergency_unblind" in out
    out = ok(run(url, "admin", "unlock", "--reason", "late query", "--meaning", "responsibility"))
    assert "database unlocked" in out and "responsibility by" in out
    ok(run(url, "admin", "lock", "--reason", "final lock", "--json"))
    out = ok(run(url, "unblinded_statistician", "unblind", "--reason", "final analysis"))
    assert "trial unblinded" in out
    kinds = [json.loads(line)["kind"] for line in ok(run(url, "monitor", "signatures", "--json")).splitlines()]
    expected = ["casebook", "casebook", "database_lock", "emergency_unblind", "database_unlock", "database_lock"]
    assert kinds == [*expected, "unblind_trial"]
    log = ok(run(url, "monitor", "audit", "log"))
    assert log.count("signature.sign") == 7 and "printed_name" in log


def test_lifecycle_refusals_exit_2_and_change_nothing(cli_trial: tuple[str, Trial]) -> None:
    url, trial = cli_trial
    code = trial.randomized()
    before = snapshot(trial.db)
    refused(run(url, "site_coordinator", "sign", "--participant", code, "--meaning", "approval"), "PermissionDenied")
    refused(run(url, "investigator2", "sign", "--participant", code, "--meaning", "approval"), "NotFound")
    refused(run(url, "investigator", "sign", "--participant", code, "--meaning", "okay"), "meaning", "approval")
    refused(run(url, "data_manager", "lock", "--reason", "LPLV"), "cannot be locked yet", code)
    refused(run(url, "data_manager", "lock", "--reason", "LPLV", "--override", "deadline"), "only an admin")
    refused(run(url, "admin", "unlock", "--reason", "x"), "not locked")
    refused(run(url, "statistician", "unblind", "--reason", "curious"), "PermissionDenied")
    refused(run(url, "unblinded_statistician", "unblind", "--reason", "early"), "lock it first")
    assert snapshot(trial.db) == before
    # a wrong password is refused at sign-in (the lead's sign-in audit may record it: not compared)
    wrong = run(url, "admin", "lock", "--reason", "LPLV", env={"ALSTRIAL_PASSWORD": "nope-nope"})
    refused(wrong, "AuthenticationFailed")
    out = ok(run(url, "admin", "lock", "--reason", "LPLV", "--override", "DSMB freeze: casebook signed on paper"))
    assert "override by admin: locked despite 1 unsigned casebooks" in out
    refused(run(url, "investigator", "sign", "--participant", code, "--meaning", "approval"), "locked")


def test_user_deactivate_and_password(cli_trial: tuple[str, Trial]) -> None:
    url, trial = cli_trial
    refused(run(url, "site_coordinator", "user", "deactivate", "investigator2", "--reason", "x"), "PermissionDenied")
    refused(run(url, "admin", "user", "deactivate", "admin", "--reason", "x"), "your own account")
    refused(run(url, "admin", "user", "deactivate", "nobody", "--reason", "x"), "no user 'nobody'")
    out = ok(run(url, "admin", "user", "deactivate", "investigator2", "--reason", "left the trial"))
    assert "'investigator2' (investigator) deactivated" in out
    refused(run(url, "investigator2", "signatures"), "sign-in failed")
    refused(run(url, "admin", "user", "deactivate", "investigator2", "--reason", "again"), "already inactive")
    # own change: the sign-in password is the current one
    new = {"ALSTRIAL_PASSWORD": PASSWORD, "ALSTRIAL_NEW_PASSWORD": "a-quieter-evening"}
    assert "password of 'monitor' changed" in ok(run(url, "monitor", "user", "password", env=new))
    refused(run(url, "monitor", "signatures"), "sign-in failed")
    ok(run(url, "monitor", "signatures", env={"ALSTRIAL_PASSWORD": "a-quieter-evening"}))
    # another user's password: an admin reset only
    reset = {"ALSTRIAL_PASSWORD": PASSWORD, "ALSTRIAL_NEW_PASSWORD": "stat-reset-password"}
    refused(run(url, "site_coordinator", "user", "password", "statistician", env=reset), "PermissionDenied")
    refused(run(url, "admin", "user", "password", "statistician", env={**reset, "ALSTRIAL_NEW_PASSWORD": "short"}))
    assert "password of 'statistician' reset" in ok(run(url, "admin", "user", "password", "statistician", env=reset))
    assert authenticate(trial.db, "statistician", "stat-reset-password").role == "statistician"


def test_prompts_when_no_environment_variables(cli_trial: tuple[str, Trial]) -> None:
    url, trial = cli_trial
    code = trial.randomized()
    result = CliRunner().invoke(
        app,
        ["sign", "--participant", code, "--meaning", "authorship", "--db", url, "--user", "investigator"],
        input=f"{PASSWORD}\n",
        env={"ALSTRIAL_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output
    assert "password for investigator (signs)" in result.output

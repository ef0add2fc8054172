"""Deactivating accounts and changing or resetting passwords (both backends)."""

from __future__ import annotations

import pytest

from alstrial import services as sv
from conftest import PASSWORD, no_trace


def test_deactivate_user(trial) -> None:
    admin = trial["admin"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="reason"):
        sv.deactivate_user(trial.db, admin, "monitor", reason=" ")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="no user 'ghost'"):
        sv.deactivate_user(trial.db, admin, "ghost", reason="x")
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="your own account"):
        sv.deactivate_user(trial.db, admin, "admin", reason="x")
    view = sv.deactivate_user(trial.db, admin, "monitor", reason="contract ended")
    assert (view.username, view.active) == ("monitor", False)
    with pytest.raises(sv.AuthenticationFailed):
        sv.authenticate(trial.db, "monitor", PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.AuthenticationFailed, match="no longer active"):
        sv.list_participants(trial.db, trial["monitor"])  # an Actor held from before is refused too
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already inactive"):
        sv.deactivate_user(trial.db, admin, "monitor", reason="again")
    [line] = [a for a in sv.audit_log(trial.db, admin) if a.action == "user.deactivate"]
    assert (line.action, line.reason, line.changes["active"]) == (
        "user.deactivate",
        "contract ended",
        {"old": True, "new": False},
    )


def test_own_password_change_needs_the_current_password(trial) -> None:
    stat = trial["statistician"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="current password"):
        sv.set_password(trial.db, stat, "statistician", new_password="brand-new-password")
    with no_trace(trial.db), pytest.raises(sv.AuthenticationFailed, match="current password"):
        sv.set_password(trial.db, stat, "statistician", new_password="brand-new-password", current_password="wrong-one")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="user name"):
        sv.set_password(trial.db, stat, "statistician", new_password="statistician-2026", current_password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="at least 10"):
        sv.set_password(trial.db, stat, "statistician", new_password="short", current_password=PASSWORD)
    sv.set_password(trial.db, stat, "statistician", new_password="brand-new-password", current_password=PASSWORD)
    assert sv.authenticate(trial.db, "statistician", "brand-new-password").username == "statistician"
    with pytest.raises(sv.AuthenticationFailed):
        sv.authenticate(trial.db, "statistician", PASSWORD)
    [line] = [a for a in sv.audit_log(trial.db, trial["admin"]) if a.action.startswith("user.password")]
    assert line.action == "user.password_change" and "brand-new" not in str(line)


def test_only_an_admin_resets_another_users_password(trial) -> None:
    for role in ("data_manager", "investigator", "monitor"):
        with no_trace(trial.db), pytest.raises(sv.PermissionDenied):
            sv.set_password(trial.db, trial[role], "statistician", new_password="brand-new-password")
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.set_password(trial.db, trial["admin"], "ghost", new_password="brand-new-password")
    sv.set_password(trial.db, trial["admin"], "statistician", new_password="reset-by-admin")
    assert sv.authenticate(trial.db, "statistician", "reset-by-admin").role == "statistician"
    assert sv.audit_log(trial.db, trial["admin"])[-1].action == "user.password_reset"
    # a password change invalidates nothing already signed, but a signature needs the new one
    code = trial.randomized()
    sv.set_password(trial.db, trial["admin"], "investigator", new_password="fresh-signing-phrase")
    with pytest.raises(sv.AuthenticationFailed):
        sv.sign_casebook(trial.db, trial["investigator"], code, password=PASSWORD, meaning="approval")
    assert sv.sign_casebook(trial.db, trial["investigator"], code, password="fresh-signing-phrase", meaning="approval")

"""No read service returns an arm to a blinded role (every read service × every blinded role)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

import pytest
from capture_calls import READ_CALLS, prepare

from alstrial import services as sv
from alstrial.services.policy import BLINDED_ROLES, UNBLINDED_ROLES
from conftest import PASSWORD

ARMS = {"MSC", "PBO"}

READS = READ_CALLS


def arm_values(obj: object, path: str = "") -> list[str]:
    """Every place in a result where an arm shows: an ``arm`` field that is set, or an arm code as a value."""
    if is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "arm" and v is not None:
                found.append(f"{path}.arm")
            found += arm_values(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            found += arm_values(v, f"{path}[{i}]")
    elif isinstance(obj, str) and obj in ARMS:
        found.append(path)
    return found


def _run_all(trial, role: str, ctx: dict[str, Any]) -> dict[str, object]:
    out = {}
    for name, read in READS.items():
        try:
            out[name] = read(trial, trial[role], ctx)
        except (sv.AllocationConcealed, sv.PermissionDenied) as exc:
            out[name] = exc
    return out


def test_blinded_roles_never_see_an_arm(trial) -> None:
    ctx = prepare(trial)
    # an emergency unblinding happened: its listing must still not carry the arm
    sv.emergency_unblind(
        trial.db, trial["investigator"], ctx["rand"], reason="SAE: treating physician needs it", password=PASSWORD
    )
    assert set(BLINDED_ROLES) | set(UNBLINDED_ROLES) == set(trial.actors)
    for role in BLINDED_ROLES:
        results = _run_all(trial, role, ctx)
        for name, result in results.items():
            assert arm_values(result) == [], (role, name)
        assert isinstance(results["participant_arm"], sv.AllocationConcealed), role
        assert isinstance(results["allocation_list"], sv.AllocationConcealed), role


def test_unblinded_roles_do_see_arms(trial) -> None:
    """The check above can fail: the same reads show arms to unblinded roles."""
    ctx = prepare(trial)
    for role in UNBLINDED_ROLES:
        results = _run_all(trial, role, ctx)
        assert results["participant_arm"] in ARMS
        assert arm_values(results["list_participants"])
        assert len(arm_values(results["allocation_list"])) > 100


def test_full_unblinding_needs_the_lock_then_opens_arms_to_all(trial) -> None:
    from conftest import no_trace

    ctx = prepare(trial)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="locked database"):
        sv.unblind_trial(trial.db, trial["unblinded_statistician"], reason="final analysis", password=PASSWORD)
    sv.lock_database(
        trial.db, trial["admin"], reason="database lock", password=PASSWORD, override_reason="test: query still open"
    )
    with no_trace(trial.db), pytest.raises(sv.PermissionDenied):
        sv.unblind_trial(trial.db, trial["statistician"], reason="final analysis", password=PASSWORD)
    sv.unblind_trial(trial.db, trial["unblinded_statistician"], reason="final analysis", password=PASSWORD)
    assert sv.participant_arm(trial.db, trial["statistician"], ctx["rand"]) in ARMS
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="cannot be unlocked"):
        sv.unlock_database(trial.db, trial["admin"], reason="oops", password=PASSWORD)


def test_emergency_unblinding_is_audited_listed_and_site_bound(trial) -> None:
    from conftest import no_trace

    ctx = prepare(trial)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="reason"):
        sv.emergency_unblind(trial.db, trial["investigator"], ctx["rand"], reason="", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.emergency_unblind(trial.db, trial.other_site, ctx["rand"], reason="not my patient", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="not randomized"):
        sv.emergency_unblind(trial.db, trial["investigator"], ctx["enrolled"], reason="SAE", password=PASSWORD)
    # allowed at any time, even locked
    sv.lock_database(trial.db, trial["admin"], reason="interim lock", password=PASSWORD, override_reason="interim")
    result = sv.emergency_unblind(
        trial.db, trial["investigator"], ctx["rand"], reason="SAE management", password=PASSWORD
    )
    assert result.arm in ARMS
    listing = sv.list_unblindings(trial.db, trial["monitor"])
    assert [(u.kind, u.participant, u.by, u.reason) for u in listing] == [
        ("emergency", ctx["rand"], "investigator", "SAE management")
    ]
    log = sv.audit_log(trial.db, trial["monitor"], participant=ctx["rand"])
    assert log[-2].action == "participant.emergency_unblind" and log[-2].reason == "SAE management"
    assert log[-1].action == "signature.sign" and log[-1].changes["meaning"]["new"] == "responsibility"
    assert result.signature.valid and result.signature.kind == "emergency_unblind"

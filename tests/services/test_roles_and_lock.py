"""Enumerations over every write service: wrong roles are refused and the database lock blocks all data writes."""

from __future__ import annotations

import pytest
from capture_calls import ADMIN_CALLS, NOT_SERVICES, WRITE_CALLS, prepare, read_service_names

from alstrial.services import (
    AuthenticationFailed,
    DatabaseLocked,
    InvalidState,
    NotFound,
    PermissionDenied,
    lock_database,
    unlock_database,
)
from alstrial.services.policy import DATA_WRITES, ROLES, can
from conftest import PASSWORD, no_trace


def test_every_write_call_is_enumerated() -> None:
    """A new data-write permission without a call here would escape the lock test."""
    covered = {c.permission for c in WRITE_CALLS}
    assert covered >= set(DATA_WRITES)


def test_every_public_service_is_enumerated_as_a_write_or_a_read() -> None:
    """A new service must join WRITE_CALLS/ADMIN_CALLS (role, lock tests) or READ_CALLS (blinding test)."""
    import alstrial.services as sv

    services = {n for n in sv.__all__ if n[0].islower() and callable(getattr(sv, n))}
    writes = {c.name for c in WRITE_CALLS + ADMIN_CALLS}
    assert services - NOT_SERVICES == writes | read_service_names()
    assert not writes & read_service_names()


def test_wrong_roles_are_refused_everywhere_and_leave_no_trace(trial) -> None:
    ctx = prepare(trial)
    refused = 0
    for call in WRITE_CALLS + ADMIN_CALLS:
        for role in ROLES:
            if can(role, call.permission):
                continue
            with no_trace(trial.db), pytest.raises(PermissionDenied):
                call.run(trial, trial[role], ctx)
            refused += 1
    assert refused > 150


def test_lock_blocks_every_data_write_then_unlock_allows_them(trial) -> None:
    ctx = prepare(trial)
    with no_trace(trial.db), pytest.raises(InvalidState, match="cannot be locked yet"):
        lock_database(trial.db, trial["data_manager"], reason="last participant last visit", password=PASSWORD)
    lock_database(
        trial.db,
        trial["admin"],
        reason="last participant last visit",
        password=PASSWORD,
        override_reason="test of the lock itself: a query stays open",
    )
    for call in WRITE_CALLS:
        if call.permission not in DATA_WRITES:
            continue
        with no_trace(trial.db), pytest.raises(DatabaseLocked, match="locked"):
            call.run(trial, trial[call.role], ctx)
    with no_trace(trial.db), pytest.raises(InvalidState, match="already locked"):
        lock_database(trial.db, trial["admin"], reason="again", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(PermissionDenied):
        unlock_database(trial.db, trial["data_manager"], reason="not an admin", password=PASSWORD)
    from alstrial.services import ValidationFailed

    with no_trace(trial.db), pytest.raises(ValidationFailed, match="reason"):
        unlock_database(trial.db, trial["admin"], reason="  ", password=PASSWORD)
    unlock_database(trial.db, trial["admin"], reason="late query on AE", password=PASSWORD)
    # every call is valid: after unlocking each one succeeds, in order
    for call in WRITE_CALLS:
        call.run(trial, trial[call.role], ctx)


def test_site_roles_cannot_touch_another_sites_participant(trial) -> None:
    from alstrial.services import record_visit

    code = trial.enrolled()
    with no_trace(trial.db), pytest.raises(NotFound, match="no participant"):
        record_visit(trial.db, trial.other_site, code, "W0", ctx_date())


def ctx_date():
    from capture_calls import DAY0

    return DAY0


def test_an_actor_not_matching_its_user_record_is_refused(trial) -> None:
    """The actor is re-checked against the user table on every call: role, name and site must match."""
    from dataclasses import replace

    from alstrial.services import record_visit

    code = trial.enrolled()
    inv = trial["investigator"]
    other = trial.other_site
    forged = [
        replace(inv, site_id=other.site_id, site_code=other.site_code),
        replace(inv, role="site_coordinator"),
        replace(inv, username="investigator2"),
        replace(inv, user_id=10_000),
    ]
    for actor in forged:
        with no_trace(trial.db), pytest.raises(AuthenticationFailed, match="no longer active"):
            record_visit(trial.db, actor, code, "W0", ctx_date())

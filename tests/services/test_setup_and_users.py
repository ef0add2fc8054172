"""Trial set-up, sites, users and sign-in."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alstrial import services as sv
from alstrial.protocol import default_protocol_path
from alstrial.services.context import sha256_text
from alstrial.store.models import AllocationSlot, ScheduledVisit, Site, Stratum, Trial
from conftest import PASSWORD, make_trial, no_trace


def test_setup_stores_protocol_schedule_strata_and_concealed_list(capture_db) -> None:
    text = default_protocol_path().read_text(encoding="utf-8")
    result = sv.setup_trial(capture_db, text, seed=7, admin_username="boss", admin_password=PASSWORD)
    assert "MSC-ALS-P3" in str(result) and result.strata == 12
    with capture_db.sessions() as s:
        trial = s.execute(select(Trial)).scalar_one()
        assert trial.protocol_toml == text and trial.protocol_sha256 == sha256_text(text)
        assert s.execute(select(func.count()).select_from(Site)).scalar_one() == 6
        assert s.execute(select(func.count()).select_from(ScheduledVisit)).scalar_one() == 11
        assert s.execute(select(func.count()).select_from(Stratum)).scalar_one() == 12
        n = s.execute(select(func.count()).select_from(AllocationSlot)).scalar_one()
        arms = dict(s.execute(select(AllocationSlot.arm, func.count()).group_by(AllocationSlot.arm)).all())
    assert n == result.allocation_entries >= 12 * 60 and arms["MSC"] == arms["PBO"]
    # the audit trail records the list's hash but no arm
    log = sv.audit_log(capture_db, sv.authenticate(capture_db, "boss", PASSWORD))
    assert [line.action for line in log] == ["trial.setup", "user.create", "allocation_list.generate"]
    assert "PBO" not in str([line.changes for line in log]) and "arm" not in log[2].changes
    with no_trace(capture_db), pytest.raises(sv.InvalidState, match="already holds a trial"):
        sv.setup_trial(capture_db, text, seed=7, admin_username="boss2", admin_password=PASSWORD)


def test_setup_is_reproducible_from_the_seed(capture_db) -> None:
    text = default_protocol_path().read_text(encoding="utf-8")
    sv.setup_trial(capture_db, text, seed=11, admin_username="a", admin_password=PASSWORD)
    from alstrial.domain.randomization.blocks import generate_block_list

    with capture_db.sessions() as s:
        rows = s.execute(
            select(AllocationSlot.stratum_key, AllocationSlot.sequence, AllocationSlot.arm, AllocationSlot.kit_code)
            .where(AllocationSlot.stratum_key == "site=S03|alsfrs_r_band=lt35")
            .order_by(AllocationSlot.sequence)
        ).all()
    expected = generate_block_list(
        [("MSC", 1), ("PBO", 1)], ["site=S03|alsfrs_r_band=lt35"], per_stratum=60, seed=11, block_multiples=[1, 2, 3]
    )
    assert [(r.arm, r.kit_code) for r in rows] == [(e.arm, e.kit_code) for e in expected.entries]


def test_setup_rejects_bad_input_and_leaves_no_trace(capture_db) -> None:
    text = default_protocol_path().read_text(encoding="utf-8")
    with no_trace(capture_db), pytest.raises(sv.ValidationFailed, match="at least 10"):
        sv.setup_trial(capture_db, text, seed=1, admin_username="a", admin_password="short")
    from alstrial.protocol import ProtocolError

    with no_trace(capture_db), pytest.raises(ProtocolError):
        sv.setup_trial(
            capture_db,
            text.replace("sample_size = 189", "sample_size = 1"),
            seed=1,
            admin_username="a",
            admin_password=PASSWORD,
        )


def test_users_sites_and_sign_in(trial) -> None:
    admin = trial["admin"]
    assert sv.add_site(trial.db, admin, "S07", "Site 07", "DE") == "S07"
    view = sv.add_user(trial.db, admin, username="ana", role="investigator", password=PASSWORD, site="S07")
    assert view.site == "S07"
    actor = sv.authenticate(trial.db, "ana", PASSWORD)
    assert (actor.role, actor.site_code) == ("investigator", "S07")
    with pytest.raises(sv.AuthenticationFailed, match="wrong user name or password"):
        sv.authenticate(trial.db, "ana", "wrong-password")
    with pytest.raises(sv.AuthenticationFailed):
        sv.authenticate(trial.db, "nobody", PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already exists"):
        sv.add_site(trial.db, admin, "S07", "again")
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already exists"):
        sv.add_user(trial.db, admin, username="ana", role="monitor", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.add_user(trial.db, admin, username="bad name!", role="wizard", password="x")
    assert {p.where for p in err.value.problems} == {"role", "username", "password"}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="works at one site"):
        sv.add_user(trial.db, admin, username="bob", role="site_coordinator", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="study-wide"):
        sv.add_user(trial.db, admin, username="bob", role="statistician", password=PASSWORD, site="S01")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="S42"):
        sv.add_user(trial.db, admin, username="bob", role="investigator", password=PASSWORD, site="S42")


def test_a_forged_actor_is_refused(trial) -> None:
    from dataclasses import replace

    forged = replace(trial["statistician"], role="admin")
    with no_trace(trial.db), pytest.raises(sv.AuthenticationFailed, match="no longer active"):
        sv.add_site(trial.db, forged, "S08", "Site 08")


def test_make_trial_helper_creates_every_role(capture_db) -> None:
    from alstrial.services.policy import ROLES

    t = make_trial(capture_db)
    assert set(t.actors) == set(ROLES)

"""CSV imports at the service level: each table imports through the services, all-or-nothing."""

from __future__ import annotations

import pytest
from capture_calls import AT0, prepare

from alstrial import services as sv
from alstrial.services.imports import import_rows
from conftest import PASSWORD, no_trace, snapshot


def test_labs_doses_and_withdrawals_import(trial) -> None:
    ctx = prepare(trial)
    code, inv = ctx["rand"], trial["investigator"]
    labs = [
        {
            "participant": code,
            "visit": "W0",
            "sample_id": "CSF-7",
            "collected_at": "2025-04-06T10:00:00Z",
            "analyte": a,
            "value": v,
            "unit": u,
            "assay": "Simoa",
            "below_lloq": b,
        }
        for a, v, u, b in (("NFL", "2.1", "ng/mL", ""), ("VEGF", "", "pg/mL", "yes"), ("MCP1", "120", "pg/mL", "no"))
    ]
    assert import_rows(trial.db, trial["lab_technician"], "labs", labs).rows == 3
    doses = [
        {
            "participant": code,
            "dose_number": "1",
            "lot_number": ctx["lot_released"],
            "label_coi_id": ctx["coi"],
            "administered_at": AT0.isoformat(),
        }
    ]
    assert import_rows(trial.db, inv, "doses", doses).rows == 1
    wd = [
        {
            "participant": code,
            "withdrawn_on": "2025-08-01",
            "reason_code": "LOST TO FOLLOW-UP",
            "decided_by": "investigator",
            "vital_status_followup": "true",
        }
    ]
    assert import_rows(trial.db, inv, "withdrawals", wd).rows == 1
    assert sv.list_participants(trial.db, inv)[-1].withdrawn
    assert sv.audit_log(trial.db, trial["monitor"])[-1].action == "import"


def test_import_checks_the_role_and_the_lock(trial) -> None:
    rows = [{"screened_on": "2025-01-06", "consent_date": "2025-01-06", "age_years": "40"}]
    with no_trace(trial.db), pytest.raises(sv.PermissionDenied):
        import_rows(trial.db, trial["monitor"], "screening", rows)
    sv.lock_database(trial.db, trial["admin"], reason="lock", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.DatabaseLocked):
        import_rows(trial.db, trial["site_coordinator"], "screening", rows)


def test_a_dose_import_with_a_wrong_label_writes_no_dose_but_audits_the_refusal(trial) -> None:
    ctx = prepare(trial)
    doses = [
        {
            "participant": ctx["rand"],
            "dose_number": "1",
            "lot_number": ctx["lot_released"],
            "label_coi_id": "COI-FORGED",
            "administered_at": AT0.isoformat(),
        }
    ]
    before = snapshot(trial.db)
    with pytest.raises(sv.ValidationFailed, match="row 2, column label_coi_id"):
        import_rows(trial.db, trial["investigator"], "doses", doses)
    after = snapshot(trial.db)
    assert {k for k in before if before[k] != after[k]} == {"audit_record", "audit_head", "audit_last"}
    assert sv.audit_log(trial.db, trial["monitor"])[-1].action == "dose.refused_chain_of_identity"


def test_a_unit_of_work_runs_several_steps_in_one_transaction(trial) -> None:
    from datetime import timedelta

    from alstrial.services import steps, unit_of_work
    from conftest import SCREEN_DAY, alsfrs_items

    code = trial.randomized()
    sc = trial["site_coordinator"]
    day0 = SCREEN_DAY + timedelta(days=90)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed), unit_of_work(trial.db, sc) as tx:
        steps.record_visit(tx, code, "W0", day0, None)
        steps.record_alsfrs(tx, code, "W0", alsfrs_items(60), None)  # fails: the visit is rolled back too
    with no_trace(trial.db), pytest.raises(sv.PermissionDenied), unit_of_work(trial.db, trial["monitor"]) as tx:
        steps.record_visit(tx, code, "W0", day0, None)
    with unit_of_work(trial.db, sc) as tx:
        steps.record_visit(tx, code, "W0", day0, None)
        steps.record_alsfrs(tx, code, "W0", alsfrs_items(40), None)
    (w0,) = [r for r in sv.visit_data(trial.db, sc, code) if r["visit"] == "W0"]
    assert w0["alsfrs_r_total"] == 40
    actions = [a.action for a in sv.audit_log(trial.db, trial["monitor"], participant=code)][-2:]
    assert actions == ["visit.record", "alsfrs.record"]

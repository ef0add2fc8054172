"""CSV imports at the service level: each table imports through the services, all-or-nothing."""

from __future__ import annotations

from datetime import timedelta

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


def test_product_chain_events_and_discontinuation_import(trial) -> None:
    """Aspiration → lot (released) → dose, intercurrent events and a discontinuation, all through imports."""
    ctx = prepare(trial)
    code, inv, pharm = ctx["rand"], trial["investigator"], trial["pharmacist"]
    at = (AT0 - timedelta(days=20)).isoformat()
    asp = import_rows(trial.db, inv, "aspirations", [{"participant": code, "aspirated_at": at, "volume_ml": "55"}])
    assert asp.rows == 1 and asp.notes[0].startswith(f"{code}: aspiration ")
    lot_row = {"participant": code, "dose_number": "3", "manufactured_on": "2025-04-01", "expires_on": "2025-12-01"}
    made = import_rows(trial.db, pharm, "lots", [lot_row | {"release": "yes"}])
    lot_number = made.notes[0].split(": ")[1].split(" ")[0]
    lots = {r["lot_number"]: r for r in sv.list_product_lots(trial.db, pharm, participant=code)}
    assert lots[lot_number]["status"] == "released" and lots[lot_number]["dose_number"] == 3
    assert f"(COI {ctx['coi']}, released)" in made.notes[0]  # made from the participant's own aspiration
    events = [
        {"participant": code, "kind": "rescue_medication", "event_date": "2025-06-01", "details": "edaravone"},
        {"participant": code, "kind": "gastrostomy", "event_date": "2025-06-10", "details": ""},
    ]
    assert import_rows(trial.db, inv, "intercurrent_events", events).rows == 2
    kinds = {e["kind"]: e["details"] for e in sv.list_intercurrent_events(trial.db, inv, participant=code)}
    assert kinds == {"rescue_medication": "edaravone", "gastrostomy": None}
    stop = {"participant": code, "discontinued_on": "2025-06-15", "reason_code": "ADVERSE EVENT"}
    assert import_rows(trial.db, inv, "discontinuations", [stop | {"decided_by": "investigator"}]).rows == 1


def test_bad_product_and_event_rows_are_named_and_write_nothing(trial) -> None:
    ctx = prepare(trial)
    other = trial.at_day0()  # randomized, but no aspiration recorded
    lot = {"dose_number": "1", "manufactured_on": "2025-04-01", "expires_on": "2025-12-01", "release": "perhaps"}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        import_rows(
            trial.db, trial["pharmacist"], "lots", [lot | {"participant": ctx["rand"]}, lot | {"participant": other}]
        )
    where = [p.where for p in err.value.problems]
    assert where == ["row 2, column release", "row 3, column release"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="import aspirations first"):
        import_rows(trial.db, trial["pharmacist"], "lots", [lot | {"participant": other, "release": "no"}])
    rescue = {"participant": ctx["rand"], "kind": "rescue_medication", "event_date": "2025-06-01", "details": " "}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        import_rows(trial.db, trial["investigator"], "intercurrent_events", [rescue, rescue | {"kind": "flu"}])
    found = {(p.where, p.reason.split(":")[0]) for p in err.value.problems}
    assert ("row 2, column details", "required for rescue medication") in found
    assert any(w == "row 3, column kind" for w, _ in found)
    stop = {"participant": ctx["rand"], "discontinued_on": "2025-06-15", "reason_code": "BORED", "decided_by": "me"}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        import_rows(trial.db, trial["investigator"], "discontinuations", [stop])
    assert {p.where for p in err.value.problems} == {"row 2, column reason_code", "row 2, column decided_by"}

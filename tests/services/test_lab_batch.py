"""All analytes of one CSF sample in one call: validated together, written together, audited like single calls."""

from __future__ import annotations

import pytest
from capture_calls import AT0
from sqlalchemy import select

from alstrial import services as sv
from alstrial.services import LabResultInput as R
from alstrial.store.models import CsfSample, LabResult
from conftest import PASSWORD, no_trace


def _sample(trial, sample_id: str) -> str:
    code = trial.at_day0()
    sv.record_csf_sample(trial.db, trial["lab_technician"], code, visit="W0", sample_id=sample_id, collected_at=AT0)
    return code


def test_batch_converts_units_flags_lloq_and_writes_once(trial) -> None:
    _sample(trial, "CSF-B1")
    lab, monitor = trial["lab_technician"], trial["monitor"]
    before = len(sv.audit_log(trial.db, monitor))
    views = sv.record_lab_results(
        trial.db,
        lab,
        sample_id="CSF-B1",
        results=[R("NFL", 2.5, "ng/mL"), R("VEGF", 3.0, "pg/mL"), R("MCP1", None, "pg/mL", below_lloq=True)],
        assay=" Simoa ",
    )
    assert [(v.analyte, v.value_original, v.unit_original, v.value_std, v.unit_std, v.below_lloq) for v in views] == [
        ("NFL", 2.5, "ng/mL", 2500.0, "pg/mL", False),
        ("VEGF", 3.0, "pg/mL", 3.0, "pg/mL", True),  # LLOQ 5 pg/mL
        ("MCP1", None, "pg/mL", None, "pg/mL", True),
    ]
    assert {v.assay for v in views} == {"Simoa"} and {v.sample_id for v in views} == {"CSF-B1"}
    lines = sv.audit_log(trial.db, monitor)[before:]
    assert [ln.action for ln in lines] == ["lab_result.record"] * 3
    assert len({ln.at for ln in lines}) == 1  # one transaction: one append to the chain
    assert lines[0].changes["value_std"] == {"old": None, "new": 2500.0}
    assert sv.verify_audit_trail(trial.db.engine).ok
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="NFL, VEGF of sample 'CSF-B1' is already"):
        sv.record_lab_results(
            trial.db, lab, sample_id="CSF-B1", results=[R("NFL", 1.0, "pg/mL"), R("VEGF", 9.0, "pg/mL")], assay="x"
        )


def test_batch_stores_the_same_rows_and_audit_content_as_single_calls(trial) -> None:
    code = _sample(trial, "CSF-S")
    lab, monitor = trial["lab_technician"], trial["monitor"]
    sv.record_csf_sample(trial.db, lab, code, visit="W0", sample_id="CSF-B", collected_at=AT0)
    inputs = [R("NFL", 0.75, "ng/mL"), R("VEGF", 12.0, "ng/L"), R("MCP1", None, "pg/mL", True)]
    singles = [
        sv.record_lab_result(
            trial.db,
            lab,
            sample_id="CSF-S",
            analyte=r.analyte,
            value=r.value,
            unit=r.unit,
            assay="A",
            below_lloq=r.below_lloq,
        )
        for r in inputs
    ]
    batch = sv.record_lab_results(trial.db, lab, sample_id="CSF-B", results=inputs, assay="A")
    strip = [{k: v for k, v in x.to_dict().items() if k != "sample_id"} for x in singles]
    assert strip == [{k: v for k, v in x.to_dict().items() if k != "sample_id"} for x in batch]
    lines = [ln for ln in sv.audit_log(trial.db, monitor, participant=code) if ln.action == "lab_result.record"]
    assert len(lines) == 6
    assert [(ln.entity, ln.changes, ln.reason, ln.username) for ln in lines[:3]] == [
        (ln.entity, ln.changes, ln.reason, ln.username) for ln in lines[3:]
    ]
    with trial.db.sessions() as session:
        stored = session.execute(
            select(CsfSample.sample_id, *_RESULT_COLUMNS)
            .join(LabResult, LabResult.sample_pk == CsfSample.id)
            .order_by(LabResult.id)
        ).all()
    assert [tuple(r[1:]) for r in stored if r[0] == "CSF-S"] == [tuple(r[1:]) for r in stored if r[0] == "CSF-B"]
    assert len(stored) == 6


_RESULT_COLUMNS = (
    LabResult.analyte,
    LabResult.value_original,
    LabResult.unit_original,
    LabResult.value_std,
    LabResult.unit_std,
    LabResult.lloq_std,
    LabResult.below_lloq,
    LabResult.assay,
)


def test_one_bad_result_among_three_writes_nothing_and_names_it(trial) -> None:
    _sample(trial, "CSF-B2")
    lab = trial["lab_technician"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match=r"results\[1\]\.unit") as err:
        sv.record_lab_results(
            trial.db,
            lab,
            sample_id="CSF-B2",
            results=[R("NFL", 2.5, "ng/mL"), R("VEGF", 3.0, "mg/dL"), R("MCP1", 40.0, "pg/mL")],
            assay="ELISA",
        )
    assert [(p.where, p.value) for p in err.value.problems] == [("results[1].unit", "mg/dL")]
    # every problem of every result is listed, each with its index and field
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_lab_results(
            trial.db,
            lab,
            sample_id="CSF-B2",
            results=[R("TAU", 1.0, "pg/mL"), R("VEGF", None, "pg/mL"), R("MCP1", -1.0, "mg/dL")],
            assay="",
        )
    assert [p.where for p in err.value.problems] == [
        "results[0].analyte",
        "results[1].value",
        "results[2].unit",
        "results[2].value",
        "assay",
    ]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="results"):
        sv.record_lab_results(trial.db, lab, sample_id="CSF-B2", results=[], assay="ELISA")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="CSF-0"):
        sv.record_lab_results(trial.db, lab, sample_id="CSF-0", results=[R("NFL", 1.0, "pg/mL")], assay="x")


def test_duplicate_analyte_within_the_batch_is_refused(trial) -> None:
    _sample(trial, "CSF-B3")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_lab_results(
            trial.db,
            trial["lab_technician"],
            sample_id="CSF-B3",
            results=[R("NFL", 2.5, "ng/mL"), R("VEGF", 30.0, "pg/mL"), R("NFL", 2400.0, "pg/mL")],
            assay="Simoa",
        )
    [problem] = err.value.problems
    assert (problem.where, problem.value) == ("results[2].analyte", "NFL")
    assert "duplicate of results[0]" in problem.reason


def test_batch_refuses_wrong_roles_other_sites_and_a_locked_database(trial) -> None:
    _sample(trial, "CSF-B4")
    one = [R("NFL", 2.5, "ng/mL")]
    for role in ("site_coordinator", "monitor", "data_manager", "pharmacist"):
        with no_trace(trial.db), pytest.raises(sv.PermissionDenied, match="may not record lab"):
            sv.record_lab_results(trial.db, trial[role], sample_id="CSF-B4", results=one, assay="Simoa")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="no participant"):
        sv.record_lab_results(trial.db, trial.other_site, sample_id="CSF-B4", results=one, assay="Simoa")
    sv.lock_database(trial.db, trial["admin"], reason="LPLV", password=PASSWORD, override_reason="test")
    with no_trace(trial.db), pytest.raises(sv.DatabaseLocked, match="locked"):
        sv.record_lab_results(trial.db, trial["lab_technician"], sample_id="CSF-B4", results=one, assay="Simoa")
    sv.unlock_database(trial.db, trial["admin"], reason="late lab report", password=PASSWORD)
    assert (
        len(sv.record_lab_results(trial.db, trial["lab_technician"], sample_id="CSF-B4", results=one, assay="S")) == 1
    )

"""Corrections (reason required, old and new values audited) and data queries."""

from __future__ import annotations

import pytest
from capture_calls import prepare

from alstrial import services as sv
from alstrial.store.models import AlsfrsAssessment
from conftest import alsfrs_items, no_trace


def test_correction_records_old_new_and_reason_and_rescores(trial) -> None:
    code = trial.at_day0()
    sc = trial["site_coordinator"]
    sv.record_alsfrs(trial.db, sc, code, "W0", alsfrs_items(40))
    with trial.db.sessions() as s:
        aid = s.query(AlsfrsAssessment.id).order_by(AlsfrsAssessment.id.desc()).first()[0]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="reason"):
        sv.correct_value(
            trial.db, sc, entity="alsfrs_assessment", entity_id=aid, field="q1", new_value=2, reason=" ", version=1
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="q1"):
        sv.correct_value(
            trial.db,
            sc,
            entity="alsfrs_assessment",
            entity_id=aid,
            field="q1",
            new_value=9,
            reason="transcription",
            version=1,
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="correctable fields"):
        sv.correct_value(
            trial.db,
            sc,
            entity="alsfrs_assessment",
            entity_id=aid,
            field="total",
            new_value=9,
            reason="transcription",
            version=1,
        )
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.correct_value(
            trial.db,
            sc,
            entity="alsfrs_assessment",
            entity_id=99999,
            field="q1",
            new_value=2,
            reason="transcription",
            version=1,
        )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="nothing to correct"):
        sv.correct_value(
            trial.db,
            sc,
            entity="alsfrs_assessment",
            entity_id=aid,
            field="q1",
            new_value=0,
            reason="transcription",
            version=1,
        )
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.correct_value(
            trial.db,
            trial.other_site,
            entity="alsfrs_assessment",
            entity_id=aid,
            field="q1",
            new_value=2,
            reason="transcription",
            version=1,
        )
    done = sv.correct_value(
        trial.db,
        sc,
        entity="alsfrs_assessment",
        entity_id=aid,
        field="q1",
        new_value="2",
        reason="transcription error",
        version=1,
    )
    assert (done.old, done.new, done.version) == (0, 2, 2)
    assert sv.visit_data(trial.db, sc, code)[2]["alsfrs_r_total"] == 42
    last = sv.audit_log(trial.db, trial["monitor"], participant=code)[-1]
    assert last.action == "alsfrs_assessment.correct" and last.reason == "transcription error"
    assert last.changes["q1"] == {"old": 0, "new": 2} and last.changes["total"] == {"old": 40, "new": 42}
    assert "q1: 0 → 2" in str(last)


def test_lab_correction_recomputes_the_standard_value(trial) -> None:
    ctx = prepare(trial)
    lab = trial["lab_technician"]
    sv.record_lab_result(trial.db, lab, sample_id="CSF-1", analyte="NFL", value=2.5, unit="ng/mL", assay="Simoa")
    from sqlalchemy import select

    from alstrial.store.models import LabResult

    with trial.db.sessions() as s:
        rid = s.execute(select(LabResult.id)).scalar_one()
    sv.correct_value(
        trial.db,
        lab,
        entity="lab_result",
        entity_id=rid,
        field="value_original",
        new_value=0.01,
        reason="re-read plate",
        version=1,
    )
    with trial.db.sessions() as s:
        row = s.get(LabResult, rid)
        assert (row.value_std, row.below_lloq) == (pytest.approx(10.0), True)
    assert ctx["rand"]


def test_query_lifecycle(trial) -> None:
    ctx = prepare(trial)
    dm, inv = trial["data_manager"], trial["investigator"]
    q = sv.open_query(
        trial.db, dm, entity="adverse_event", entity_id=ctx["ae"], field="onset_date", text="Onset before the dose?"
    )
    assert q.status == "open"
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="no such field"):
        sv.open_query(trial.db, dm, entity="adverse_event", entity_id=ctx["ae"], field="colour", text="?")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="entity"):
        sv.open_query(trial.db, dm, entity="spaceship", entity_id=1, field="x", text="?")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="answer"):
        sv.answer_query(trial.db, inv, q.id, answer="")
    assert sv.answer_query(trial.db, inv, q.id, answer="confirmed").status == "answered"
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="only an open query"):
        sv.answer_query(trial.db, inv, q.id, answer="again")
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.answer_query(trial.db, trial.other_site, ctx["query"], answer="not mine")
    assert sv.close_query(trial.db, dm, q.id, note="ok").status == "closed"
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already closed"):
        sv.close_query(trial.db, dm, q.id)
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.close_query(trial.db, dm, 4242)
    assert [x.status for x in sv.list_queries(trial.db, dm)] == ["open", "closed"]
    assert sv.list_queries(trial.db, trial.other_site) == []

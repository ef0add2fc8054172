"""Read services (``services/reads.py``): every field of a participant view, a detail and a visit row
comes from what was recorded; site roles see only their site; filters and pages; arms only for the
roles that may see them. Expected values are the inputs of the write calls, their return values, the
protocol's criteria and the stored rows read directly (not through the code under test)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from capture_calls import DAY0
from sqlalchemy import select, text

from alstrial import services as sv
from alstrial.protocol.loader import load_protocol
from alstrial.services.reads import PARTICIPANT_STATUSES, ParticipantView
from alstrial.store.models import AlsfrsAssessment, Participant, VisitRecord
from conftest import ELIGIBLE, SCREEN_DAY, alsfrs_items


@pytest.fixture
def cohort(trial):
    """S01: eligible A, screen failure B, randomized C (discontinued, with W0 data, a late W8 and then
    a W4 entered after it), enrolled D (withdrawn); S02: eligible X, screened first. Entry order thus
    differs from code order and from visit-date order, so the reads' ORDER BY clauses show."""
    inv, sc = trial["investigator"], trial["site_coordinator"]
    x = sv.screen_participant(
        trial.db, trial.other_site, screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=dict(ELIGIBLE)
    ).participant
    a, b = trial.screen(), trial.screen(eligible=False)
    c = trial.enrolled()
    rand = sv.randomize_participant(trial.db, inv, c)
    sv.record_visit(trial.db, inv, c, "W0", DAY0)
    sv.record_alsfrs(trial.db, sc, c, "W0", alsfrs_items(40))
    vc_id = sv.record_vital_capacity(trial.db, sc, c, "W0", percent_predicted=81.5, liters=3.4)
    weight_id = sv.record_weight(trial.db, sc, c, "W0", weight_kg=72.3)
    sv.record_visit(trial.db, sc, c, "W8", DAY0 + timedelta(days=70), out_of_window_reason="hospitalised")
    sv.record_visit(trial.db, sc, c, "W4", DAY0 + timedelta(days=28))
    sv.discontinue_treatment(
        trial.db, inv, c, on=DAY0 + timedelta(days=71), reason_code="ADVERSE EVENT", decided_by="investigator"
    )
    d = trial.enrolled()
    sv.withdraw_participant(
        trial.db,
        inv,
        d,
        on=SCREEN_DAY + timedelta(days=60),
        reason_code="WITHDRAWAL BY SUBJECT",
        decided_by="participant",
    )
    return {"A": a, "B": b, "C": c, "D": d, "X": x, "rand": rand, "vc_id": vc_id, "weight_id": weight_id}


def _view(code, site, status, eligible, enrolled=False, **kw) -> ParticipantView:
    fields = dict(stratum=None, kit_code=None, randomized_at=None, day0=None)
    fields.update(kw.pop("fields", {}))
    return ParticipantView(
        code,
        site,
        status,
        eligible,
        SCREEN_DAY,
        SCREEN_DAY if enrolled else None,
        fields["stratum"],
        fields["kit_code"],
        fields["randomized_at"],
        fields["day0"],
        kw.get("discontinued", False),
        kw.get("withdrawn", False),
        kw.get("arm"),
    )


def _expected(cohort, arm=None) -> list[ParticipantView]:
    r = cohort["rand"]
    c_fields = dict(stratum=r.stratum, kit_code=r.kit_code, randomized_at=r.randomized_at, day0=DAY0)
    return [
        _view(cohort["A"], "S01", "eligible", True),
        _view(cohort["B"], "S01", "screen_failed", False),
        _view(cohort["C"], "S01", "randomized", True, enrolled=True, fields=c_fields, discontinued=True, arm=arm),
        _view(cohort["D"], "S01", "enrolled", True, enrolled=True, withdrawn=True),
        _view(cohort["X"], "S02", "eligible", True),
    ]


def _same_instant(got: list[ParticipantView], want: list[ParticipantView]) -> None:
    """Equal views; randomization times compared as instants (a backend may drop the time zone)."""
    for g, w in zip(got, want, strict=True):
        assert g.randomized_at == w.randomized_at or g.randomized_at.replace(tzinfo=None) == w.randomized_at.replace(
            tzinfo=None
        )
    assert [v.__class__(**{**v.__dict__, "randomized_at": None}) for v in got] == [
        v.__class__(**{**v.__dict__, "randomized_at": None}) for v in want
    ]


def test_every_view_field_comes_from_what_was_recorded(trial, cohort) -> None:
    blinded = sv.list_participants(trial.db, trial["monitor"])
    _same_instant(blinded, _expected(cohort))
    assert all("arm" not in v.to_dict() for v in blinded)
    (slot,) = [row for row in sv.allocation_list(trial.db, trial["pharmacist"]) if row.participant == cohort["C"]]
    assert slot.kit_code == cohort["rand"].kit_code
    unblinded = sv.list_participants(trial.db, trial["pharmacist"])
    _same_instant(unblinded, _expected(cohort, arm=slot.arm))
    assert [v.to_dict().get("arm") for v in unblinded] == [None, None, slot.arm, None, None]
    assert unblinded[2].to_dict() == {
        "code": cohort["C"],
        "site": "S01",
        "status": "randomized",
        "eligible": True,
        "screened_on": SCREEN_DAY,
        "enrolled_on": SCREEN_DAY,
        "stratum": cohort["rand"].stratum,
        "kit_code": cohort["rand"].kit_code,
        "randomized_at": unblinded[2].randomized_at,
        "day0": DAY0,
        "treatment_discontinued": True,
        "withdrawn": False,
        "arm": slot.arm,
    }


def test_site_roles_see_their_site_only_and_filters_page(trial, cohort) -> None:
    def codes(actor, **kw) -> list[str]:
        return [v.code for v in sv.list_participants(trial.db, actor, **kw)]

    s01 = [cohort[k] for k in "ABCD"]
    assert codes(trial["site_coordinator"]) == s01
    assert codes(trial["investigator"]) == s01
    assert codes(trial.other_site) == [cohort["X"]]
    assert codes(trial["monitor"]) == [*s01, cohort["X"]]
    assert codes(trial["monitor"], site="S02") == [cohort["X"]]
    assert codes(trial["monitor"], status="randomized") == [cohort["C"]]
    assert codes(trial["monitor"], site="S01", status="eligible") == [cohort["A"]]
    assert codes(trial["monitor"], offset=1, limit=2) == s01[1:3]
    assert codes(trial["monitor"], offset=4) == [cohort["X"]]
    assert codes(trial.other_site, offset=1) == []
    # a code filter applies before the page is cut, and another site's code finds nothing
    assert codes(trial["monitor"], code=cohort["C"], limit=1) == [cohort["C"]]
    assert codes(trial["monitor"], code=cohort["X"], offset=0, limit=1) == [cohort["X"]]
    assert codes(trial["site_coordinator"], code=cohort["X"]) == []
    with pytest.raises(sv.ValidationFailed) as err:
        sv.list_participants(trial.db, trial["monitor"], status="dead", limit=0)
    assert [(p.where, p.value) for p in err.value.problems] == [("limit", 0), ("status", "dead")]
    assert f"expected one of {', '.join(PARTICIPANT_STATUSES)}" in str(err.value)
    assert str(err.value).startswith("participant list: 2 problem(s)")
    with pytest.raises(sv.NotFound):  # another site's participant reads like an unknown code
        sv.participant_detail(trial.db, trial.other_site, cohort["A"])


def _stored_ids(trial, code: str) -> dict[str, tuple[int, int | None]]:
    """visit code → (visit record id, ALSFRS-R id), read from the tables directly."""
    with trial.db.engine.connect() as conn:
        rows = conn.execute(
            select(VisitRecord.visit_code, VisitRecord.id, AlsfrsAssessment.id)
            .outerjoin(AlsfrsAssessment, AlsfrsAssessment.visit_record_id == VisitRecord.id)
            .join(Participant, Participant.id == VisitRecord.participant_id)
            .where(Participant.code == code)
        ).all()
    return {visit: (vid, aid) for visit, vid, aid in rows}


def _visit(visit, vid, day, visit_date, *, alsfrs=None, in_window=True, deviation=0, reason=None, **extra):
    aid, total, items = alsfrs if alsfrs else (None, None, None)
    row = {
        "visit": visit,
        "visit_record_id": vid,
        "visit_record_version": 1,
        "visit_date": visit_date,
        "study_day": day,
        "in_window": in_window,
        "deviation_days": deviation,
        "out_of_window_reason": reason,
        "alsfrs_r_id": aid,
        "alsfrs_r_version": 1 if alsfrs else None,
        "alsfrs_r_total": total,
        "alsfrs_r_items": items,
        "vital_capacity_id": None,
        "vital_capacity_version": None,
        "vital_capacity_pct": None,
        "weight_id": None,
        "weight_version": None,
        "weight_kg": None,
    }
    row.update(extra)
    return row


def _items(total: int) -> dict[str, object]:
    return {**alsfrs_items(total), "q5b": None}


def test_detail_and_visit_rows_hold_every_recorded_value(trial, cohort) -> None:
    c = cohort["C"]
    ids = _stored_ids(trial, c)
    want = [
        _visit("SCR", ids["SCR"][0], -90, SCREEN_DAY, alsfrs=(ids["SCR"][1], 38, _items(38))),
        _visit(
            "RUNIN", ids["RUNIN"][0], -35, SCREEN_DAY + timedelta(days=55), alsfrs=(ids["RUNIN"][1], 34, _items(34))
        ),
        _visit(
            "W0",
            ids["W0"][0],
            0,
            DAY0,
            alsfrs=(ids["W0"][1], 40, _items(40)),
            vital_capacity_id=cohort["vc_id"],
            vital_capacity_version=1,
            vital_capacity_pct=81.5,
            weight_id=cohort["weight_id"],
            weight_version=1,
            weight_kg=72.3,
        ),
        _visit("W4", ids["W4"][0], 28, DAY0 + timedelta(days=28)),
        _visit("W8", ids["W8"][0], 70, DAY0 + timedelta(days=70), in_window=False, deviation=7, reason="hospitalised"),
    ]
    assert sv.visit_data(trial.db, trial["monitor"], c) == want
    detail = sv.participant_detail(trial.db, trial["site_coordinator"], c)
    assert list(detail.visits) == want
    assert detail.participant == sv.list_participants(trial.db, trial["site_coordinator"], status="randomized")[0]
    # Screening values, plus the run-in decline judged at randomization (SCR 38 − RUNIN 34 points).
    values = {**ELIGIBLE, "alsfrs_r_runin_decline": 38 - 34}
    assert cohort["rand"].runin_decline == 4
    assert [{**e, "value": json.loads(str(e["value"]))} for e in detail.eligibility] == [
        {
            "criterion": k.id,
            "kind": k.kind,
            "text": k.text,
            "value": values[k.field],
            "outcome": "met" if k.kind == "inclusion" else "not_met",
            "passed": True,
        }
        for k in load_protocol().eligibility
    ]
    assert detail.to_dict() == {
        "participant": detail.participant.to_dict(),
        "eligibility": list(detail.eligibility),
        "visits": want,
    }
    failed = sv.participant_detail(trial.db, trial["monitor"], cohort["B"])
    (age,) = [e for e in failed.eligibility if e["criterion"] == "IN1"]
    assert (age["value"], age["outcome"], age["passed"]) == ("70", "not_met", False)
    assert failed.visits == () and failed.to_dict()["visits"] == []


def test_detail_and_visit_reads_do_not_wait_for_a_writer(sqlite_trial) -> None:
    """Read services run in read transactions: on SQLite they finish while another connection holds
    the write lock (a write transaction would queue behind it and end as DatabaseBusy)."""
    t = sqlite_trial
    code = t.at_day0()
    monitor = t["monitor"]
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with t.db.sessions.begin() as s:  # BEGIN IMMEDIATE: holds SQLite's write lock
            s.execute(text("UPDATE site SET name = name"))
            holding.set()
            release.wait(120)

    holder = threading.Thread(target=writer, daemon=True)
    holder.start()
    assert holding.wait(30), "the writer did not start"
    done: list[object] = []

    def read() -> None:
        done.append(sv.participant_detail(t.db, monitor, code))
        done.append(sv.visit_data(t.db, monitor, code))
        done.append(sv.list_participants(t.db, monitor))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    finished_while_held = not reader.is_alive()
    release.set()
    holder.join(60)
    assert finished_while_held and len(done) == 3, "a read waited for the writer or failed"

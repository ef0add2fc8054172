"""The screening run-in: IN6 (ALSFRS-R decline ≥ 3) is pending at screening and judged at its end."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from alstrial import services as sv
from alstrial.store.models import AlsfrsAssessment, EligibilityOutcome, Participant, VisitRecord
from conftest import ELIGIBLE, PASSWORD, SCREEN_DAY, Trial, alsfrs_items, no_trace


def outcome(t: Trial, code: str, criterion: str = "IN6") -> tuple[str, bool | None, object]:
    with t.db.sessions() as s:
        row = s.execute(
            select(EligibilityOutcome)
            .join(Participant, Participant.id == EligibilityOutcome.participant_id)
            .where(Participant.code == code, EligibilityOutcome.criterion_id == criterion)
        ).scalar_one()
        return row.outcome, row.passed, None if row.value is None else json.loads(row.value)


def stored(t: Trial, code: str) -> Participant:
    with t.db.sessions() as s:
        return s.execute(select(Participant).where(Participant.code == code)).scalar_one()


def enrolled_with_runin(t: Trial, runin_total: int, screening_total: int = 38) -> str:
    """Screened, enrolled, with the ALSFRS-R at SCR and at the end of the run-in (RUNIN)."""
    sc = t["site_coordinator"]
    code = t.screen()
    sv.enrol_participant(t.db, sc, code, enrolled_on=SCREEN_DAY)
    sv.record_visit(t.db, sc, code, "SCR", SCREEN_DAY)
    sv.record_alsfrs(t.db, sc, code, "SCR", alsfrs_items(screening_total))
    sv.record_visit(t.db, sc, code, "RUNIN", SCREEN_DAY + timedelta(days=55))
    sv.record_alsfrs(t.db, sc, code, "RUNIN", alsfrs_items(runin_total))
    return code


def test_screening_leaves_the_runin_criterion_pending(trial) -> None:
    result = sv.screen_participant(
        trial.db, trial["site_coordinator"], screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=ELIGIBLE
    )
    assert result.eligible and result.failed_criteria == () and result.pending_criteria == ("IN6",)
    assert "pending at the end of the run-in: IN6" in str(result)
    assert outcome(trial, result.participant) == ("pending", None, None)
    assert stored(trial, result.participant).status == "eligible"
    screen = sv.audit_log(trial.db, trial["monitor"], participant=result.participant)[-1]
    assert screen.action == "participant.screen" and screen.changes["pending_criteria"] == {"old": None, "new": ["IN6"]}
    # the decline cannot be known at screening: a value is refused, naming the field
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="alsfrs_r_runin_decline") as err:
        sv.screen_participant(
            trial.db,
            trial["site_coordinator"],
            screened_on=SCREEN_DAY,
            consent_date=SCREEN_DAY,
            values=dict(ELIGIBLE, alsfrs_r_runin_decline=4),
        )
    assert [(p.where, p.value) for p in err.value.problems] == [("alsfrs_r_runin_decline", 4)]
    assert "not known at screening" in err.value.problems[0].reason


def test_complete_runin_judges_the_pending_criterion(trial) -> None:
    code = enrolled_with_runin(trial, runin_total=34)
    result = sv.complete_runin(trial.db, trial["site_coordinator"], code)
    assert (result.participant, result.decline, result.eligible, result.failed_criteria) == (code, 4, True, ())
    assert str(result) == f"{code}: ALSFRS-R decline 4 during the run-in: eligible" and result.to_dict()["decline"] == 4
    assert outcome(trial, code) == ("met", True, 4)
    p = stored(trial, code)
    assert p.status == "enrolled" and p.eligible and json.loads(p.screening_json)["alsfrs_r_runin_decline"] == 4
    line = sv.audit_log(trial.db, trial["monitor"], participant=code)[-1]
    assert (line.action, line.username, line.entity) == (
        "participant.complete_runin",
        "site_coordinator",
        "participant",
    )
    assert line.changes == {
        "alsfrs_r_runin_decline": {"old": None, "new": 4},
        "criterion IN6": {"old": "pending", "new": "met"},
    }
    # judged again on unchanged data: same verdict, nothing written
    with no_trace(trial.db):
        assert sv.complete_runin(trial.db, trial["investigator"], code) == result
    randomized = sv.randomize_participant(trial.db, trial["investigator"], code)
    assert randomized.runin_decline == 4
    assert [a.action for a in sv.audit_log(trial.db, trial["monitor"], participant=code)][-2:] == [
        "participant.complete_runin",
        "participant.randomize",
    ]


def test_a_failed_runin_is_a_screen_failure_with_its_reason(trial) -> None:
    from alstrial.analysis.from_store import datasets_from_store

    code = enrolled_with_runin(trial, runin_total=37)  # declined by 1 < 3
    result = sv.complete_runin(trial.db, trial["investigator"], code)
    assert (result.decline, result.eligible, result.failed_criteria) == (1, False, ("IN6",))
    assert "run-in failure (IN6)" in str(result)
    assert outcome(trial, code) == ("not_met", False, 1)
    p = stored(trial, code)
    assert (p.status, p.eligible) == ("screen_failed", False)
    line = sv.audit_log(trial.db, trial["monitor"], participant=code)[-1]
    assert line.action == "participant.complete_runin"
    assert line.changes["status"] == {"old": "enrolled", "new": "screen_failed"}
    assert line.changes["criterion IN6"] == {"old": "pending", "new": "not_met"}
    assert line.changes["failed_criteria"] == {"old": None, "new": ["IN6"]}
    with no_trace(trial.db), pytest.raises(sv.NotEligible, match="screen failure") as err:
        sv.randomize_participant(trial.db, trial["investigator"], code)
    assert isinstance(err.value, sv.InvalidState)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="screen_failed"):
        sv.complete_runin(trial.db, trial["investigator"], code)
    # the analysis datasets (CONSORT) count it as a screen failure with IN6 as its reason; a
    # screening failure does not list the never-judged IN6 among its reasons
    failed_at_screening = trial.screen(eligible=False)
    randomized = trial.randomized()
    sv.sign_casebook(trial.db, trial["investigator"], randomized, password=PASSWORD, meaning="approval")
    sv.lock_database(trial.db, trial["data_manager"], reason="end of study", password=PASSWORD)
    sv.unblind_trial(trial.db, trial["unblinded_statistician"], reason="final analysis", password=PASSWORD)
    with trial.db.sessions() as s:
        adsl = datasets_from_store(s, trial.db.protocol(s)).adsl.set_index("USUBJID")
    assert not adsl.loc[code, "ELIGFL"] and adsl.loc[code, "FAILCRIT"] == "IN6"
    assert not adsl.loc[failed_at_screening, "ELIGFL"] and adsl.loc[failed_at_screening, "FAILCRIT"] == "IN1"
    assert adsl.loc[randomized, "ELIGFL"] and adsl.loc[randomized, "FAILCRIT"] == ""


def test_randomization_completes_a_runin_left_open_and_refuses_a_failing_one(trial) -> None:
    code = enrolled_with_runin(trial, runin_total=30)
    assert outcome(trial, code) == ("pending", None, None)
    assert sv.randomize_participant(trial.db, trial["investigator"], code).runin_decline == 8
    assert outcome(trial, code) == ("met", True, 8)
    lines = sv.audit_log(trial.db, trial["monitor"], participant=code)[-2:]
    assert [a.action for a in lines] == ["participant.complete_runin", "participant.randomize"]
    assert lines[0].changes["criterion IN6"] == {"old": "pending", "new": "met"}
    failing = enrolled_with_runin(trial, runin_total=36)
    with no_trace(trial.db), pytest.raises(sv.NotEligible, match="end of the run-in") as err:
        sv.randomize_participant(trial.db, trial["investigator"], failing)
    assert err.value.failed == ["IN6"]
    assert outcome(trial, failing) == ("pending", None, None) and stored(trial, failing).status == "enrolled"


def test_a_corrected_runin_score_is_judged_again(trial) -> None:
    code = enrolled_with_runin(trial, runin_total=34)
    sv.complete_runin(trial.db, trial["site_coordinator"], code)
    with trial.db.sessions() as s:
        runin_id, q1 = s.execute(
            select(AlsfrsAssessment.id, AlsfrsAssessment.q1)
            .join(VisitRecord, VisitRecord.id == AlsfrsAssessment.visit_record_id)
            .where(VisitRecord.visit_code == "RUNIN")
        ).one()
    assert q1 == 0  # alsfrs_items(34) takes the missing points from the first items
    # a transcription error: the run-in score was 2 points higher (decline 2, not 4)
    sv.correct_value(
        trial.db,
        trial["site_coordinator"],
        entity="alsfrs_assessment",
        entity_id=runin_id,
        field="q1",
        new_value=2,
        reason="source document",
        version=1,
    )
    with no_trace(trial.db), pytest.raises(sv.NotEligible, match="IN6"):
        sv.randomize_participant(trial.db, trial["investigator"], code)
    result = sv.complete_runin(trial.db, trial["site_coordinator"], code)
    assert (result.decline, result.eligible) == (2, False)
    line = sv.audit_log(trial.db, trial["monitor"], participant=code)[-1]
    assert line.changes["alsfrs_r_runin_decline"] == {"old": 4, "new": 2}
    assert line.changes["criterion IN6"] == {"old": "met", "new": "not_met"}
    assert stored(trial, code).status == "screen_failed"


def test_complete_runin_needs_an_enrolled_participant_with_both_scores(trial) -> None:
    inv = trial["investigator"]
    screened = trial.screen()
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="is eligible; only an enrolled participant"):
        sv.complete_runin(trial.db, inv, screened)
    failure = trial.screen(eligible=False)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="is screen_failed"):
        sv.complete_runin(trial.db, inv, failure)
    randomized = trial.randomized()
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="is randomized"):
        sv.complete_runin(trial.db, inv, randomized)
    sv.enrol_participant(trial.db, trial["site_coordinator"], screened, enrolled_on=SCREEN_DAY)
    sv.record_visit(trial.db, inv, screened, "SCR", SCREEN_DAY)
    sv.record_alsfrs(trial.db, inv, screened, "SCR", alsfrs_items(40))
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="no ALSFRS-R at run-in visit 'RUNIN'"):
        sv.complete_runin(trial.db, inv, screened)
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="S01-9999"):
        sv.complete_runin(trial.db, inv, "S01-9999")


def test_complete_runin_checks_role_site_and_lock(trial) -> None:
    code = enrolled_with_runin(trial, runin_total=34)
    for role in ("data_manager", "lab_technician", "pharmacist", "statistician", "monitor", "admin"):
        with no_trace(trial.db), pytest.raises(sv.PermissionDenied, match="may not randomize"):
            sv.complete_runin(trial.db, trial[role], code)
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="no participant"):
        sv.complete_runin(trial.db, trial.other_site, code)
    sv.lock_database(trial.db, trial["data_manager"], reason="interim freeze", password=PASSWORD)
    with no_trace(trial.db), pytest.raises(sv.DatabaseLocked, match="locked"):
        sv.complete_runin(trial.db, trial["investigator"], code)
    sv.unlock_database(trial.db, trial["admin"], reason="freeze over", password=PASSWORD)
    assert sv.complete_runin(trial.db, trial["investigator"], code).eligible
    assert outcome(trial, code) == ("met", True, 4)


def test_a_protocol_without_runin_criteria_has_nothing_pending(capture_db) -> None:
    from alstrial.protocol import default_protocol_path
    from conftest import make_trial

    text = default_protocol_path().read_text(encoding="utf-8")
    start = text.index('[[eligibility]]\nid = "IN6"')
    end = text.index("[[eligibility]]", start + 1)
    t = make_trial(capture_db, text[:start] + text[end:])
    screened = sv.screen_participant(
        t.db, t["site_coordinator"], screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=ELIGIBLE
    )
    assert screened.eligible and screened.pending_criteria == ()
    code = enrolled_with_runin(t, runin_total=38)  # no decline at all, and none required
    with no_trace(t.db):
        result = sv.complete_runin(t.db, t["site_coordinator"], code)
    assert (result.decline, result.eligible, result.failed_criteria) == (0, True, ())
    assert sv.randomize_participant(t.db, t["investigator"], code).runin_decline == 0

"""Screening, enrolment, the run-in and randomization from the concealed list."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alstrial import services as sv
from alstrial.store.models import EligibilityOutcome
from conftest import ELIGIBLE, SCREEN_DAY, alsfrs_items, no_trace


def test_screen_failures_are_kept_with_every_failed_criterion(trial) -> None:
    sc = trial["site_coordinator"]
    values = dict(ELIGIBLE, age_years=70, svc_percent_predicted=50, prior_stem_cell_therapy=True)
    result = sv.screen_participant(trial.db, sc, screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=values)
    assert not result.eligible and result.failed_criteria == ("IN1", "IN5", "EX1")
    assert result.participant == "S01-0001" and "screen failure" in str(result)
    with trial.db.sessions() as s:
        rows = s.scalars(select(EligibilityOutcome).order_by(EligibilityOutcome.id)).all()
    assert len(rows) == 9 and [r.criterion_id for r in rows if r.passed is False] == ["IN1", "IN5", "EX1"]
    # the run-in criterion is never judged for a screen failure: not a reason for the failure
    assert [(r.criterion_id, r.outcome, r.passed) for r in rows if r.passed is None] == [("IN6", "not_assessed", None)]
    with no_trace(trial.db), pytest.raises(sv.NotEligible, match="IN1") as err:
        sv.enrol_participant(trial.db, sc, result.participant, enrolled_on=SCREEN_DAY)
    assert err.value.failed == ["IN1", "IN5", "EX1"]
    detail = sv.participant_detail(trial.db, trial["monitor"], result.participant)
    assert detail.participant.status == "screen_failed" and len(detail.eligibility) == 9


def test_screening_validates_every_value(trial) -> None:
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.screen_participant(
            trial.db,
            trial["site_coordinator"],
            screened_on=SCREEN_DAY,
            consent_date=SCREEN_DAY.replace(day=7),
            values=dict(ELIGIBLE, sex="X", age_years="old", height=180),
        )
    assert {p.where for p in err.value.problems} == {"consent_date", "sex", "age_years", "height"}
    # a typo outside the field's range (age 0 to 120 in the seed protocol) is refused, not judged:
    # it must not be recorded as a screen failure on the age criterion
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match=r"age_years.*expected 0 to 120 \(years\)"):
        sv.screen_participant(
            trial.db,
            trial["site_coordinator"],
            screened_on=SCREEN_DAY,
            consent_date=SCREEN_DAY,
            values=dict(ELIGIBLE, age_years=250),
        )
    with no_trace(trial.db), pytest.raises(sv.PermissionDenied, match="may not screen at site"):
        sv.screen_participant(
            trial.db,
            trial["site_coordinator"],
            screened_on=SCREEN_DAY,
            consent_date=SCREEN_DAY,
            values=ELIGIBLE,
            site="S02",
        )


def test_enrol_and_randomize_gives_a_kit_code_not_an_arm(trial) -> None:
    code = trial.enrolled()
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already enrolled"):
        sv.enrol_participant(trial.db, trial["site_coordinator"], code, enrolled_on=SCREEN_DAY)
    result = sv.randomize_participant(trial.db, trial["investigator"], code)
    assert result.kit_code.startswith("K-") and result.stratum == "site=S01|alsfrs_r_band=ge35"
    assert result.runin_decline == 4 and "arm" not in result.to_dict()
    assert sv.participant_arm(trial.db, trial["unblinded_statistician"], code) in {"MSC", "PBO"}
    first_slot = next(
        r for r in sv.allocation_list(trial.db, trial["pharmacist"]) if r.stratum == result.stratum and r.sequence == 1
    )
    assert (first_slot.participant, first_slot.kit_code) == (code, result.kit_code)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="randomized"):
        sv.randomize_participant(trial.db, trial["investigator"], code)


def test_randomization_follows_the_list_in_each_stratum(trial) -> None:
    codes = [trial.enrolled(alsfrs_r_total=30) for _ in range(4)]
    kits = [sv.randomize_participant(trial.db, trial["investigator"], c).kit_code for c in codes]
    rows = [r for r in sv.allocation_list(trial.db, trial["pharmacist"]) if r.stratum == "site=S01|alsfrs_r_band=lt35"]
    assert [r.kit_code for r in rows[:4]] == kits and [r.participant for r in rows[:4]] == codes


def test_randomize_needs_the_run_in_and_rechecks_eligibility(trial) -> None:
    inv, sc = trial["investigator"], trial["site_coordinator"]
    code = trial.screen()
    sv.enrol_participant(trial.db, sc, code, enrolled_on=SCREEN_DAY)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="run-in visit 'SCR'"):
        sv.randomize_participant(trial.db, inv, code)
    from datetime import timedelta

    sv.record_visit(trial.db, sc, code, "SCR", SCREEN_DAY)
    sv.record_alsfrs(trial.db, sc, code, "SCR", alsfrs_items(38))
    sv.record_visit(trial.db, sc, code, "RUNIN", SCREEN_DAY + timedelta(days=55))
    sv.record_alsfrs(trial.db, sc, code, "RUNIN", alsfrs_items(37))  # declined by 1 < 3 (IN6)
    with no_trace(trial.db), pytest.raises(sv.NotEligible, match="IN6") as err:
        sv.randomize_participant(trial.db, inv, code)
    assert err.value.failed == ["IN6"]
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.randomize_participant(trial.db, inv, "S01-9999")
    with no_trace(trial.db), pytest.raises(sv.NotFound) as other:
        sv.randomize_participant(trial.db, trial.other_site, code)
    with pytest.raises(sv.NotFound) as missing:
        sv.randomize_participant(trial.db, trial.other_site, "S01-9999")
    # another site's participant and a code that does not exist read the same: no probing of codes
    assert str(other.value).replace(code, "X") == str(missing.value).replace("S01-9999", "X")


def test_an_exhausted_stratum_list_stops_randomization(capture_db) -> None:
    from alstrial.protocol import default_protocol_path
    from conftest import make_trial

    text = default_protocol_path().read_text(encoding="utf-8").replace("per_stratum = 60", "per_stratum = 1")
    t = make_trial(capture_db, text)
    randomized = []
    with pytest.raises(sv.AllocationUnavailable, match="used up"):
        for _ in range(8):
            code = t.enrolled()
            before = __import__("conftest").snapshot(t.db)
            try:
                sv.randomize_participant(t.db, t["investigator"], code)
            except sv.AllocationUnavailable:
                assert __import__("conftest").snapshot(t.db) == before
                raise
            randomized.append(code)
    assert 1 <= len(randomized) <= 6  # the list ends at a block boundary (2, 4 or 6 entries)

"""Adverse events, intercurrent events, treatment discontinuation and study withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from capture_calls import DAY0

from alstrial import services as sv
from conftest import no_trace

AE = dict(
    term="Headache",
    onset_date=DAY0,
    severity="MILD",
    relatedness="POSSIBLY RELATED",
    action_taken="DOSE NOT CHANGED",
    outcome="RECOVERED/RESOLVED",
)


def test_adverse_events_with_seriousness_criteria(trial) -> None:
    code = trial.at_day0()
    inv = trial["investigator"]
    sv.record_adverse_event(trial.db, inv, code, **AE)
    sae = dict(AE, term="Meningitis", severity="SEVERE", outcome="RECOVERING/RESOLVING")
    assert sv.record_adverse_event(trial.db, inv, code, **sae, serious=True, criteria=("hospitalization",)) > 0
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_adverse_event(
            trial.db,
            inv,
            code,
            **dict(AE, severity="GRAVE", outcome="FATAL"),
            serious=True,
            resolution_date=DAY0 - timedelta(days=1),
        )
    assert {p.where for p in err.value.problems} == {"severity", "criteria", "resolution_date", "outcome"}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="not marked serious"):
        sv.record_adverse_event(trial.db, inv, code, **AE, criteria=("death",))
    failed = trial.screen(eligible=False)
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="screen failure"):
        sv.record_adverse_event(trial.db, inv, failed, **AE)


def test_intercurrent_events(trial) -> None:
    code = trial.at_day0()
    inv = trial["investigator"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_intercurrent_event(
            trial.db,
            inv,
            code,
            kind="permanent_assisted_ventilation",
            event_date=DAY0,
            hours_per_day=22,
            consecutive_days=7,
        )
    assert {p.where for p in err.value.problems} == {"hours_per_day", "consecutive_days"}
    sv.record_intercurrent_event(
        trial.db,
        inv,
        code,
        kind="permanent_assisted_ventilation",
        event_date=DAY0 + timedelta(days=50),
        hours_per_day=23,
        consecutive_days=8,
    )
    sv.record_intercurrent_event(trial.db, inv, code, kind="gastrostomy", event_date=DAY0 + timedelta(days=20))
    sv.record_intercurrent_event(
        trial.db, inv, code, kind="death", event_date=DAY0 + timedelta(days=60), details="respiratory failure"
    )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="died"):
        sv.record_intercurrent_event(trial.db, inv, code, kind="tracheostomy", event_date=DAY0 + timedelta(days=61))
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already recorded"):
        sv.record_intercurrent_event(trial.db, inv, code, kind="gastrostomy", event_date=DAY0 + timedelta(days=20))
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="kind"):
        sv.record_intercurrent_event(trial.db, inv, code, kind="coma", event_date=DAY0)


def test_discontinuation_and_withdrawal_are_distinct(trial) -> None:
    code = trial.at_day0()
    inv, sc = trial["investigator"], trial["site_coordinator"]
    sv.discontinue_treatment(
        trial.db, inv, code, on=DAY0 + timedelta(days=20), reason_code="ADVERSE EVENT", decided_by="investigator"
    )
    # follow-up continues after stopping treatment
    assert sv.record_visit(trial.db, sc, code, "W4", DAY0 + timedelta(days=28)).in_window
    view = sv.list_participants(trial.db, sc)[0]
    assert view.treatment_discontinued and not view.withdrawn
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already discontinued"):
        sv.discontinue_treatment(
            trial.db, inv, code, on=DAY0, reason_code="OTHER", decided_by="sponsor", reason_text="x"
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.withdraw_participant(trial.db, inv, code, on=DAY0, reason_code="OTHER", decided_by="mother")
    assert {p.where for p in err.value.problems} == {"decided_by", "reason_text"}
    sv.withdraw_participant(
        trial.db,
        inv,
        code,
        on=DAY0 + timedelta(days=40),
        reason_code="WITHDRAWAL BY SUBJECT",
        decided_by="participant",
        vital_status_followup=True,
    )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="withdrew"):
        sv.record_visit(trial.db, sc, code, "W8", DAY0 + timedelta(days=56))
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already withdrawn"):
        sv.withdraw_participant(trial.db, inv, code, on=DAY0, reason_code="DEATH", decided_by="investigator")
    enrolled = trial.enrolled()
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="only a randomized"):
        sv.discontinue_treatment(trial.db, inv, enrolled, on=DAY0, reason_code="DEATH", decided_by="investigator")

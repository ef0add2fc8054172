"""Request keys: a retried create returns the first result, for every kind of result a service gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from capture_calls import AT0, prepare

from alstrial import services as sv
from alstrial.services.labs import LabResultInput
from conftest import PASSWORD, SCREEN_DAY, alsfrs_items, no_trace


def test_retries_replay_the_first_result_and_write_nothing(trial) -> None:
    ctx = prepare(trial)
    code, inv, lab = ctx["rand"], trial["investigator"], trial["lab_technician"]
    day28 = SCREEN_DAY + timedelta(days=90 + 28)
    calls = {
        "visit": lambda: sv.record_visit(trial.db, inv, code, "W4", day28, request_key="v-W4"),
        "alsfrs": lambda: sv.record_alsfrs(trial.db, inv, code, "W4", alsfrs_items(39), request_key="a-W4"),
        "svc": lambda: sv.record_vital_capacity(trial.db, inv, code, "W4", percent_predicted=77.0, request_key="s-W4"),
        "labs": lambda: sv.record_lab_results(
            trial.db,
            lab,
            sample_id="CSF-1",
            results=[LabResultInput("NFL", 2.0, "ng/mL"), LabResultInput("VEGF", None, "pg/mL", True)],
            assay="Simoa",
            request_key="lab-CSF-1",
        ),
        "dose": lambda: sv.administer_dose(
            trial.db,
            inv,
            code,
            lot_number=ctx["lot_released"],
            label_coi_id=ctx["coi"],
            administered_at=AT0,
            dose_number=1,
            request_key="dose-1",
        ),
    }
    calls["sign"] = lambda: sv.sign_casebook(
        trial.db, inv, code, password=PASSWORD, meaning="approval", request_key="sign-1"
    )
    for name, call in calls.items():
        first = call()
        with no_trace(trial.db):
            again = call()
        assert again == first, name
    # without a key the same create is a conflict, not a duplicate
    with no_trace(trial.db), pytest.raises(sv.Conflict):
        sv.record_visit(trial.db, inv, code, "W4", day28)


def test_a_bad_key_is_refused(trial) -> None:
    code = trial.randomized()
    for key in ("", " padded ", "x" * 129, "tab\tkey"):
        with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="request_key"):
            sv.record_visit(
                trial.db, trial["investigator"], code, "W0", SCREEN_DAY + timedelta(days=90), request_key=key
            )


def test_a_retried_query_is_opened_once(trial) -> None:
    ctx = prepare(trial)
    before = len(sv.list_queries(trial.db, trial["monitor"]))
    first = sv.open_query(
        trial.db,
        trial["data_manager"],
        entity="adverse_event",
        entity_id=ctx["ae"],
        field="term",
        text="spelling?",
        request_key="q-1",
    )
    assert (
        sv.open_query(
            trial.db,
            trial["data_manager"],
            entity="adverse_event",
            entity_id=first.entity_id,
            field="term",
            text="spelling?",
            request_key="q-1",
        )
        == first
    )
    assert len(sv.list_queries(trial.db, trial["monitor"])) == before + 1

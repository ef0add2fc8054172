"""Hostile and clumsy input to the capture services: clear domain errors, nothing written, never a traceback.

The named cases come from issue 14's list of values that were accepted or crashed; the fuzzers
throw arbitrary cells at every CSV importer and arbitrary files at the CSV reader.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from capture_calls import AT0, prepare
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alstrial import services as sv
from alstrial.errors import AlstrialError
from alstrial.services.imports import TABLES, import_rows, read_csv
from conftest import ELIGIBLE, SCREEN_DAY, no_trace


@pytest.mark.parametrize("age", ["inf", "1e400", "nan", float("inf"), float("nan"), "-inf"])
def test_non_finite_screening_numbers_are_refused(trial, age: object) -> None:
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="finite"):
        sv.screen_participant(
            trial.db,
            trial["site_coordinator"],
            screened_on=SCREEN_DAY,
            consent_date=SCREEN_DAY,
            values=dict(ELIGIBLE, age_years=age),
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="finite"):
        sv.screen_participant(
            trial.db,
            trial["site_coordinator"],
            screened_on=SCREEN_DAY,
            consent_date=SCREEN_DAY,
            values=dict(ELIGIBLE, svc_percent_predicted=age),
        )


@pytest.mark.parametrize("day", [date(1900, 1, 1), date(2099, 1, 1), date.today() + timedelta(days=30)])
def test_implausible_dates_are_refused_everywhere(trial, day: date) -> None:
    ctx = prepare(trial)
    inv, code = trial["investigator"], ctx["rand"]
    at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    calls = {
        "screening": lambda: sv.screen_participant(
            trial.db, trial["site_coordinator"], screened_on=day, consent_date=SCREEN_DAY, values=ELIGIBLE
        ),
        "enrolment": lambda: sv.enrol_participant(trial.db, inv, ctx["eligible"], enrolled_on=day),
        "visit": lambda: sv.record_visit(trial.db, inv, code, "W4", day),
        "adverse event": lambda: sv.record_adverse_event(
            trial.db,
            inv,
            code,
            term="Headache",
            onset_date=day,
            severity="MILD",
            relatedness="NOT RELATED",
            action_taken="NOT APPLICABLE",
            outcome="UNKNOWN",
        ),
        "sample": lambda: sv.record_csf_sample(trial.db, inv, code, visit="W0", sample_id="CSF-9", collected_at=at),
        "dose": lambda: sv.administer_dose(
            trial.db,
            inv,
            code,
            lot_number=ctx["lot_released"],
            label_coi_id=ctx["coi"],
            administered_at=at,
            dose_number=1,
        ),
        "withdrawal": lambda: sv.withdraw_participant(
            trial.db, inv, code, on=day, reason_code="LOST TO FOLLOW-UP", decided_by="investigator"
        ),
    }
    for name, call in calls.items():
        with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="plausible"):
            call()
        assert name


def test_events_out_of_order_are_refused(trial) -> None:
    ctx = prepare(trial)
    inv, code = trial["investigator"], ctx["rand"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="before informed consent"):
        sv.record_adverse_event(
            trial.db,
            inv,
            code,
            term="Headache",
            onset_date=SCREEN_DAY - timedelta(days=30),
            severity="MILD",
            relatedness="NOT RELATED",
            action_taken="NOT APPLICABLE",
            outcome="UNKNOWN",
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="before lot"):
        sv.administer_dose(
            trial.db,
            inv,
            code,
            lot_number=ctx["lot_released"],
            label_coi_id=ctx["coi"],
            administered_at=AT0 - timedelta(days=10),
            dose_number=1,
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="before the screening"):
        sv.enrol_participant(trial.db, inv, ctx["eligible"], enrolled_on=SCREEN_DAY - timedelta(days=1))


def test_a_lab_row_naming_another_participants_sample_is_refused(trial) -> None:
    ctx = prepare(trial)
    other = trial.at_day0()
    row = {
        "participant": other,
        "visit": "W0",
        "sample_id": "CSF-1",  # recorded for ctx["rand"] by prepare
        "collected_at": AT0.isoformat(),
        "analyte": "NFL",
        "value": "2.0",
        "unit": "ng/mL",
        "assay": "Simoa",
    }
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="belongs to another participant"):
        import_rows(trial.db, trial["lab_technician"], "labs", [row])
    assert ctx["rand"] != other


def test_a_screening_file_without_a_judged_column_is_refused(trial) -> None:
    row = {k: str(v) for k, v in ELIGIBLE.items() if k != "age_years"}
    row |= {"screened_on": str(SCREEN_DAY), "consent_date": str(SCREEN_DAY)}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="age_years"):
        import_rows(trial.db, trial["site_coordinator"], "screening", [row])
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="no data rows"):
        import_rows(trial.db, trial["site_coordinator"], "screening", [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header"),
        (b"\n\n\n", "no header"),
        (b"participant,visit\nS01-0001,W0,extra\n", "more cells than the header"),
        (b"participant,visit\nS01\x00,W0\n", "NUL"),
        (b"participant,visit\n\xff\xfe\x00junk\n", "not UTF-8"),
        (b"participant,visit\n" + b"x" * 200_000 + b",W0\n", "field larger than field limit"),
    ],
)
def test_malformed_csv_files_are_refused_with_their_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(sv.ValidationFailed, match=message):
        read_csv(path)


CELLS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["inf", "-inf", "nan", "1e400", "", " ", "\x00", "0", "-1", "2025-02-30", "9999-12-31", "S01-0001"]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=200, max_size=300),
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.sampled_from(TABLES),
    cells=st.dictionaries(
        st.sampled_from(
            [
                "participant",
                "visit",
                "visit_date",
                "screened_on",
                "consent_date",
                "age_years",
                "sex",
                "q1",
                "q5a",
                "sample_id",
                "collected_at",
                "analyte",
                "value",
                "unit",
                "assay",
                "below_lloq",
                "lot_number",
                "label_coi_id",
                "administered_at",
                "dose_number",
                "term",
                "onset_date",
                "severity",
                "relatedness",
                "action_taken",
                "outcome",
                "serious",
                "criteria",
                "withdrawn_on",
                "reason_code",
                "decided_by",
                "enrolled_on",
                "site",
            ]
        ),
        CELLS,
        max_size=12,
    ),
)
def test_fuzzed_import_rows_give_only_domain_errors_and_write_nothing_on_error(sqlite_trial, table, cells) -> None:
    trial = sqlite_trial
    actor = trial["investigator"] if table != "labs" else trial["lab_technician"]
    with no_trace(trial.db):
        try:
            import_rows(trial.db, actor, table, [cells])
        except AlstrialError:
            return
        except Exception as exc:  # pragma: no cover - the failure this test exists to find
            pytest.fail(f"{table}: {type(exc).__name__}: {exc!r} for {cells!r}")
        pytest.fail(f"{table}: a fuzzed row was imported: {cells!r}")


def test_ids_wider_than_64_bits_are_refused_not_crashed(trial) -> None:
    prepare(trial)
    huge = 2**63
    with no_trace(trial.db), pytest.raises(AlstrialError) as refused:
        sv.answer_query(trial.db, trial["investigator"], huge, answer="x")
    assert isinstance(refused.value, sv.ValidationFailed | sv.NotFound)
    with no_trace(trial.db), pytest.raises(AlstrialError):
        sv.correct_value(
            trial.db, trial["investigator"], entity="adverse_event", entity_id=huge, field="term", new_value="x",
            reason="r", version=1,
        )  # fmt: skip

"""REDCap record exports into a trial through the services: flat and EAV, every value checked, all or nothing,
and a report naming each rejected value by record, event and field."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from alstrial.errors import ValidationFailed
from alstrial.interop.forms import alsfrs_field_name
from alstrial.interop.redcap_records import (
    RecordsRejected,
    alsfrs_mapping,
    import_records,
    parse_mapping,
    rejection_report,
)
from alstrial.protocol import load_protocol
from alstrial.store.models import AlsfrsAssessment
from conftest import SCREEN_DAY, Trial, no_trace

DAY0 = SCREEN_DAY + timedelta(days=90)
ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")


def _visit(record: str, event: str, day: int, scores: dict[str, str]) -> dict[str, str]:
    row = {"record_id": record, "redcap_event_name": event, "alsfrs_date": (DAY0 + timedelta(days=day)).isoformat()}
    row[alsfrs_field_name("gastrostomy")] = "0"
    row |= {alsfrs_field_name(k): scores.get(k, "3" if k != "q5b" else "") for k in ITEMS}
    row["alsfrs_total"] = ""
    row["alsfrs_r_complete"] = "2"
    return row


def _flat(rows: list[dict[str, str]], *, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def _eav(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["record", "redcap_event_name", "field_name", "value"])
    for row in rows:
        for name, value in row.items():
            if name not in ("record_id", "redcap_event_name") and value != "":
                writer.writerow([row["record_id"], row["redcap_event_name"], name, value])
    return out.getvalue().encode()


def _totals(trial: Trial) -> list[int]:
    with trial.db.sessions() as s:
        return list(s.execute(select(AlsfrsAssessment.total).order_by(AlsfrsAssessment.id)).scalars())


@pytest.mark.parametrize("layout", ["flat", "eav"])
def test_records_import_through_the_services(trial: Trial, layout: str) -> None:
    code = trial.at_day0()
    rows = [_visit(code, "w0_arm_1", 0, {"q1": "4"}), _visit(code, "w4_arm_1", 28, {"q1": "2"})]
    data = _flat(rows, bom=True) if layout == "flat" else _eav(rows)
    before = _totals(trial)
    result = import_records(trial.db, trial["site_coordinator"], data, alsfrs_mapping(load_protocol()))
    assert result.layout == layout and result.records == 2 and result.result.rows == 2
    assert _totals(trial)[len(before) :] == [37, 35]  # 11 items of 3 plus q1


def test_a_bad_records_file_writes_nothing_and_reports_every_rejected_value(trial: Trial) -> None:
    code = trial.at_day0()
    rows = [
        _visit(code, "w0_arm_1", 0, {"q1": "5", "q2": "x"}),
        _visit(code, "week_99", 28, {}),
        _visit(code, "w4_arm_1", 28, {}) | {"alsfrs_date": "04/05/2025"},
    ]
    rows[2]["mystery_field"] = "1"
    for r in rows[:2]:
        r["mystery_field"] = ""
    with no_trace(trial.db), pytest.raises(RecordsRejected) as err:
        import_records(trial.db, trial["site_coordinator"], _flat(rows), alsfrs_mapping(load_protocol()))
    found = {(p.where, str(p.value)) for p in err.value.problems}
    assert (f"record {code}, event w0_arm_1, field alsfrs_q1", "5") in found
    assert (f"record {code}, event w0_arm_1, field alsfrs_q2", "x") in found
    assert (f"record {code}, event week_99, field redcap_event_name", "week_99") in found
    assert (f"record {code}, event w4_arm_1, field alsfrs_date", "04/05/2025") in found
    assert (f"record {code}, event w4_arm_1, field mystery_field", "1") in found
    report = list(csv.DictReader(io.StringIO(rejection_report(err.value))))
    assert {"record", "event", "field", "value", "reason"} == set(report[0])
    assert any(r["field"] == "alsfrs_q1" and r["value"] == "5" and "choice" in r["reason"] for r in report)


def test_a_value_the_services_refuse_is_reported_as_its_record_and_field(trial: Trial) -> None:
    code = trial.at_day0()
    rows = [_visit(code, "w0_arm_1", 0, {}), _visit("S01-9999", "w0_arm_1", 0, {})]
    with no_trace(trial.db), pytest.raises(RecordsRejected) as err:
        import_records(trial.db, trial["site_coordinator"], _flat(rows), alsfrs_mapping(load_protocol()))
    assert [(p.where, p.value) for p in err.value.problems] == [
        ("record S01-9999, event w0_arm_1, field record_id", "S01-9999")
    ]
    assert "no participant" in err.value.problems[0].reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"record,field_name\nS01,alsfrs_q1\n", "expected a flat export"),
        (b"record_id,redcap_event_name,alsfrs_q1\nS01,w0_arm_1,\xe9\n", "is not UTF-8 at byte"),
        (b'record_id,redcap_event_name,alsfrs_q1\nS01,w0_arm_1,"3\n', "looks truncated"),
        (b"record_id,redcap_event_name,alsfrs_q1\nS01,w0_arm_1\n", "the header has 3"),
        (b"record_id,alsfrs_q1,alsfrs_q1\nS01,3,3\n", "column names appear twice"),
        (b"", "is empty"),
        (
            b"record_id,redcap_repeat_instrument,redcap_repeat_instance,ae_term\nS01,adverse_event,2,Headache\n",
            "repeating",
        ),
    ],
)
def test_malformed_record_files_are_refused_before_anything_is_written(trial: Trial, data: bytes, message: str) -> None:
    with no_trace(trial.db), pytest.raises(ValidationFailed, match=message):
        import_records(trial.db, trial["site_coordinator"], data, alsfrs_mapping(load_protocol()))


def test_mapping_files_are_checked() -> None:
    mapping = parse_mapping('table = "alsfrs"\n[events]\nbaseline_arm_1 = "W0"\n[fields]\nq1_speech = "q1"\n')
    assert mapping.events == {"baseline_arm_1": "W0"} and mapping.fields == {"q1_speech": "q1"}
    with pytest.raises(ValidationFailed) as err:
        parse_mapping('table = "visits"\ncolour = 1\n')
    text = str(err.value)
    assert "expected one of screening" in text and "[fields]" in text and "unknown keys" in text
    with pytest.raises(ValidationFailed, match="not valid TOML"):
        parse_mapping("table = ")

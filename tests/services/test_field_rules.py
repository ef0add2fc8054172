"""One definition per field: entry, CSV import and correction refuse the same bad values (table-driven).

Each row names an entity, a field and a bad value; every way in that exists for that field is
tried, and each must raise ValidationFailed and write nothing. A guard checks the table covers
every correctable field of ``domain.fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from capture_calls import AT0, DAY0, prepare

from alstrial import services as sv
from alstrial.domain.fields import FIELDS
from alstrial.services.imports import import_rows
from conftest import alsfrs_items, no_trace

NAN, INF = float("nan"), float("inf")

#: (entity, field) -> bad values; each must be refused on every way in.
BAD: dict[tuple[str, str], list[object]] = {
    ("alsfrs_assessment", "q1"): [5, -1, 2.5, "x", INF],
    ("alsfrs_assessment", "q5a"): [7],
    ("alsfrs_assessment", "q5b"): [-2],
    **{("alsfrs_assessment", f"q{i}"): [9] for i in (2, 3, 4, 6, 7, 8, 9, 10, 11, 12)},
    ("alsfrs_assessment", "assessed_on"): ["not-a-date"],
    ("vital_capacity", "percent_predicted"): [-5, 251, NAN, INF, "abc"],
    ("vital_capacity", "liters"): [-1, 11, NAN],
    ("vital_capacity", "test"): ["PEF"],
    ("vital_capacity", "position"): ["prone"],
    ("weight_measurement", "weight_kg"): [5, 301, NAN, INF],
    ("lab_result", "value_original"): [-5, NAN, INF, "high"],
    ("lab_result", "assay"): ["a" * 101, "Sim\x00oa"],
    ("adverse_event", "term"): ["x" * 201, "Head\x00ache", " "],
    ("adverse_event", "onset_date"): ["2025-13-01"],
    ("adverse_event", "resolution_date"): ["yesterday"],
    ("adverse_event", "severity"): ["LIFE THREATENING", "mild"],
    ("adverse_event", "relatedness"): ["MAYBE"],
    ("adverse_event", "action_taken"): ["STOPPED"],
    ("adverse_event", "outcome"): ["DEAD"],
    ("intercurrent_event", "event_date"): ["2025-02-30"],
    ("intercurrent_event", "details"): ["x" * 4001, "a\x00b"],
    ("visit_record", "out_of_window_reason"): ["", "x" * 4001],
}


def test_the_table_covers_every_correctable_field() -> None:
    correctable = {(e, f) for e, fields in FIELDS.items() for f, spec in fields.items() if spec.correctable}
    assert correctable == set(BAD)


def _ids(trial, ctx: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """One stored record of each entity: (id, version)."""
    inv, lab = trial["investigator"], trial["lab_technician"]
    code = ctx["rand"]
    sv.record_alsfrs(trial.db, inv, code, "W0", alsfrs_items(40))
    sv.record_vital_capacity(trial.db, inv, code, "W0", percent_predicted=80.0, liters=3.1)
    sv.record_weight(trial.db, inv, code, "W0", weight_kg=70.0)
    sv.record_lab_result(trial.db, lab, sample_id="CSF-1", analyte="NFL", value=2.5, unit="ng/mL", assay="Simoa")
    sv.record_intercurrent_event(trial.db, inv, code, kind="gastrostomy", event_date=DAY0 + timedelta(days=3))
    (w0,) = [r for r in sv.visit_data(trial.db, inv, code) if r["visit"] == "W0"]
    (sample,) = sv.list_lab_samples(trial.db, inv, participant=code)
    (ice,) = sv.list_intercurrent_events(trial.db, inv, participant=code)
    (ae,) = sv.list_adverse_events(trial.db, inv, participant=code)
    result = sample["results"][0]
    return {
        "alsfrs_assessment": (w0["alsfrs_r_id"], w0["alsfrs_r_version"]),
        "vital_capacity": (w0["vital_capacity_id"], w0["vital_capacity_version"]),
        "weight_measurement": (w0["weight_id"], w0["weight_version"]),
        "lab_result": (result["id"], result["version"]),
        "adverse_event": (ae["id"], ae["version"]),
        "intercurrent_event": (ice["id"], ice["version"]),
        "visit_record": (w0["visit_record_id"], w0["visit_record_version"]),
    }


def _entry(trial, ctx: dict[str, Any], entity: str, field: str, bad: object) -> Callable[[], object] | None:
    """The entry service call with ``field`` set to ``bad`` (None when the field has no entry of its own)."""
    inv, lab, code = trial["investigator"], trial["lab_technician"], ctx["rand"]
    if entity == "alsfrs_assessment":
        if field == "assessed_on":
            return lambda: sv.record_alsfrs(trial.db, inv, code, "W4", alsfrs_items(40), assessed_on=bad)  # type: ignore[arg-type]
        items = alsfrs_items(40)
        if field == "q5b":
            items = {**{k: v for k, v in items.items() if k != "q5a"}, "q5b": bad}
        else:
            items[field] = bad
        return lambda: sv.record_alsfrs(trial.db, inv, code, "W4", items)
    if entity == "vital_capacity":
        kw: dict[str, Any] = {"percent_predicted": 80.0, "liters": 3.0, "test": "SVC", "position": "upright"}
        kw[field] = bad
        return lambda: sv.record_vital_capacity(trial.db, inv, code, "W4", **kw)
    if entity == "weight_measurement":
        return lambda: sv.record_weight(trial.db, inv, code, "W4", weight_kg=bad)  # type: ignore[arg-type]
    if entity == "lab_result":
        kw = {"value": 2.0, "assay": "Simoa"} | ({"value": bad} if field == "value_original" else {"assay": bad})
        return lambda: sv.record_lab_result(trial.db, lab, sample_id="CSF-1", analyte="VEGF", unit="pg/mL", **kw)
    if entity == "adverse_event":
        kw = {
            "term": "Back pain",
            "onset_date": DAY0,
            "severity": "MILD",
            "relatedness": "NOT RELATED",
            "action_taken": "NOT APPLICABLE",
            "outcome": "RECOVERED/RESOLVED",
        }
        kw[field] = bad
        return lambda: sv.record_adverse_event(trial.db, inv, code, **kw)
    if entity == "intercurrent_event":
        kw = {"event_date": DAY0 + timedelta(days=9), "details": None} | {field: bad}
        return lambda: sv.record_intercurrent_event(trial.db, inv, code, kind="niv_start", **kw)
    return None


def _import(trial, ctx: dict[str, Any], entity: str, field: str, bad: object) -> Callable[[], object] | None:
    """The CSV import of the field, where a table carries it (CSV cells are text)."""
    code = ctx["rand"]
    if entity == "alsfrs_assessment" and field.startswith("q") and field != "q5b":
        row = {"participant": code, "visit": "W4", "visit_date": str(DAY0 + timedelta(days=28))}
        row |= {k: str(v) for k, v in alsfrs_items(40).items()} | {field: str(bad)}
        return lambda: import_rows(trial.db, trial["investigator"], "alsfrs", [row])
    if entity == "lab_result":
        row = {
            "participant": code,
            "visit": "W0",
            "sample_id": "CSF-1",
            "collected_at": AT0.isoformat(),
            "analyte": "MCP1",
            "value": "120",
            "unit": "pg/mL",
            "assay": "Simoa",
        }
        row["value" if field == "value_original" else "assay"] = str(bad)
        return lambda: import_rows(trial.db, trial["lab_technician"], "labs", [row])
    if entity == "adverse_event" and field != "resolution_date":
        row = {
            "participant": code,
            "term": "Back pain",
            "onset_date": str(DAY0),
            "severity": "MILD",
            "relatedness": "NOT RELATED",
            "action_taken": "NOT APPLICABLE",
            "outcome": "RECOVERED/RESOLVED",
        }
        row[field] = str(bad)
        return lambda: import_rows(trial.db, trial["investigator"], "adverse_events", [row])
    return None


def test_entry_import_and_correction_refuse_the_same_values(trial) -> None:
    ctx = prepare(trial)
    ids = _ids(trial, ctx)
    tried = {"entry": 0, "import": 0, "correction": 0}
    for (entity, field), values in BAD.items():
        for bad in values:
            record_id, version = ids[entity]
            ways: dict[str, Callable[[], object] | None] = {
                "entry": _entry(trial, ctx, entity, field, bad),
                "import": _import(trial, ctx, entity, field, bad),
                "correction": lambda entity=entity, field=field, bad=bad, rid=record_id, v=version: sv.correct_value(
                    trial.db,
                    trial["investigator"],
                    entity=entity,
                    entity_id=rid,
                    field=field,
                    new_value=bad,
                    reason="test",
                    version=v,
                ),
            }
            for way, call in ways.items():
                if call is None:
                    continue
                tried[way] += 1
                with no_trace(trial.db), pytest.raises(sv.ValidationFailed):
                    call()
    assert tried["entry"] >= 40 and tried["import"] >= 20 and tried["correction"] == sum(map(len, BAD.values()))

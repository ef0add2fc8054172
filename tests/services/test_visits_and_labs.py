"""Visits against the schedule, ALSFRS-R, vital capacity, weight, CSF samples and results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from capture_calls import AT0, DAY0

from alstrial import services as sv
from conftest import SCREEN_DAY, alsfrs_items, no_trace


def test_visit_windows_flag_and_require_a_reason(trial) -> None:
    code = trial.at_day0()
    sc = trial["site_coordinator"]
    ok = sv.record_visit(trial.db, sc, code, "W4", DAY0 + timedelta(days=33))
    assert ok.in_window and ok.study_day == 33
    with no_trace(trial.db), pytest.raises(sv.VisitOutOfWindow, match="late"):
        sv.record_visit(trial.db, sc, code, "W8", DAY0 + timedelta(days=70))
    late = sv.record_visit(
        trial.db, sc, code, "W8", DAY0 + timedelta(days=70), out_of_window_reason="participant hospitalised"
    )
    assert (late.in_window, late.deviation_days, late.out_of_window_reason) == (False, 7, "participant hospitalised")
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already recorded"):
        sv.record_visit(trial.db, sc, code, "W8", DAY0 + timedelta(days=56))
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="unknown visit"):
        sv.record_visit(trial.db, sc, code, "W99", DAY0)
    rows = sv.visit_data(trial.db, trial["monitor"], code)
    assert [r["visit"] for r in rows] == ["SCR", "RUNIN", "W0", "W4", "W8"]
    assert [r["study_day"] for r in rows] == [-90, -35, 0, 33, 70]


def test_treatment_visits_need_randomization(trial) -> None:
    code = trial.enrolled()
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="needs a randomized participant"):
        sv.record_visit(trial.db, trial["site_coordinator"], code, "W0", SCREEN_DAY + timedelta(days=90))


def test_alsfrs_is_validated_scored_and_stored_item_level(trial) -> None:
    code = trial.at_day0()
    sc = trial["site_coordinator"]
    bad = dict(alsfrs_items(40), q3=7, q5b=2)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_alsfrs(trial.db, sc, code, "W0", bad)
    assert {p.where for p in err.value.problems} == {"q3", "q5a/q5b"}
    result = sv.record_alsfrs(trial.db, sc, code, "W0", alsfrs_items(40))
    assert result.score.total == 40 and result.to_dict()["bulbar"] == 4
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already recorded"):
        sv.record_alsfrs(trial.db, sc, code, "W0", alsfrs_items(40))
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="not recorded"):
        sv.record_alsfrs(trial.db, sc, code, "W4", alsfrs_items(40))
    row = sv.visit_data(trial.db, sc, code)[2]
    assert row["alsfrs_r_total"] == 40 and row["alsfrs_r_items"]["q1"] == 0 and row["alsfrs_r_items"]["q5b"] is None


def test_vital_capacity_and_weight(trial) -> None:
    code = trial.at_day0()
    sc = trial["site_coordinator"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_vital_capacity(trial.db, sc, code, "W0", percent_predicted=400, test="PEF")
    assert {p.where for p in err.value.problems} == {"percent_predicted", "test"}
    sv.record_vital_capacity(trial.db, sc, code, "W0", percent_predicted=81.5, liters=3.4)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="weight_kg"):
        sv.record_weight(trial.db, sc, code, "W0", weight_kg=5)
    sv.record_weight(trial.db, sc, code, "W0", weight_kg=72.3)
    sv.record_visit(trial.db, sc, code, "W4", DAY0 + timedelta(days=28))
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="no 'weight'"):
        sv.record_weight(trial.db, sc, code, "W4", weight_kg=72.0)
    row = sv.visit_data(trial.db, sc, code)[2]
    assert (row["vital_capacity_pct"], row["weight_kg"]) == (81.5, 72.3)


def test_csf_results_convert_units_and_flag_below_lloq(trial) -> None:
    code = trial.at_day0()
    lab = trial["lab_technician"]
    sv.record_csf_sample(trial.db, lab, code, visit="W0", sample_id="CSF-9", collected_at=AT0)
    nfl = sv.record_lab_result(trial.db, lab, sample_id="CSF-9", analyte="NFL", value=2.5, unit="ng/mL", assay="Simoa")
    assert (nfl.value_original, nfl.unit_original, nfl.value_std, nfl.unit_std, nfl.below_lloq) == (
        2.5,
        "ng/mL",
        2500.0,
        "pg/mL",
        False,
    )
    vegf = sv.record_lab_result(
        trial.db, lab, sample_id="CSF-9", analyte="VEGF", value=3.0, unit="pg/mL", assay="ELISA"
    )
    assert vegf.below_lloq  # LLOQ 5 pg/mL
    mcp = sv.record_lab_result(
        trial.db, lab, sample_id="CSF-9", analyte="MCP1", value=None, unit="pg/mL", assay="ELISA", below_lloq=True
    )
    assert mcp.value_std is None and mcp.below_lloq
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as err:
        sv.record_lab_result(trial.db, lab, sample_id="CSF-9", analyte="NFL", value=None, unit="mg/dL", assay="")
    assert {p.where for p in err.value.problems} == {"unit", "value", "assay"}
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="analyte"):
        sv.record_lab_result(trial.db, lab, sample_id="CSF-9", analyte="TAU", value=1, unit="pg/mL", assay="x")
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already recorded"):
        sv.record_lab_result(trial.db, lab, sample_id="CSF-9", analyte="NFL", value=1, unit="pg/mL", assay="x")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="CSF-0"):
        sv.record_lab_result(trial.db, lab, sample_id="CSF-0", analyte="NFL", value=1, unit="pg/mL", assay="x")
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="already recorded"):
        sv.record_csf_sample(trial.db, lab, code, visit="W0", sample_id="CSF-9", collected_at=AT0)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="time zone"):
        sv.record_csf_sample(trial.db, lab, code, visit="W0", sample_id="CSF-8", collected_at=AT0.replace(tzinfo=None))

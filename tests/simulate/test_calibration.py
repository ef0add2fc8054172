from __future__ import annotations

import numpy as np
import pytest

from alstrial.simulate.calibration import TARGETS, run_calibration
from alstrial.simulate.cohort import simulate_cohort


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return run_calibration(n=1500, seed=3)


def test_every_target_within_tolerance_plus_mc_error(result) -> None:  # type: ignore[no-untyped-def]
    s = result.summary
    assert list(s["quantity"]) == [t.name for t in TARGETS]  # every target is checked, none skipped
    assert s["simulated"].notna().all() and s["mc_se"].notna().all()
    bad = s[~s["within"]]
    assert bad.empty, bad.to_string()
    assert result.all_within


def test_a_wrong_model_is_caught() -> None:
    # the check is not vacuous: without short-term speed fluctuation and the transiently higher
    # screening rating, the run-in criterion fails most referred candidates (screen failures missed)
    from alstrial.protocol.simulation import SimulationParams

    d = SimulationParams().model_dump()
    d["progression"].update(speed_fluctuation_sd_log=0.0, screening_item_bias_points=0.0)
    r = run_calibration(SimulationParams.model_validate(d), n=400, seed=3)
    s = r.summary.set_index("quantity")
    assert not s.loc["screen failures, %", "within"]
    assert not r.all_within


def test_runin_selection_regresses_to_the_mean() -> None:
    # candidates pass on a fast spell between SCR (day -90) and RUNIN (day -35) and slow down later
    c = simulate_cohort(n=800, seed=7, arms=("placebo",))
    p = c.participants
    v = c.params.visits
    runin_rate = (p["screening_total"] - p["runin_total"]) / ((v.runin_day - v.screening_day) / (365.25 / 12))
    assert (p["screening_total"] - p["runin_total"] >= c.params.eligibility.min_runin_decline_points).all()
    assert (p["screening_total"] >= c.params.eligibility.min_alsfrs_r_at_screening).all()
    late = c.visits[c.visits["day"] == 196].set_index("id")["total"]
    trial_rate = (p.set_index("id")["baseline_total"] - late).dropna() / (196 / (365.25 / 12))
    assert runin_rate.mean() > 1.4 * trial_rate.mean()
    # the baseline (first dose, day 0) comes after the run-in and may fall below the screening minimum
    assert (p["baseline_total"] < c.params.eligibility.min_alsfrs_r_at_screening).any()


def test_screening_table_and_visits_follow_the_protocol_timeline() -> None:
    c = simulate_cohort(n=60, seed=2)
    s = c.screening
    np.testing.assert_array_equal(s["runin_decline"], s["screening_total"] - s["runin_total"])
    assert (s.loc[~s["runin_decline"].ge(3), "eligible"] == False).all()  # noqa: E712
    pre = c.visits[c.visits["day"] < 0]
    assert set(pre["day"]) == {-90, -35} and set(pre["visit"]) == {"screening", "run_in"}


def test_result_object_reads_well(result) -> None:  # type: ignore[no-untyped-def]
    assert "Calibration of the ALS simulator" in str(result)
    d = result.to_dict()
    assert d["n"] == 1500 and len(d["targets"]) == len(TARGETS)

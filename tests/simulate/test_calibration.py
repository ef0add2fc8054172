from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.calibration import (
    RESPONDER_THRESHOLD_POINTS_PER_MONTH,
    TARGETS,
    placebo_slope_change,
    run_calibration,
)
from alstrial.simulate.cohort import simulate_cohort

RESPONDERS = "placebo responder rate (post - pre slope >= 1.25), %"


def _with(section: str, **kw: float) -> SimulationParams:
    d = SimulationParams().model_dump()
    d[section].update(kw)
    return SimulationParams.model_validate(d)


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return run_calibration(n=1500, seed=3)


#: the target the model does not reach (issue 10, see SOURCES.md): with the measurement noise the
#: trial-setting reliability implies (Kaufmann 2007, ICC 0.92-0.98) the protocol's 3-point decline
#: over a 55-day run-in (SCR day -90 to RUNIN day -35) fails most referred candidates, whatever
#: sourced criteria sites refer on (``screen_failure_floor``: no referral can go below ~80 % with
#: this enrolled population; tested below). Listed so that any *other* failure breaks the test.
KNOWN_MISSES = {"screen failures, %"}
CONTEXT = {"test-retest SEM of the ALSFRS-R total, points"}
NO_SOURCE = {
    "SD of individual placebo OLS slopes, points/month",
    "mean pre-treatment slope (least squares, SCR..W0), points/month",
    "unchanged consecutive monthly totals, %",
    "skewness of individual placebo OLS slopes (third moment)",
}


def test_every_target_within_tolerance_plus_mc_error(result) -> None:  # type: ignore[no-untyped-def]
    s = result.summary
    assert list(s["quantity"]) == [t.name for t in TARGETS]  # every target is checked, none skipped
    assert s["simulated"].notna().all() and s["mc_se"].notna().all()
    calibrated = s[~s["kind"].isin(["reported", "context"])]
    assert result.calibrated.equals(calibrated)
    bad = set(calibrated.loc[~calibrated["within"].astype(bool), "quantity"])
    assert bad == KNOWN_MISSES, calibrated.to_string()
    assert not result.all_within
    assert set(s.loc[s["kind"] == "reported", "quantity"]) == NO_SOURCE
    assert s.loc[s["kind"] == "reported", "source"].str.contains("NO PUBLISHED SOURCE").all()
    # a superseded source is shown for context, never counted, and says so
    assert set(s.loc[s["kind"] == "context", "quantity"]) == CONTEXT
    assert s.loc[s["kind"] == "context", "source"].str.startswith("CONTEXT, not calibrated").all()
    assert s.loc[s["kind"].isin(["reported", "context"]), "within"].isna().all()


ICC = "ICC of two ALSFRS-R ratings of screened candidates (one-way)"


def test_reliability_target_is_kaufmann_2007s_interval(result) -> None:  # type: ignore[no-untyped-def]
    row = result.summary.set_index("quantity").loc[ICC]
    assert row["kind"] == "interval" and row["interval"] == (0.92, 0.98) and "Kaufmann 2007" in row["source"]
    assert bool(row["within"]) and 0.92 <= row["simulated"] <= 0.98


def test_reliability_target_catches_a_noisier_or_noiseless_rating() -> None:
    # a visit shock about 3.5 times the default makes the ratings clearly less reliable than published
    noisy = run_calibration(_with("progression", visit_noise_sd_points=0.25), n=400, seed=3)
    row = noisy.summary.set_index("quantity").loc[ICC]
    assert not row["within"] and row["simulated"] < 0.85
    exact = run_calibration(_with("progression", rater_noise_sd_points=0.0, visit_noise_sd_points=0.0), n=200, seed=3)
    assert exact.summary.set_index("quantity").loc[ICC, "simulated"] == pytest.approx(1.0)


def test_placebo_responder_rate_is_a_calibrated_target_within_the_published_interval(result) -> None:  # type: ignore[no-untyped-def]
    row = result.summary.set_index("quantity").loc[RESPONDERS]
    assert row["kind"] == "interval" and bool(row["within"])
    lo, hi = row["interval"]
    assert lo == pytest.approx(18.93, abs=0.01) and hi == pytest.approx(37.85, abs=0.01)  # 26/94, Clopper-Pearson
    assert lo <= row["simulated"] <= hi
    # the published subgroup direction: more placebo "responders" among the advanced (floor effect)
    s = result.summary.set_index("quantity")["simulated"]
    assert s["placebo responder rate, baseline <= 25, %"] > s["placebo responder rate, baseline >= 26, %"]
    assert s["placebo responder rate, baseline >= 26, %"] > s["placebo responder rate, baseline >= 35, %"]


def test_a_wrong_model_is_caught() -> None:
    # the check is not vacuous: the old unsourced screening-rating shift inflates the pre-treatment
    # slope, and the placebo responder rate leaves the published interval
    r = run_calibration(_with("progression", screening_item_bias_points=0.6), n=400, seed=3)
    s = r.summary.set_index("quantity")
    assert not s.loc[RESPONDERS, "within"]
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
    assert runin_rate.mean() > 1.2 * trial_rate.mean()
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


def test_responder_slopes_are_least_squares_over_the_pre_and_post_periods() -> None:
    # the target uses the analysis definition: pre = LS over days <= 0, post = LS over days 0..196
    c = simulate_cohort(n=40, seed=8, arms=("placebo",))
    change = placebo_slope_change(c)
    month = 365.25 / 12
    by_hand = []
    for _, g in c.visits.dropna(subset=["total"]).groupby("id", sort=True):
        pre, post = g[g["day"] <= 0], g[(g["day"] >= 0) & (g["day"] <= 196)]
        if len(post) < 2:
            continue
        slope_pre = np.polyfit(pre["day"] / month, pre["total"], 1)[0]
        by_hand.append(np.polyfit(post["day"] / month, post["total"], 1)[0] - slope_pre)
    np.testing.assert_allclose(change, by_hand, atol=1e-9)
    assert RESPONDER_THRESHOLD_POINTS_PER_MONTH == 1.25


def test_responder_rate_rises_when_the_run_in_overstates_the_pre_treatment_slope() -> None:
    # a transiently higher screening rating inflates the run-in decline (pre slope), so more
    # placebo participants "respond" by regression to the mean
    low = run_calibration(_with("progression", screening_item_bias_points=0.0), n=400, seed=3)
    high = run_calibration(_with("progression", screening_item_bias_points=0.6), n=400, seed=3)
    rate = [r.summary.set_index("quantity").loc[RESPONDERS, "simulated"] for r in (low, high)]
    assert rate[1] > rate[0] + 10


def test_subgroup_directions_follow_the_publication_for_responders(result) -> None:  # type: ignore[no-untyped-def]
    d = result.subgroup_directions.set_index("pattern")
    resp = d.loc["responder % vs threshold (Spearman)"]
    assert resp["published"] < 0 and bool(resp["same_direction"])  # fewer placebo responders when less advanced
    floor = d.loc["responder % at <= 25 minus >= 26 (points)"]
    assert floor["published"] > 20 and bool(floor["same_direction"])
    # the published placebo loses less when less advanced; so does the model without the ΔFS referral rule
    change = d.loc["change to last visit vs threshold (Spearman)"]
    assert change["published"] > 0 and change["simulated"] > 0.5 and bool(change["same_direction"])
    assert "placebo_subgroup_directions" in result.to_dict()


def test_subgroup_directions_by_hand() -> None:
    from alstrial.simulate.calibration import subgroup_directions

    sub = pd.DataFrame(
        {
            "baseline": [">= 26", ">= 30", ">= 35", "<= 25"],
            "responders_pct": [30.0, 20.0, 10.0, 40.0],
            "published_responders_pct": [20.0, 25.0, 30.0, 10.0],
            "change_to_end": [-6.0, -5.0, -4.0, -3.0],
            "published_change": [-6.0, -5.0, -4.0, None],
        }
    )
    d = subgroup_directions(sub).set_index("pattern")
    assert d.loc["responder % vs threshold (Spearman)", "simulated"] == pytest.approx(-1.0)
    assert not d.loc["responder % vs threshold (Spearman)", "same_direction"]
    assert d.loc["change to last visit vs threshold (Spearman)", "same_direction"]
    assert d.loc["responder % at <= 25 minus >= 26 (points)", "simulated"] == pytest.approx(10.0)
    assert not d.loc["responder % at <= 25 minus >= 26 (points)", "same_direction"]


def test_screen_failure_floor_bounds_the_simulated_rate_and_vanishes_when_noise_cannot_fail_anyone() -> None:
    from alstrial.simulate.calibration import screen_failure_floor

    c = simulate_cohort(SimulationParams(), 200, seed=4)
    floor = screen_failure_floor(c.params, 200, 4, reps=100)
    # the model's own referral is one of the rules the floor covers, so it cannot do better
    assert 0.3 < floor.value <= c.screen_failure_fraction + 3 * floor.se
    # no measurement noise: a re-rating repeats the rating, every enrolled participant passes it
    exact = _with("progression", rater_noise_sd_points=0.0, visit_noise_sd_points=0.0, vc_measurement_sd_pct=0.0)
    assert screen_failure_floor(exact, 100, 4, reps=20).value == 0.0
    # a stricter run-in decline raises the floor
    strict = _with("eligibility", min_runin_decline_points=5)
    assert screen_failure_floor(strict, 100, 4, reps=50).value > floor.value

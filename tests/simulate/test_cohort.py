from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.errors import SimulationError

ITEMS = ["q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12"]


def _with_treatment(**kw: float) -> SimulationParams:
    d = SimulationParams().model_dump()
    d["treatment"].update(kw)
    return SimulationParams.model_validate(d)


ZERO = _with_treatment(
    effect_slope_points_per_month=0.0,
    effect_slope_high_points_per_month=0.0,
    nfl_fraction=0.0,
    vegf_fraction=0.0,
    mcp1_fraction=0.0,
    survival_hazard_ratio=1.0,
)


def test_same_seed_same_output_and_different_seed_differs() -> None:
    a = simulate_cohort(n=60, seed=11)
    b = simulate_cohort(n=60, seed=11)
    c = simulate_cohort(n=60, seed=12)
    pd.testing.assert_frame_equal(a.participants, b.participants)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    assert not a.participants["baseline_total"].equals(c.participants["baseline_total"])


def test_items_are_integers_in_range_and_total_adds_up() -> None:
    v = simulate_cohort(n=150, seed=3).visits
    alsfrs = v[v["total"].notna()]
    vals = alsfrs[ITEMS].to_numpy()
    ok = vals[~np.isnan(vals)]
    assert ok.min() >= 0 and ok.max() <= 4 and np.all(ok == np.round(ok))
    # exactly one of q5a/q5b is scored at every visit
    assert (alsfrs["q5a"].isna() ^ alsfrs["q5b"].isna()).all()
    assert (alsfrs[ITEMS].sum(axis=1) == alsfrs["total"]).all()


def test_no_visits_after_dropout_and_reasons_given() -> None:
    c = simulate_cohort(n=189, seed=5)
    p = c.participants.set_index("id")
    last = c.visits.groupby("id")["day"].max()
    left = p["dropout_day"].notna()
    assert (last[left.index[left]] < p.loc[left, "dropout_day"]).all()
    assert set(p.loc[left, "dropout_reason"]) <= {
        "withdrawal_by_subject",
        "adverse_event",
        "lost_to_follow_up",
        "physician_decision",
        "death",
    }
    assert (p.loc[~left, "dropout_reason"] == "").all()
    died = p["dropout_reason"] == "death"
    assert (p.loc[died, "death_day"] <= 196).all()


def test_zero_effect_active_equals_placebo_with_common_random_numbers() -> None:
    pla = simulate_cohort(ZERO, n=80, seed=9, arms=("placebo",))
    act = simulate_cohort(ZERO, n=80, seed=9, arms=("active",))
    cols = [c for c in pla.participants.columns if c != "arm"]
    pd.testing.assert_frame_equal(pla.participants[cols], act.participants[cols])
    pd.testing.assert_frame_equal(pla.visits, act.visits)


def test_nonzero_effect_changes_only_post_baseline_data_in_the_right_direction() -> None:
    eff = _with_treatment(
        effect_slope_points_per_month=0.8,
        effect_slope_high_points_per_month=0.8,
        nfl_fraction=-0.3,
        vegf_fraction=0.6,
        mcp1_fraction=0.0,
    )
    pla = simulate_cohort(eff, n=300, seed=9, arms=("placebo",))
    act = simulate_cohort(eff, n=300, seed=9, arms=("active",))
    key = ["id", "day"]
    m = pla.visits.merge(act.visits, on=key, suffixes=("_p", "_a"))
    pre = m[m["day"] <= 0]
    assert (pre["total_p"] == pre["total_a"]).all()
    assert np.allclose(pre["nfl_p"].dropna(), pre["nfl_a"].dropna())
    wk28 = m[m["day"] == 196]
    assert (wk28["total_a"] - wk28["total_p"]).mean() > 2.0  # ~0.8/month over 6.4 months, less floors
    assert (wk28["total_a"] >= wk28["total_p"] - 2).all()  # only rater noise can reverse it
    ratio = (wk28["nfl_a"] / wk28["nfl_p"]).dropna()
    assert np.allclose(ratio, 0.7)
    assert np.allclose((wk28["mcp1_a"] / wk28["mcp1_p"]).dropna(), 1.0)


def test_arms_balanced_and_errors_are_specific() -> None:
    c = simulate_cohort(n=101, seed=1)
    counts = c.participants["arm"].value_counts()
    assert abs(counts["placebo"] - counts["active"]) <= 2
    with pytest.raises(SimulationError, match="invalid value for n"):
        simulate_cohort(n=0, seed=1)
    with pytest.raises(SimulationError, match="either seed or rng"):
        simulate_cohort(n=5, seed=1, rng=np.random.default_rng(1))


def test_dropout_mechanisms_mnar_and_mar_select_fast_progressors() -> None:
    def frac_fast_among_dropouts(mech: str) -> float:
        d = SimulationParams().model_dump()
        d["dropout"].update(mechanism=mech, mar_per_point_per_month=1.0, mnar_per_point_per_month=1.0)
        p = simulate_cohort(SimulationParams.model_validate(d), n=1500, seed=4, arms=("placebo",)).participants
        fast = p["latent_decline"] > p["latent_decline"].median()
        left = p["dropout_day"].notna() & (p["dropout_reason"] != "death")
        return float(fast[left].mean())

    mcar, mnar = frac_fast_among_dropouts("mcar"), frac_fast_among_dropouts("mnar")
    assert abs(mcar - 0.5) < 0.08
    assert mnar > mcar + 0.05


def test_speed_fluctuation_has_mean_one_and_zero_sd_is_calendar_time() -> None:
    from alstrial.simulate.latent import DAYS_PER_MONTH, draw_latent
    from alstrial.simulate.natural_history import effective_months_since_onset

    days = np.array([-400.0, -90.0, 0.0, 196.0, 500.0])
    d = SimulationParams().model_dump()
    d["progression"]["speed_fluctuation_sd_log"] = 0.0
    flat = draw_latent(SimulationParams.model_validate(d), 50, np.random.default_rng(1))
    calendar = np.maximum((days[None, :] - flat.onset_day[:, None]) / DAYS_PER_MONTH, 0.0)
    np.testing.assert_allclose(effective_months_since_onset(flat, days), calendar, atol=1e-9)

    d["progression"]["speed_fluctuation_sd_log"] = 1.05  # off by default since issue 10; the process still works
    b = draw_latent(SimulationParams.model_validate(d), 4000, np.random.default_rng(2))
    eff = effective_months_since_onset(b, days)
    assert np.all(np.diff(eff, axis=1) >= 0)  # the clock never runs backwards
    cal = np.maximum((days[None, :] - b.onset_day[:, None]) / DAYS_PER_MONTH, 0.0)
    window = (eff[:, 3] - eff[:, 2]) / (cal[:, 3] - cal[:, 2])  # mean speed over the trial
    assert abs(window.mean() - 1.0) < 0.05 and window.std() > 0.3


def test_speed_path_filter_is_the_ar1_recursion() -> None:
    """The vectorised AR(1) (a recursive filter) equals x[0] = z[0], x[j] = phi x[j-1] + sqrt(1-phi^2) z[j]."""
    from alstrial.simulate.latent import DAYS_PER_MONTH, draw_speed_path

    d = SimulationParams().model_dump()
    d["progression"]["speed_fluctuation_sd_log"] = 0.4
    params = SimulationParams.model_validate(d)
    start, step, cum = draw_speed_path(params, 30, np.random.default_rng(8))
    k = cum.shape[1] - 1
    z = np.random.default_rng(8).standard_normal((30, k))  # the same draws
    prog = params.progression
    phi = np.exp(-prog.speed_fluctuation_step_days / (prog.speed_fluctuation_months * DAYS_PER_MONTH))
    x = np.empty_like(z)
    x[:, 0] = z[:, 0]
    for j in range(1, k):
        x[:, j] = phi * x[:, j - 1] + np.sqrt(1 - phi * phi) * z[:, j]
    mult = np.exp(0.4 * x - 0.08)
    expected = np.concatenate([np.zeros((30, 1)), np.cumsum(mult * step[:, None] / DAYS_PER_MONTH, axis=1)], axis=1)
    np.testing.assert_allclose(cum, expected, rtol=1e-12)
    assert np.all(start == start[0])


def test_pre_dose_item5_is_labelled_by_the_gastrostomy_day() -> None:
    # screening rates candidates without their gastrostomy day; the enrolled's pre-dose visits are
    # relabelled from it: 5b (tube) from the gastrostomy on, 5a before, at every visit
    d = SimulationParams().model_dump()
    d["progression"]["rate_median_per_month"] = 1.2  # fast progressors: gastrostomies before dosing
    c = simulate_cohort(SimulationParams.model_validate(d), n=300, seed=4)
    g = c.participants.set_index("id")["gastrostomy_day"]
    v = c.visits[c.visits["total"].notna()]
    on_tube = v["day"].to_numpy() >= g.reindex(v["id"]).to_numpy()  # NaN day: never
    assert np.array_equal(v["q5b"].notna().to_numpy(), on_tube)
    assert np.array_equal(v["q5a"].notna().to_numpy(), ~on_tube)
    pre = v["day"].to_numpy() <= 0
    assert (on_tube & pre).sum() > 5  # the relabelling is exercised

"""Survival endpoints against R survival 3.5-3 (numbers in validation/reference/survival_r.csv, R fits of
``survfit``, ``survdiff`` and ``coxph`` on R's ``ovarian`` and ``lung`` data in tests/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.survival import cox_fit, event_indicator, kaplan_meier_curve, survival_analysis

DATA = Path(__file__).resolve().parents[1] / "data"
TOL = 1e-6


@pytest.fixture(scope="module")
def ovarian() -> pd.DataFrame:
    return pd.read_csv(DATA / "ovarian.csv")


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(DATA / "lung.csv")


def test_ovarian_km_matches_r(ovarian: pd.DataFrame) -> None:
    res = survival_analysis(ovarian, time="futime", event="fustat", group="rx")
    curve = res.km[0]
    assert curve.group == 1
    events = curve.table[curve.table["events"] > 0]
    np.testing.assert_allclose(events["time"], [59, 115, 156, 268, 329, 431, 638])
    np.testing.assert_allclose(
        events["survival"],
        [
            0.923076923077,
            0.846153846154,
            0.769230769231,
            0.692307692308,
            0.615384615385,
            0.538461538462,
            0.430769230769,
        ],
        atol=TOL,
    )
    # R summary(survfit)$std.err at day 59 (Greenwood, S scale).
    assert events["std_error"].iloc[0] == pytest.approx(0.0739053017562, abs=TOL)
    # log CI (R's default conf.type = "log") at day 59: S * exp(±1.96 * sqrt(1/(13*12))), upper capped at 1.
    se_log = np.sqrt(1 / (13 * 12))
    # 1.959963984540054 = Φ⁻¹(0.975), the two-sided 95 % normal quantile
    assert events["ci_lower"].iloc[0] == pytest.approx(12 / 13 * np.exp(-1.959963984540054 * se_log), abs=1e-12)
    assert events["ci_upper"].iloc[0] == 1.0
    assert curve.median == 638.0
    assert np.isnan(res.km[1].median)  # rx = 2 never drops to 0.5


def test_ovarian_logrank_and_cox_match_r(ovarian: pd.DataFrame) -> None:
    res = survival_analysis(ovarian, time="futime", event="fustat", group="rx", covariates=["age"])
    assert res.logrank is not None and res.cox is not None
    assert res.logrank.chisq == pytest.approx(1.06273986129, abs=TOL)
    assert res.logrank.p_value == pytest.approx(0.302591116989, abs=TOL)
    np.testing.assert_allclose(res.cox.summary["estimate"], [-0.803973012665, 0.147326595469], atol=TOL)
    np.testing.assert_allclose(res.cox.summary["std_error"], [0.632049371879, 0.0461470477408], atol=TOL)
    assert res.cox.loglik_null == pytest.approx(-34.9849403712, abs=TOL)
    assert res.cox.loglik == pytest.approx(-27.041898863, abs=TOL)
    assert list(res.cox.summary["term"]) == ["rx[2]", "age"]
    obs = res.logrank.table
    assert obs["observed"].sum() == 12 and obs["expected"].sum() == pytest.approx(12.0)


def test_lung_uses_r_status_coding(lung: pd.DataFrame) -> None:
    assert event_indicator(lung["status"]).sum() == 165  # 1 = censored, 2 = dead
    res = survival_analysis(lung, time="time", event="status")
    assert res.km[0].median == 310.0
    # R 4.2.2 / survival 3.5-3 print(survfit(Surv(time, status) ~ 1, lung)): 0.95LCL 285, 0.95UCL 363
    # (re-run and stored in validation/survival/outputs/km_medians.csv, row lung/all).
    assert (res.km[0].median_ci_lower, res.km[0].median_ci_upper) == (285.0, 363.0)


@pytest.mark.parametrize(
    ("ties", "coef", "se"),
    [
        ("efron", [-0.513218517108, 0.0170453318454], [0.167457962356, 0.00922327347697]),
        ("breslow", [-0.512564791519, 0.0170128891984], None),
    ],
)
def test_lung_cox_ties_match_r(lung: pd.DataFrame, ties: str, coef: list[float], se: list[float] | None) -> None:
    res = survival_analysis(lung, time="time", event="status", group="sex", covariates=["age"], ties=ties)  # type: ignore[arg-type]
    assert res.logrank is not None and res.cox is not None
    assert res.logrank.chisq == pytest.approx(10.3267419549, abs=TOL)
    np.testing.assert_allclose(res.cox.summary["estimate"], coef, atol=TOL)
    if se is not None:
        np.testing.assert_allclose(res.cox.summary["std_error"], se, atol=TOL)


def test_km_without_censoring_is_the_empirical_survival() -> None:
    t = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    curve = kaplan_meier_curve(t, np.ones(5))
    np.testing.assert_allclose(curve.table["survival"], [0.8, 0.4, 0.2, 0.0])
    assert curve.median == 2.0
    assert np.isnan(curve.table["ci_lower"].iloc[-1])  # S = 0: no log CI


def test_median_on_a_flat_half_is_the_midpoint() -> None:
    # S = 0.5 exactly between t=2 and t=4: R reports (2 + 4) / 2.
    curve = kaplan_meier_curve(np.array([1.0, 2.0, 4.0, 5.0]), np.ones(4))
    assert curve.median == 3.0


def _simulated_trial(seed: int, n: int, true_hr: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    death = rng.exponential(24 / np.where(arm == 1, true_hr, 1.0))
    follow = rng.uniform(12, 36, n)
    return pd.DataFrame({"t": np.minimum(death, follow), "e": (death <= follow).astype(int), "arm": arm})


def test_simulated_hazard_ratio_is_recovered() -> None:
    """Exponential times with a known HR: the 95% CI covers it in about 95% of 40 trials."""
    true_hr = 0.6
    covered = []
    for seed in range(40):
        d = _simulated_trial(seed, 300, true_hr)
        row = cox_fit(d["t"].to_numpy(), d["e"].to_numpy(), d[["arm"]]).summary.iloc[0]
        covered.append(row["ci_lower"] < true_hr < row["ci_upper"])
    assert np.mean(covered) >= 0.85
    big = survival_analysis(_simulated_trial(99, 2000, true_hr), time="t", event="e", group="arm")
    assert big.cox is not None and big.cox.summary["hazard_ratio"].iloc[0] == pytest.approx(true_hr, abs=0.08)


def test_bad_event_values_and_ties_are_rejected(ovarian: pd.DataFrame) -> None:
    with pytest.raises(EndpointDataError, match=r"event column 'fustat' has value 2\.0; allowed with coding '01'"):
        survival_analysis(ovarian.assign(fustat=ovarian["fustat"] + 2), time="futime", event="fustat")
    with pytest.raises(EndpointDataError, match="expected one of 'efron', 'breslow' \\(not 'exact'\\)"):
        survival_analysis(ovarian, time="futime", event="fustat", ties="exact")  # type: ignore[arg-type]


def test_missing_rows_are_dropped_and_counted(lung: pd.DataFrame) -> None:
    res = survival_analysis(lung, time="time", event="status", covariates=["ph.ecog"])
    assert res.n_dropped == 1 and res.n == 227
    d = res.to_dict()
    assert set(d) >= {"km", "logrank", "cox", "cox_model"}
    assert "median" in str(res).lower()

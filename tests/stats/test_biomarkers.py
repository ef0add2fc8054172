"""Biomarkers: LLOQ rules, GM ratio equal to a hand-built regression, simulated known ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alstrial.stats.biomarkers import apply_lloq, biomarker_ancova, biomarker_slope_correlation
from alstrial.stats.endpoint_data import EndpointDataError


def test_lloq_rules() -> None:
    s = pd.Series([0.5, "<LLOQ", 3.0, "BLQ", np.nan], name="nfl", dtype=object)
    half, below = apply_lloq(s, 2.0, "half")
    np.testing.assert_allclose(half, [1.0, 1.0, 3.0, 1.0, np.nan])
    assert below.tolist() == [True, True, False, True, False]
    root2, _ = apply_lloq(s, 2.0, "sqrt2")
    assert root2[0] == pytest.approx(2 / np.sqrt(2))
    excl, _ = apply_lloq(s, 2.0, "exclude")
    assert np.isnan(excl[[0, 1, 3]]).all() and excl[2] == 3.0
    with pytest.raises(EndpointDataError, match="non-numeric value 'high'"):
        apply_lloq(pd.Series(["high", 1.0], name="x", dtype=object), 2.0)
    with pytest.raises(EndpointDataError, match="not 'zero'"):
        apply_lloq(s, 2.0, "zero")  # type: ignore[arg-type]


def _simulated(n: int, seed: int, gmr: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["PBO", "MSC"], n // 2)
    log_base = rng.normal(np.log(6500), 0.5, n)
    log_post = 0.5 + 0.95 * log_base + np.log(gmr) * (arm == "MSC") + rng.normal(0, 0.3, n)
    return pd.DataFrame({"arm": arm, "nfl_bl": np.exp(log_base), "nfl_w28": np.exp(log_post)})


def test_ratio_is_the_back_transformed_regression_coefficient() -> None:
    df = _simulated(120, 2, 0.8)
    res = biomarker_ancova(df, arm="arm", baseline="nfl_bl", post="nfl_w28", reference="PBO")
    x = np.column_stack([np.ones(120), np.log(df["nfl_bl"]), (df["arm"] == "MSC").astype(float)])
    y = np.log(df["nfl_w28"].to_numpy())
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    cov = resid @ resid / (120 - 3) * np.linalg.inv(x.T @ x)
    se = np.sqrt(cov[2, 2])
    tq = stats.t.ppf(0.975, 117)
    assert res.ratio == pytest.approx(np.exp(beta[2]), rel=1e-10)
    assert res.ci_lower == pytest.approx(np.exp(beta[2] - tq * se), rel=1e-8)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(beta[2] / se), 117), rel=1e-6)
    assert res.percent_change == pytest.approx(100 * (np.exp(beta[2]) - 1))


def test_simulated_known_ratio_is_within_ci_and_lloq_is_counted() -> None:
    df = _simulated(400, 5, 0.75)
    lloq = float(np.quantile(df["nfl_w28"], 0.05))
    res = biomarker_ancova(df, arm="arm", baseline="nfl_bl", post="nfl_w28", reference="PBO", lloq=lloq, analyte="NfL")
    assert res.ci_lower < 0.75 < res.ci_upper
    assert res.n_below_lloq >= 20 and res.n_excluded == 0
    excl = biomarker_ancova(
        df, arm="arm", baseline="nfl_bl", post="nfl_w28", reference="PBO", lloq=lloq, lloq_rule="exclude"
    )
    assert excl.n == 400 - excl.n_excluded and excl.n_excluded >= 20
    assert "NfL" in str(res) and res.to_dict()["ratio"] == res.ratio


def test_non_positive_values_need_an_lloq() -> None:
    df = _simulated(20, 1, 1.0)
    df.loc[3, "nfl_w28"] = 0.0
    with pytest.raises(EndpointDataError, match=r"value <= 0 \(0\.0\)"):
        biomarker_ancova(df, arm="arm", baseline="nfl_bl", post="nfl_w28")


def test_correlation_matches_scipy_and_fisher_ci() -> None:
    rng = np.random.default_rng(9)
    slope = rng.normal(-1, 0.5, 80)
    change = -0.4 * slope + rng.normal(0, 0.3, 80)
    change[0] = np.nan
    sp = biomarker_slope_correlation(change, slope)
    assert sp.n == 79
    assert sp.estimate == pytest.approx(stats.spearmanr(change[1:], slope[1:]).statistic)
    pe = biomarker_slope_correlation(change, slope, method="pearson")
    r = stats.pearsonr(change[1:], slope[1:])
    assert pe.estimate == pytest.approx(r.statistic) and pe.p_value == pytest.approx(r.pvalue)
    ci = r.confidence_interval()
    assert (pe.ci_lower, pe.ci_upper) == (pytest.approx(ci.low), pytest.approx(ci.high))

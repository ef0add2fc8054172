"""Random-slope mixed model: exact equivalence with per-subject slopes in a balanced design,
and recovery of a simulated slope difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alstrial.stats.slope_model import random_slope_model


def _trial(n: int, seed: int, effect: float, visits: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = i % 2
        b0 = rng.normal(35, 5)
        b1 = rng.normal(-1.0 + effect * a, 0.5)
        for v in range(visits):
            rows.append((f"S{i:03d}", "MSC" if a else "PBO", float(v), b0 + b1 * v + rng.normal(0, 1.5)))
    return pd.DataFrame(rows, columns=["id", "arm", "month", "score"])


def test_balanced_complete_design_equals_two_sample_test_of_subject_slopes() -> None:
    """With identical visit times and no missing data, the GLS slope difference is the difference
    of mean per-subject OLS slopes and its REML SE the pooled two-sample SE (textbook identity)."""
    df = _trial(189, 3, 0.3)
    res = random_slope_model(df, subject="id", time="month", score="score", arm="arm", reference="PBO")
    slopes = df.groupby("id").apply(lambda g: np.polyfit(g["month"], g["score"], 1)[0], include_groups=False)
    arm = df.groupby("id")["arm"].first()
    t = stats.ttest_ind(slopes[arm == "MSC"], slopes[arm == "PBO"])
    diff = slopes[arm == "MSC"].mean() - slopes[arm == "PBO"].mean()
    assert res.slope_difference == pytest.approx(diff, rel=1e-6)
    assert res.std_error == pytest.approx(diff / t.statistic, rel=1e-4)
    assert res.converged and res.arms == ("PBO", "MSC")


def test_simulated_slope_difference_is_within_ci_with_dropout_and_days() -> None:
    df = _trial(300, 8, 0.4)
    rng = np.random.default_rng(1)
    drop_after = dict(zip(df["id"].unique(), rng.integers(2, 8, 300), strict=True))
    df = df[df["month"] < df["id"].map(drop_after)].assign(day=lambda d: d["month"] * 30.4375)
    res = random_slope_model(df, subject="id", time="day", score="score", arm="arm", time_unit="days", reference="PBO")
    assert res.ci_lower < 0.4 < res.ci_upper
    slopes = res.slopes.set_index("arm")["slope"]
    assert slopes["PBO"] == pytest.approx(-1.0, abs=0.15)
    d = res.to_dict()
    assert d["slope_difference"] == res.slope_difference and len(d["random_effects_cov"]) == 2
    assert "slope difference" in str(res)


def test_convergence_is_reported_from_how_the_fit_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first optimiser that fails and is retried leaves notes, not converged=False (issue 11, item 8)."""
    import warnings

    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    real_fit = sm.MixedLM.fit
    calls: list[object] = []

    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("method"))
        if len(calls) == 1:  # what statsmodels says when L-BFGS fails and Powell takes over
            warnings.warn("Retrying MixedLM optimization with powell", ConvergenceWarning, stacklevel=2)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(sm.MixedLM, "fit", fit)
    res = random_slope_model(_trial(60, 3, 0.3), subject="id", time="month", score="score", arm="arm", reference="PBO")
    assert res.converged
    assert res.notes == ("Retrying MixedLM optimization with powell",)
    assert res.optimizer.startswith("powell (after lbfgs failed)")
    assert res.to_dict()["optimizer"] == res.optimizer

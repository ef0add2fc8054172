"""Trajectory statistics shared by the calibration and ``--against``: checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.trajectory_stats import (
    comparison_statistics,
    domain_scores,
    domain_zero_share,
    icc_estimate,
    icc_oneway,
    skew_estimate,
    tail_asymmetry_estimate,
    trajectory_statistics,
    unchanged_share,
)

M = 365.25 / 12


def _long() -> pd.DataFrame:
    days = np.arange(6) * M
    a = [40, 40, 39, 37, 36, 36]
    b = [30, 29, 29, 29, 25, 24]
    return pd.DataFrame({"id": ["a"] * 6 + ["b"] * 6, "day": np.r_[days, days], "total": a + b})


def test_slope_quadratic_and_residuals_match_numpy() -> None:
    v = _long()
    t = trajectory_statistics(v).set_index("subject")
    for sid, g in v.groupby("id"):
        x, y = g["day"].to_numpy() / M, g["total"].to_numpy(float)
        b1, b0 = np.polyfit(x, y, 1)
        assert t.loc[sid, "slope"] == pytest.approx(b1)
        assert t.loc[sid, "quadratic"] == pytest.approx(np.polyfit(x, y, 2)[0])
        assert t.loc[sid, "residual_sd"] == pytest.approx(np.sqrt(np.sum((y - b0 - b1 * x) ** 2) / (len(x) - 2)))


def test_unchanged_share_counts_equal_consecutive_totals() -> None:
    est = unchanged_share(_long())
    assert est.value == pytest.approx(4 / 10)  # a: 40-40, 36-36; b: 29-29, 29-29
    assert est.se > 0


def test_skewness_sign_and_domains() -> None:
    assert skew_estimate(np.r_[np.zeros(50), 10.0]).value > 3
    items = pd.DataFrame({f"q{k}": [4, 0] for k in range(1, 13)} | {"q5a": [4, np.nan], "q5b": [np.nan, 0]})
    items = items.drop(columns=["q5"])
    d = domain_scores(items)
    assert list(d.loc[0]) == [12, 12, 12, 12] and list(d.loc[1]) == [0, 0, 0, 0]
    np.testing.assert_allclose(domain_zero_share(items, "fine_motor"), [0.0, 1.0])
    stats = comparison_statistics(_long())
    assert stats["participants with >= 4 totals"].value == 2


def test_regions_vary_between_participants() -> None:
    # with per-participant domain delays and speeds some advanced participants keep hand function
    # and some mild ones have already lost it; without them the regions move in lockstep
    def shares(params: SimulationParams) -> tuple[float, float]:
        c = simulate_cohort(params, n=600, seed=4, arms=("placebo",))
        v = c.visits[c.visits["day"] == 0]
        d = domain_scores(v)
        low = v["total"] <= 25
        return float((d.loc[low, "fine_motor"] >= 6).mean()), float((d["fine_motor"] >= 10).mean())

    dump = SimulationParams().model_dump()
    dump["progression"].update(domain_delay_sigma_log=0.0, domain_rate_sigma_log=0.0)
    lockstep = shares(SimulationParams.model_validate(dump))
    varied = shares(SimulationParams())
    assert varied[0] > lockstep[0]


def test_tail_asymmetry_is_one_when_symmetric_and_above_one_for_a_long_upper_tail() -> None:
    rng = np.random.default_rng(1)
    sym = tail_asymmetry_estimate(rng.normal(1.0, 0.5, 20_000))
    assert sym.value == pytest.approx(1.0, abs=0.05) and 0 < sym.se < 0.05
    skewed = tail_asymmetry_estimate(rng.lognormal(0.0, 0.5, 20_000))
    x = rng.lognormal(0.0, 0.5, 20_000)
    lo, hi = np.quantile(x, [0.025, 0.975])
    assert skewed.value > 1.3
    assert (hi - x.mean()) / (x.mean() - lo) == pytest.approx(skewed.value, rel=0.05)
    # the calibration target is the published PRECISION-ALS summary (mean 0.89, 95 % range 0.04-1.96)
    from alstrial.simulate.calibration import TARGETS

    target = next(t for t in TARGETS if t.name.startswith("skew of individual decline rates"))
    assert target.target == pytest.approx(1.259, abs=1e-3) and target.kind == "close"
    assert np.isnan(tail_asymmetry_estimate(np.ones(5)).value)


def test_icc_oneway_by_hand() -> None:
    # row means 1.5, 3.5, 5.5 (grand 3.5): MSB = 2 * 8 / 2 = 8, MSW = 6 * 0.25 / 3 = 0.5
    assert icc_oneway(np.array([[1, 2], [3, 4], [5, 6]])) == pytest.approx((8 - 0.5) / (8 + 0.5))
    # a systematic shift between the two ratings counts as error in the one-way model
    x = np.arange(10.0)
    assert icc_oneway(np.column_stack([x, x])) == pytest.approx(1.0)
    assert icc_oneway(np.column_stack([x, x + 1])) < 1.0
    # three ratings: MSB = 3 * var(row means), MSW pooled within rows
    r = np.array([[1.0, 2, 3], [2, 4, 6], [0, 0, 3], [5, 5, 5]])
    k, n = 3, 4
    msb = k * np.var(r.mean(axis=1), ddof=1)
    msw = ((r - r.mean(axis=1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    assert icc_oneway(r) == pytest.approx((msb - msw) / (msb + (k - 1) * msw))


def test_icc_estimate_has_a_batch_means_se_and_refuses_one_rating() -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(30, 6, 2000)
    est = icc_estimate(np.column_stack([true + rng.normal(0, 1.5, 2000), true + rng.normal(0, 1.5, 2000)]))
    assert est.value == pytest.approx(36 / (36 + 2.25), abs=0.01) and 0 < est.se < 0.01
    with pytest.raises(ValueError, match="k >= 2 ratings"):
        icc_oneway(np.ones((5, 1)))

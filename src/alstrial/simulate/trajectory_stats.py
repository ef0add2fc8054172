"""Statistics of ALSFRS-R trajectories, computed the same way on simulated and on real data.

Used by the calibration (simulated placebo) and by ``alstrial simulate --against FILE`` (a
user's own natural-history data in long format), so both sides of a comparison share one
definition: per-participant least-squares slope, quadratic term and residual scatter, the share
of unchanged consecutive totals, the skew of slopes, and domain floors by total band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alstrial.simulate.latent import DAYS_PER_MONTH

#: ALSFRS-R items of each domain (item 5 is 5a or 5b, whichever was scored)
DOMAIN_ITEMS: dict[str, tuple[str, ...]] = {
    "bulbar": ("q1", "q2", "q3"),
    "fine_motor": ("q4", "q5", "q6"),
    "gross_motor": ("q7", "q8", "q9"),
    "respiratory": ("q10", "q11", "q12"),
}
DOMAINS = tuple(DOMAIN_ITEMS)


@dataclass(frozen=True)
class Estimate:
    """A statistic and its standard error (Monte Carlo error for simulated data)."""

    value: float
    se: float


def mean_estimate(x: np.ndarray | pd.Series) -> Estimate:
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    if a.size < 2:
        return Estimate(float("nan"), float("nan"))
    return Estimate(float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size)))


def sd_estimate(x: np.ndarray | pd.Series) -> Estimate:
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    s = float(np.std(a, ddof=1)) if a.size > 1 else float("nan")
    return Estimate(s, s / np.sqrt(2 * max(a.size - 1, 1)))


def proportion_estimate(x: np.ndarray | pd.Series) -> Estimate:
    a = np.asarray(x, dtype=bool)
    if a.size == 0:
        return Estimate(float("nan"), float("nan"))
    p = float(a.mean())
    return Estimate(p, float(np.sqrt(max(p * (1 - p), 1e-12) / a.size)))


def skew_estimate(x: np.ndarray | pd.Series) -> Estimate:
    """Sample skewness (Fisher-Pearson, bias-adjusted) with its normal-theory SE sqrt(6/n)."""
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    n = a.size
    if n < 3:
        return Estimate(float("nan"), float("nan"))
    d = a - a.mean()
    g1 = float(np.mean(d**3) / np.mean(d**2) ** 1.5)
    return Estimate(g1 * np.sqrt(n * (n - 1)) / (n - 2), float(np.sqrt(6.0 / n)))


def tail_asymmetry_estimate(x: np.ndarray | pd.Series, level: float = 0.95, n_boot: int = 200) -> Estimate:
    """(upper quantile - mean) / (mean - lower quantile) of the central ``level`` range, with a
    bootstrap SE: 1 for a symmetric distribution, above 1 when the upper tail is longer.

    Published as a mean and a 95 % range (PRECISION-ALS: 0.89, 0.04-1.96 points/month), this is the
    skewness figure a paper reports even when it gives no third moment.
    """
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    if a.size < 10:
        return Estimate(float("nan"), float("nan"))
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2

    def ratio(v: np.ndarray) -> float:
        lo, hi = np.quantile(v, [lo_q, hi_q])
        m = float(v.mean())
        return float((hi - m) / (m - lo)) if m > lo else float("nan")

    rng = np.random.default_rng(0)
    boot = [ratio(a[rng.integers(0, a.size, a.size)]) for _ in range(n_boot)]
    return Estimate(ratio(a), float(np.nanstd(boot, ddof=1)))


def icc_oneway(ratings: np.ndarray) -> float:
    """One-way random-effects ICC(1,1) of an (n subjects, k ratings) array.

    (MSB - MSW) / (MSB + (k - 1) MSW) from the one-way ANOVA, the model Kaufmann 2007 used for the
    ALSFRS-R's intra-rater reliability: any difference between a subject's ratings, systematic or
    not, counts as error.
    """
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"icc_oneway needs an (n >= 2 subjects, k >= 2 ratings) array, not shape {x.shape}")
    n, k = x.shape
    row = x.mean(axis=1)
    msb = k * float(((row - x.mean()) ** 2).sum()) / (n - 1)
    msw = float(((x - row[:, None]) ** 2).sum()) / (n * (k - 1))
    return (msb - msw) / (msb + (k - 1) * msw)


def icc_estimate(ratings: np.ndarray, batches: int = 20) -> Estimate:
    """``icc_oneway`` with a batch-means SE (the rating noise is heavy-tailed, so no normal theory)."""
    x = np.asarray(ratings, dtype=float)
    parts = [icc_oneway(b) for b in np.array_split(x, batches) if b.shape[0] >= 2]
    return Estimate(icc_oneway(x), float(np.std(parts, ddof=1) / np.sqrt(len(parts))))


def trajectory_statistics(
    visits: pd.DataFrame, *, subject: str = "id", day: str = "day", total: str = "total", min_visits: int = 4
) -> pd.DataFrame:
    """One row per participant with at least ``min_visits`` totals: slope, quadratic, residual_sd.

    ``slope`` is the least-squares slope (points/month), ``quadratic`` the t² coefficient of a
    quadratic fit (points/month², negative = accelerating decline), ``residual_sd`` the scatter
    of totals about the participant's line.
    """
    rows = []
    v = visits.loc[visits[total].notna(), [subject, day, total]]
    for sid, g in v.groupby(subject, sort=True):
        t = g[day].to_numpy(dtype=float) / DAYS_PER_MONTH
        y = g[total].to_numpy(dtype=float)
        if t.size < min_visits or np.unique(t).size < 3:
            continue
        tc = t - t.mean()
        b1 = float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))
        resid = y - y.mean() - b1 * tc
        quad = float(np.polyfit(tc, y, 2)[0])
        rows.append(
            {
                "subject": sid,
                "slope": b1,
                "quadratic": quad,
                "residual_sd": float(np.sqrt(resid @ resid / (t.size - 2))),
            }
        )
    return pd.DataFrame(rows, columns=["subject", "slope", "quadratic", "residual_sd"])


def unchanged_share(visits: pd.DataFrame, *, subject: str = "id", day: str = "day", total: str = "total") -> Estimate:
    """Share of consecutive visit pairs whose totals are equal."""
    v = visits.loc[visits[total].notna(), [subject, day, total]].sort_values([subject, day], kind="stable")
    diff = v.groupby(subject, sort=False)[total].diff().dropna()
    return proportion_estimate(diff.to_numpy() == 0)


def domain_scores(visits: pd.DataFrame) -> pd.DataFrame:
    """Domain subscores (0-12) from item columns q1..q12 (q5a/q5b merged), if the items are present."""
    items = visits.copy()
    if "q5" not in items.columns and {"q5a", "q5b"} <= set(items.columns):
        items["q5"] = items["q5a"].fillna(items["q5b"])
    out = pd.DataFrame(index=visits.index)
    for dom, cols in DOMAIN_ITEMS.items():
        if set(cols) <= set(items.columns):
            out[dom] = items[list(cols)].sum(axis=1, min_count=len(cols))
    return out


def domain_zero_share(visits: pd.DataFrame, domain: str) -> np.ndarray:
    """(rows,) share of the domain's items scored 0 at each visit."""
    items = visits.copy()
    if "q5" not in items.columns and {"q5a", "q5b"} <= set(items.columns):
        items["q5"] = items["q5a"].fillna(items["q5b"])
    cols = list(DOMAIN_ITEMS[domain])
    return (items[cols].to_numpy(dtype=float) == 0).mean(axis=1)


def comparison_statistics(
    visits: pd.DataFrame, *, subject: str = "id", day: str = "day", total: str = "total"
) -> dict[str, Estimate]:
    """The statistics ``--against`` compares; domain rows only when domain scores are present."""
    traj = trajectory_statistics(visits, subject=subject, day=day, total=total)
    out = {
        "participants with >= 4 totals": Estimate(float(len(traj)), 0.0),
        "slope, points/month (mean)": mean_estimate(traj["slope"]),
        "slope, points/month (SD)": sd_estimate(traj["slope"]),
        "slope skewness": skew_estimate(traj["slope"]),
        "quadratic term, points/month^2 (mean)": mean_estimate(traj["quadratic"]),
        "residual SD about each line, points (mean)": mean_estimate(traj["residual_sd"]),
        "unchanged consecutive totals, share": unchanged_share(visits, subject=subject, day=day, total=total),
    }
    tot = visits[total].to_numpy(dtype=float)
    for dom in DOMAINS:
        if dom not in visits.columns:
            continue
        score = visits[dom].to_numpy(dtype=float)
        low, high = tot <= 25, tot >= 35
        out[f"{dom} <= 2 at totals <= 25, share"] = proportion_estimate(score[low & ~np.isnan(score)] <= 2)
        out[f"{dom} >= 10 at totals >= 35, share"] = proportion_estimate(score[high & ~np.isnan(score)] >= 10)
    return out

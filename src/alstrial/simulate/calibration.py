"""Calibration: does the eligible simulated population look like the seed trial and PRO-ACT?

Each target names its source (CLINICAL.md §1.3 baseline table, §1.2 disposition, §4 natural
history), a tolerance for model adequacy, and is compared with the simulated value and its Monte
Carlo standard error. A value passes when |simulated - target| <= tolerance + 2 MC SE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import Cohort, simulate_cohort
from alstrial.simulate.latent import DAYS_PER_MONTH
from alstrial.stats.responder_slopes import derive_pre_post_slopes

#: the seed trial's responder threshold: post-treatment minus pre-treatment slope, points/month
RESPONDER_THRESHOLD_POINTS_PER_MONTH = 1.25


def participant_slopes(visits: pd.DataFrame, column: str = "total", min_visits: int = 3) -> pd.Series:
    """Per-participant OLS slope (units/month) of ``column`` over post-baseline-inclusive visits."""
    v = visits.loc[(visits["day"] >= 0) & visits[column].notna(), ["id", "day", column]]
    t = v["day"].to_numpy() / DAYS_PER_MONTH
    y = v[column].to_numpy(dtype=float)
    g = pd.DataFrame({"id": v["id"].to_numpy(), "t": t, "y": y, "tt": t * t, "ty": t * y})
    s = g.groupby("id", sort=False).agg(
        n=("t", "size"), t=("t", "sum"), y=("y", "sum"), tt=("tt", "sum"), ty=("ty", "sum")
    )
    s = s[s["n"] >= min_visits]
    sxx = s["tt"] - s["t"] ** 2 / s["n"]
    sxy = s["ty"] - s["t"] * s["y"] / s["n"]
    return sxy / sxx


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float


def _mean(x: np.ndarray) -> Estimate:
    x = np.asarray(x, dtype=float)
    return Estimate(float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(x.size)))


def _sd(x: np.ndarray) -> Estimate:
    x = np.asarray(x, dtype=float)
    s = float(np.std(x, ddof=1))
    return Estimate(s, s / np.sqrt(2 * (x.size - 1)))


def _prop(x: np.ndarray) -> Estimate:
    x = np.asarray(x, dtype=bool)
    p = float(x.mean())
    return Estimate(p, float(np.sqrt(max(p * (1 - p), 1e-12) / x.size)))


def _risk_ratio(event: np.ndarray, group: np.ndarray) -> Estimate:
    e1, e0 = event[group], event[~group]
    p1, p0 = float(e1.mean()), float(e0.mean())
    if p1 == 0 or p0 == 0:
        return Estimate(float("nan"), float("nan"))
    rr = p1 / p0
    se_log = np.sqrt((1 - p1) / max(e1.sum(), 1) + (1 - p0) / max(e0.sum(), 1))
    return Estimate(rr, float(rr * se_log))


@dataclass(frozen=True)
class CalibrationTarget:
    """One quantity the simulator should reproduce."""

    name: str
    target: float
    tolerance: float
    source: str
    measure: Callable[[Cohort, Cohort], Estimate] = field(repr=False, compare=False)
    # "reported": shown beside its published value but not (yet) calibrated, so it does not count
    # toward ``all_within``; see the placebo responder rate below for why.
    kind: Literal["close", "at_least", "reported"] = "close"
    scale: float = 1.0  # display multiplier (100 for percentages)


def _placebo_slopes(_: Cohort, placebo: Cohort) -> np.ndarray:
    return participant_slopes(placebo.visits).to_numpy()


def placebo_slope_change(c: Cohort) -> np.ndarray:
    """Per-participant post - pre least-squares ALSFRS-R slope (points/month), as the analysis derives it.

    Same definition as ``AnalysisPlan.slopes``: pre = all totals on days <= 0 (screening, run-in,
    baseline), post = days 0 .. last scheduled visit; participants without a change are excluded.
    """
    v = c.visits.loc[c.visits["total"].notna(), ["id", "day", "total"]]
    s = derive_pre_post_slopes(
        v,
        subject="id",
        day="day",
        score="total",
        baseline_day=0.0,
        endpoint_day=float(c.params.visits.alsfrs_days[-1]),
        method="least_squares",
    )
    change = s["slope_change"].to_numpy(dtype=float)
    return change[~np.isnan(change)]


def _placebo_responders(_: Cohort, placebo: Cohort) -> Estimate:
    return _prop(placebo_slope_change(placebo) >= RESPONDER_THRESHOLD_POINTS_PER_MONTH)


def _dropout_before_end(c: Cohort) -> np.ndarray:
    end = c.params.visits.alsfrs_days[-1]
    return (c.participants["dropout_day"] <= end).to_numpy()


def _men_in_band(c: Cohort) -> np.ndarray:
    lo, hi = c.params.dropout.age_band_years
    p = c.participants
    return ((p["sex"] == "M") & (p["age"] >= lo) & (p["age"] < hi)).to_numpy()


def _months_to_dose(c: Cohort) -> np.ndarray:
    return c.participants["months_since_onset"].to_numpy()


TARGETS: tuple[CalibrationTarget, ...] = (
    CalibrationTarget(
        "placebo ALSFRS-R slope, points/month (mean)",
        -1.0,
        0.15,
        "PRO-ACT §4.1; Thakore 2018",
        lambda t, p: _mean(_placebo_slopes(t, p)),
    ),
    CalibrationTarget("SD of individual slopes", 0.75, 0.25, "brief: 0.5-1", lambda t, p: _sd(_placebo_slopes(t, p))),
    CalibrationTarget(
        "baseline ALSFRS-R (mean)",
        30.85,
        1.5,
        "Table 1 §1.3",
        lambda t, p: _mean(t.participants["baseline_total"].to_numpy()),
    ),
    CalibrationTarget(
        "baseline ALSFRS-R (SD)",
        6.3,
        1.0,
        "Table 1 §1.3",
        lambda t, p: _sd(t.participants["baseline_total"].to_numpy()),
    ),
    CalibrationTarget(
        "baseline ALSFRS-R <= 25, %",
        0.233,
        0.06,
        "Table 1 §1.3",
        lambda t, p: _prop((t.participants["baseline_total"] <= 25).to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "age, years (mean)", 48.6, 1.5, "Table 1 §1.3", lambda t, p: _mean(t.participants["age"].to_numpy())
    ),
    CalibrationTarget("age, years (SD)", 9.1, 1.5, "Table 1 §1.3", lambda t, p: _sd(t.participants["age"].to_numpy())),
    CalibrationTarget(
        "female, %",
        0.328,
        0.06,
        "Table 1 §1.3",
        lambda t, p: _prop((t.participants["sex"] == "F").to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "limb onset, %",
        0.81,
        0.06,
        "Table 1 §1.3",
        lambda t, p: _prop((t.participants["onset_region"] == "limb").to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "riluzole at baseline, %",
        0.64,
        0.06,
        "Table 1 §1.3",
        lambda t, p: _prop(t.participants["riluzole"].to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "months onset to first dose (mean)", 19.35, 1.5, "Table 1 §1.3", lambda t, p: _mean(_months_to_dose(t))
    ),
    CalibrationTarget(
        "months onset to first dose (SD)", 5.0, 1.5, "Table 1 §1.3", lambda t, p: _sd(_months_to_dose(t))
    ),
    CalibrationTarget(
        "months from diagnosis (mean)",
        6.45,
        1.5,
        "Table 1 §1.3",
        lambda t, p: _mean(t.participants["months_since_diagnosis"].to_numpy()),
    ),
    CalibrationTarget(
        "screen failures, %",
        0.255,
        0.06,
        "§1.2: 263 screened, 196 randomized",
        lambda t, p: Estimate(
            t.screen_failure_fraction,
            float(np.sqrt(t.screen_failure_fraction * (1 - t.screen_failure_fraction) / t.n_screened)),
        ),
        scale=100,
    ),
    CalibrationTarget(
        "baseline SVC, % predicted (mean)",
        75.6,
        4.0,
        "Table 1 §1.3",
        lambda t, p: _mean(t.participants["baseline_svc"].to_numpy()),
    ),
    CalibrationTarget(
        "baseline SVC, % predicted (SD)",
        20.3,
        4.0,
        "Table 1 §1.3",
        lambda t, p: _sd(t.participants["baseline_svc"].to_numpy()),
    ),
    CalibrationTarget(
        "VC slope, % predicted/month (mean)",
        -2.24,
        1.2,
        "PRO-ACT §4.1 (all-comers; ours are fast)",
        lambda t, p: _mean(participant_slopes(p.visits, "svc").to_numpy()),
    ),
    CalibrationTarget(
        "placebo responder rate (post - pre slope >= 1.25), %",
        0.277,
        0.06,
        "§1.4: 27.7 % of placebo (least-squares slopes, AnalysisPlan.slopes); NOT calibrated: the run-in"
        " selection inflates pre-treatment slopes, so regression to the mean makes ~50 % respond",
        _placebo_responders,
        kind="reported",
        scale=100,
    ),
    CalibrationTarget(
        "left before week 28, %",
        45 / 189,
        0.06,
        "seed article: ~45 of 189",
        lambda t, p: _prop(_dropout_before_end(t)),
        scale=100,
    ),
    CalibrationTarget(
        "dropout risk ratio, men in age band vs others",
        1.3,
        0.0,
        "seed article: mostly men in 40s",
        lambda t, p: _risk_ratio(_dropout_before_end(t), _men_in_band(t)),
        kind="at_least",
    ),
)


@dataclass(frozen=True)
class CalibrationResult:
    """Targets beside simulated values; ``summary`` has one row per target."""

    summary: pd.DataFrame
    n: int
    seed: int | None

    @property
    def calibrated(self) -> pd.DataFrame:
        """The rows that are calibration targets (``reported`` rows excluded)."""
        return self.summary[self.summary["kind"] != "reported"]

    @property
    def all_within(self) -> bool:
        return bool(self.calibrated["within"].astype(bool).all())

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "seed": self.seed,
            "all_within": self.all_within,
            "targets": self.summary.to_dict(orient="records"),
        }

    def __str__(self) -> str:
        head = f"Calibration of the ALS simulator (n = {self.n} randomized, seed {self.seed})"
        return head + "\n" + self.summary.to_string(index=False)


def run_calibration(params: SimulationParams | None = None, n: int = 2000, seed: int | None = 0) -> CalibrationResult:
    """Simulate ``n`` eligible participants under the params (treatment as given) and an
    all-placebo cohort with the same seed (for natural-history slopes), and compare with targets."""
    params = params or SimulationParams()
    trial = simulate_cohort(params, n, seed=seed)
    placebo = simulate_cohort(params, n, seed=seed, arms=("placebo",))
    rows = []
    for t in TARGETS:
        est = t.measure(trial, placebo)
        ok: bool | None
        if t.kind == "reported":
            ok = None
        elif t.kind == "at_least":
            ok = est.value >= t.target - 2 * est.se
        else:
            ok = abs(est.value - t.target) <= t.tolerance + 2 * est.se
        rows.append(
            {
                "quantity": t.name,
                "target": t.target * t.scale,
                "simulated": est.value * t.scale,
                "mc_se": est.se * t.scale,
                "tolerance": t.tolerance * t.scale,
                "kind": t.kind,
                "within": ok if ok is None else bool(ok),
                "source": t.source,
            }
        )
    return CalibrationResult(summary=pd.DataFrame(rows), n=n, seed=seed)

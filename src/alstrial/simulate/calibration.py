"""Calibration: does the eligible simulated population look like the seed trial and PRO-ACT?

Each target names its source (see ``SOURCES.md`` beside this module: Cudkowicz 2022 Tables 1 and
4, the CT.gov record, PRO-ACT papers), a tolerance for model adequacy, and is compared with the
simulated value and its Monte Carlo standard error. A value passes when |simulated - target| <=
tolerance + 2 MC SE; a published proportion with its exact binomial interval passes when the
simulated value lies within that interval widened by 2 MC SE. Rows of kind ``reported`` have no
published source yet, rows of kind ``context`` have one that a closer source supersedes: both are
shown (with the reason) and do not count as calibrated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import Cohort, _streams, screen_arrays, simulate_cohort
from alstrial.simulate.events import event_days
from alstrial.simulate.latent import DAYS_PER_MONTH
from alstrial.simulate.observation import VisitNoise, observe
from alstrial.simulate.referral import draw_candidates
from alstrial.simulate.screening import eligibility_flags
from alstrial.simulate.trajectory_stats import (
    Estimate,
    domain_zero_share,
    icc_estimate,
    mean_estimate,
    proportion_estimate,
    sd_estimate,
    skew_estimate,
    tail_asymmetry_estimate,
    trajectory_statistics,
    unchanged_share,
)
from alstrial.stats.responder_slopes import SlopeRule, derive_pre_post_slopes

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


_mean, _sd, _prop, _skew = mean_estimate, sd_estimate, proportion_estimate, skew_estimate
_unchanged = unchanged_share


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
    # "reported": no published source (a KNOWN GAP), shown but not calibrated; "context": a published
    # figure shown beside the simulated one but not calibrated, because a closer source is the target
    # (the source string says which). Neither counts toward ``all_within``.
    kind: Literal["close", "at_least", "at_most", "interval", "reported", "context"] = "close"
    scale: float = 1.0  # display multiplier (100 for percentages)
    interval: tuple[float, float] | None = None  # for kind "interval": the published 95 % interval


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k of n (the published proportion's sampling uncertainty)."""
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta_dist.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _binomial_target(
    name: str, k: int, n: int, source: str, measure: Callable[[Cohort, Cohort], Estimate]
) -> CalibrationTarget:
    return CalibrationTarget(
        name, k / n, 0.0, source, measure, kind="interval", scale=100, interval=clopper_pearson(k, n)
    )


def _placebo_slopes(_: Cohort, placebo: Cohort) -> np.ndarray:
    return participant_slopes(placebo.visits).to_numpy()


def responder_slopes(c: Cohort, rule: SlopeRule | None = None) -> pd.DataFrame:
    """Per-participant pre/post slopes and change, by the shared definition the analysis uses.

    pre = totals on days <= 0 (screening, run-in, baseline) by ``rule.pre_method``, post = days
    0 .. last scheduled visit; indexed by participant with ``baseline_total``.
    """
    rule = rule or SlopeRule()
    v = c.visits.loc[c.visits["total"].notna(), ["id", "day", "total"]]
    p = c.participants.set_index("id")
    s = derive_pre_post_slopes(
        v,
        subject="id",
        day="day",
        score="total",
        baseline_day=0.0,
        endpoint_day=float(c.params.visits.alsfrs_days[-1]),
        method=rule.post_method,
        pre_method=rule.pre_method,
        months_since_onset=p["months_since_onset"],
    ).set_index("id")
    s["baseline_total"] = p["baseline_total"].reindex(s.index)
    return s


def placebo_slope_change(c: Cohort, rule: SlopeRule | None = None) -> np.ndarray:
    """Post - pre slope (points/month) of participants who have one (the rule's ``exclude``)."""
    change = responder_slopes(c, rule)["slope_change"].to_numpy(dtype=float)
    return change[~np.isnan(change)]


def _responders_in(lo: float = -np.inf, hi: float = np.inf) -> Callable[[Cohort, Cohort], Estimate]:
    def measure(_: Cohort, placebo: Cohort) -> Estimate:
        s = responder_slopes(placebo)
        s = s[s["slope_change"].notna() & (s["baseline_total"] >= lo) & (s["baseline_total"] <= hi)]
        return _prop(s["slope_change"].to_numpy() >= RESPONDER_THRESHOLD_POINTS_PER_MONTH)

    return measure


def _change_at_end(lo: float = -np.inf, hi: float = np.inf) -> Callable[[Cohort, Cohort], Estimate]:
    """Mean observed change from baseline to the last scheduled visit in the placebo cohort."""

    def measure(_: Cohort, placebo: Cohort) -> Estimate:
        v = placebo.visits
        end = placebo.params.visits.alsfrs_days[-1]
        last = v[v["day"] == end].set_index("id")["total"]
        base = placebo.participants.set_index("id")["baseline_total"]
        keep = (base >= lo) & (base <= hi)
        chg = (last - base[keep]).dropna().to_numpy(dtype=float)
        return _mean(chg)

    return measure


def _pre_slope_mean(_: Cohort, placebo: Cohort) -> Estimate:
    return _mean(responder_slopes(placebo)["pre_slope"].dropna().to_numpy())


def _quadratic(_: Cohort, placebo: Cohort) -> Estimate:
    return _mean(trajectory_statistics(placebo.visits.loc[placebo.visits["day"] >= 0])["quadratic"].dropna())


def _unchanged_share(_: Cohort, placebo: Cohort) -> Estimate:
    return _unchanged(placebo.visits.loc[placebo.visits["day"] >= 0])


def _slope_skew(_: Cohort, placebo: Cohort) -> Estimate:
    return _skew(participant_slopes(placebo.visits).to_numpy())


def _rate_asymmetry(_: Cohort, placebo: Cohort) -> Estimate:
    """Tail asymmetry of individual decline rates (points/month lost over follow-up, model-based as
    in the joint model of the source, so measurement noise does not widen the tails)."""
    return tail_asymmetry_estimate(placebo.participants["latent_decline"].to_numpy())


def same_day_ratings(t: Cohort) -> np.ndarray:
    """(n, 2) ALSFRS-R totals of two independent ratings of the same referred (screened) candidates on
    the screening day, with the model's measurement noise: what a reliability study would record."""
    n = max(len(t.participants), 200)
    rng = np.random.default_rng(np.random.SeedSequence([0 if t.seed is None else t.seed, 1999]))
    batch = draw_candidates(t.params, n, rng)
    day = np.array([float(t.params.visits.screening_day)])
    ev = event_days(t.params, batch)
    a, b = (observe(batch, day, ev, VisitNoise.draw(t.params, n, 1, rng)).total[:, 0] for _ in range(2))
    return np.column_stack([a, b]).astype(float)


def _test_retest_sem(t: Cohort, _: Cohort) -> Estimate:
    """Standard error of measurement of the total: SD of the two same-day ratings' difference / sqrt 2."""
    r = same_day_ratings(t)
    n = r.shape[0]
    sd = float((r[:, 0] - r[:, 1]).std(ddof=1))
    return Estimate(sd / np.sqrt(2), sd / np.sqrt(2) / np.sqrt(2 * (n - 1)))


def _screening_icc(t: Cohort, _: Cohort) -> Estimate:
    """One-way ICC of two same-day ratings of screened candidates (Kaufmann 2007's model)."""
    return icc_estimate(same_day_ratings(t))


def screen_failure_floor(params: SimulationParams, n: int, seed: int | None, reps: int = 200) -> Estimate:
    """The lowest screen-failure fraction any referral rule could give for the population that enrols.

    Eligibility is decided on the trial's own ratings (screening and run-in visits), whose noise is
    independent of anything a site knew when it referred (its clinic history ends before screening).
    For each enrolled participant i let p_i be the probability that fresh ratings of the same
    person at those visits pass every criterion (``reps`` re-ratings). A screened population f
    whose passers are this enrolled population g has f proportional to g / p, so it passes with
    probability 1 / mean(1 / p_i) whatever selected it: the screen-failure fraction is at least
    1 - 1 / mean(1 / p_i). A floor above the published rate means no referral, however good, can
    reach that rate with this enrolled population and this measurement model.
    """
    rng_c, rng_s, *_ = _streams(seed, None)
    screened = screen_arrays(params, n, rng_c, rng_s)
    sel = screened.selected()
    batch = screened.batch.take(sel)
    events = {k: v[sel] for k, v in screened.events.items()}
    days = np.array([params.visits.screening_day, params.visits.runin_day], dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else seed, 2263]))
    passed = np.zeros(batch.n)
    for _ in range(reps):
        obs = observe(batch, days, events, VisitNoise.draw(params, batch.n, days.size, rng, days))
        flags = eligibility_flags(params, batch, obs.total[:, 0], obs.svc[:, 0], obs.total[:, 1], events["death"])
        passed += flags["eligible"]
    inv = 1.0 / np.maximum(passed / reps, 0.5 / reps)  # every enrolled participant passed once: p > 0
    m = float(inv.mean())
    return Estimate(1.0 - 1.0 / m, float(inv.std(ddof=1) / np.sqrt(inv.size)) / (m * m))


def _zero_items(domain: str) -> Callable[[Cohort, Cohort], Estimate]:
    """Average share of a domain's items scored 0 at baseline, among baseline totals <= 25."""

    def measure(t: Cohort, _: Cohort) -> Estimate:
        v = t.visits[t.visits["day"] == 0]
        share = domain_zero_share(v, domain)
        base = v["total"].to_numpy()
        return _mean(share[base <= 25])

    return measure


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
        "PRO-ACT: Atassi 2014 Neurology 83:1719; Thakore 2018",
        lambda t, p: _mean(_placebo_slopes(t, p)),
    ),
    CalibrationTarget(
        "SD of individual decline rates (model-based), points/month",
        (1.96 - 0.04) / (2 * 1.96),
        0.15,
        "derived from van Eijk 2024 PRECISION-ALS: 95 % of rates 0.04-1.96, so SD ~ (1.96 - 0.04) / (2 x 1.96)"
        " = 0.49 (normal approximation); tolerance 0.15: a population cohort, ours trial-selected on a"
        " >= 3-point decline, which removes the slowest tail",
        lambda t, p: _sd(p.participants["latent_decline"].to_numpy()),
    ),
    CalibrationTarget(
        "SD of individual placebo OLS slopes, points/month",
        float("nan"),
        0.0,
        "NO PUBLISHED SOURCE FOUND for the SD of observed slopes in a comparable trial population; KNOWN GAP"
        " (the model-based SD above is the calibrated row; compare with your data: --against FILE)",
        lambda t, p: _sd(_placebo_slopes(t, p)),
        kind="reported",
    ),
    CalibrationTarget(
        "baseline ALSFRS-R (mean)",
        30.85,
        1.5,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _mean(t.participants["baseline_total"].to_numpy()),
    ),
    CalibrationTarget(
        "baseline ALSFRS-R (SD)",
        6.3,
        1.0,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _sd(t.participants["baseline_total"].to_numpy()),
    ),
    CalibrationTarget(
        "baseline ALSFRS-R <= 25, %",
        0.233,
        0.06,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _prop((t.participants["baseline_total"] <= 25).to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "age, years (mean)", 48.6, 1.5, "Cudkowicz 2022 Table 1", lambda t, p: _mean(t.participants["age"].to_numpy())
    ),
    CalibrationTarget(
        "age, years (SD)", 9.1, 1.5, "Cudkowicz 2022 Table 1", lambda t, p: _sd(t.participants["age"].to_numpy())
    ),
    CalibrationTarget(
        "female, %",
        0.328,
        0.06,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _prop((t.participants["sex"] == "F").to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "limb onset, %",
        0.81,
        0.06,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _prop((t.participants["onset_region"] == "limb").to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "riluzole at baseline, %",
        0.64,
        0.06,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _prop(t.participants["riluzole"].to_numpy()),
        scale=100,
    ),
    CalibrationTarget(
        "months onset to first dose (mean)",
        19.35,
        1.5,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _mean(_months_to_dose(t)),
    ),
    CalibrationTarget(
        "months onset to first dose (SD)", 5.0, 1.5, "Cudkowicz 2022 Table 1", lambda t, p: _sd(_months_to_dose(t))
    ),
    CalibrationTarget(
        "months from diagnosis (mean)",
        6.45,
        1.5,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _mean(t.participants["months_since_diagnosis"].to_numpy()),
    ),
    CalibrationTarget(
        "screen failures, %",
        0.255,
        0.06,
        "ClinicalTrials.gov NCT03280056: 263 screened, 196 randomized",
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
        "Cudkowicz 2022 Table 1",
        lambda t, p: _mean(t.participants["baseline_svc"].to_numpy()),
    ),
    CalibrationTarget(
        "baseline SVC, % predicted (SD)",
        20.3,
        4.0,
        "Cudkowicz 2022 Table 1",
        lambda t, p: _sd(t.participants["baseline_svc"].to_numpy()),
    ),
    CalibrationTarget(
        "VC slope, % predicted/month (mean)",
        -2.24,
        1.2,
        "PRO-ACT: Atassi 2014 Neurology 83:1719 (all-comers; ours are fast)",
        lambda t, p: _mean(participant_slopes(p.visits, "svc").to_numpy()),
    ),
    _binomial_target(
        "placebo responder rate (post - pre slope >= 1.25), %",
        26,
        94,
        "Cudkowicz 2022 Muscle Nerve 65:291, abstract: 27.7 % of 94 placebo (exact 95 % CI); least-squares slopes",
        _responders_in(),
    ),
    _binomial_target(
        "placebo responder rate, baseline >= 26, %",
        15,
        73,
        "Cudkowicz 2022 Table 4 (20.5 %) x Table 1 (73 placebo > 25): 15/73",
        _responders_in(lo=26),
    ),
    _binomial_target(
        "placebo responder rate, baseline <= 25, %",
        11,
        21,
        "derived: 26 of 94 overall minus 15/73 at >= 26 (Cudkowicz 2022 Tables 1, 4): 11/21",
        _responders_in(hi=25),
    ),
    _binomial_target(
        "placebo responder rate, baseline >= 35, %",
        5,
        32,
        "Cudkowicz 2022 abstract: 15.6 % placebo in the >= 35 subgroup (n = 58; 5/32 fits 15.6 %)",
        _responders_in(lo=35),
    ),
    CalibrationTarget(
        "placebo change in ALSFRS-R to week 28 (mean)",
        -5.88,
        1.2,
        "BrainStorm phase 3 topline (Nov 2020, via Seeking Alpha): MMRM placebo -5.88 (SE ~0.6; tolerance 2 SE)",
        _change_at_end(),
    ),
    CalibrationTarget(
        "placebo change to week 28, baseline >= 30 (mean)",
        -5.53,
        1.6,
        "Cudkowicz 2022 Table 4: LS mean -5.53 (SE 0.81); tolerance 2 SE",
        _change_at_end(lo=30),
    ),
    CalibrationTarget(
        "placebo change to week 28, baseline >= 34 (mean)",
        -4.32,
        1.9,
        "Cudkowicz 2022 Table 4: LS mean -4.32 (SE 0.96); tolerance 2 SE",
        _change_at_end(lo=34),
    ),
    CalibrationTarget(
        "quadratic term of placebo trajectories, points/month^2 (mean)",
        0.0,
        0.02,
        "Thakore 2018 Muscle Nerve 57:937: slightly accelerating (term <= 0); tolerance 0.02",
        _quadratic,
        kind="at_most",
    ),
    CalibrationTarget(
        "fine-motor items at 0, baseline <= 25, %",
        (0.49 * 23 + 0.33 * 21) / 44,
        0.15,
        "Cudkowicz 2022 Table 1: 49 % (MSC, 23) and 33 % (placebo, 21) pooled; tolerance 15 points",
        _zero_items("fine_motor"),
        scale=100,
    ),
    CalibrationTarget(
        "gross-motor items at 0, baseline <= 25, %",
        (0.42 * 23 + 0.32 * 21) / 44,
        0.15,
        "Cudkowicz 2022 Table 1: 42 % and 32 % pooled; tolerance 15 points",
        _zero_items("gross_motor"),
        scale=100,
    ),
    CalibrationTarget(
        "bulbar items at 0, baseline <= 25, %",
        (0.07 * 23 + 0.06 * 21) / 44,
        0.1,
        "Cudkowicz 2022 Table 1: 7 % and 6 % pooled; tolerance 10 points",
        _zero_items("bulbar"),
        scale=100,
    ),
    CalibrationTarget(
        "ICC of two ALSFRS-R ratings of screened candidates (one-way)",
        0.95,
        0.0,
        "Kaufmann 2007 Amyotroph Lateral Scler 8:42 (QALS trial, ALSFRS-R at screening and baseline, n = 41):"
        " intra-rater ICC 0.95, 95 % CI 0.92-0.98; simulated: two same-day ratings",
        _screening_icc,
        kind="interval",
        interval=(0.92, 0.98),
    ),
    CalibrationTarget(
        "test-retest SEM of the ALSFRS-R total, points",
        2.43,
        0.0,
        "CONTEXT, not calibrated: Miano 2004 (via rehabmeasures.org), SEM 2.43, n = 44, the ORIGINAL ALSFRS"
        " outside a trial; superseded by Kaufmann 2007's ICC (revised scale, trial setting)",
        _test_retest_sem,
        kind="context",
    ),
    CalibrationTarget(
        "mean pre-treatment slope (least squares, SCR..W0), points/month",
        float("nan"),
        0.0,
        "NO PUBLISHED SOURCE FOUND for the trial's pre-treatment slope; KNOWN GAP: shown, not calibrated",
        _pre_slope_mean,
        kind="reported",
    ),
    CalibrationTarget(
        "unchanged consecutive monthly totals, %",
        float("nan"),
        0.0,
        "NO PUBLISHED SOURCE FOUND; KNOWN GAP (compare with your data: --against FILE)",
        _unchanged_share,
        kind="reported",
        scale=100,
    ),
    CalibrationTarget(
        "skew of individual decline rates: (97.5th pct - mean) / (mean - 2.5th pct)",
        (1.96 - 0.89) / (0.89 - 0.04),
        0.4,
        "van Eijk 2024 PRECISION-ALS (7,030 population-based patients): mean 0.89, 95 % of rates 0.04-1.96"
        " points/month; tolerance 0.4 (a population cohort, not trial-selected)",
        _rate_asymmetry,
    ),
    CalibrationTarget(
        "skewness of individual placebo OLS slopes (third moment)",
        float("nan"),
        0.0,
        "NO PUBLISHED SOURCE FOUND for the third moment; KNOWN GAP (compare with your data: --against FILE)",
        _slope_skew,
        kind="reported",
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
    subgroups: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: lowest screen-failure fraction any referral could give this enrolled population (see
    #: ``screen_failure_floor``); None without a seed (the screening cannot be replayed)
    screen_failure_floor: Estimate | None = None

    @property
    def subgroup_directions(self) -> pd.DataFrame:
        """Does the placebo trend across baseline thresholds go the published way?"""
        return subgroup_directions(self.subgroups)

    @property
    def calibrated(self) -> pd.DataFrame:
        """The rows that are calibration targets (``reported`` and ``context`` rows excluded)."""
        return self.summary[~self.summary["kind"].isin(["reported", "context"])]

    @property
    def screen_failure_fraction(self) -> float:
        """The simulated screen-failure fraction (the table's row, as a fraction)."""
        s = self.summary
        return float(s.loc[s["quantity"] == "screen failures, %", "simulated"].iloc[0]) / 100

    @property
    def all_within(self) -> bool:
        return bool(self.calibrated["within"].astype(bool).all())

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "seed": self.seed,
            "all_within": self.all_within,
            "targets": self.summary.to_dict(orient="records"),
            "placebo_subgroups": self.subgroups.to_dict(orient="records"),
            "placebo_subgroup_directions": self.subgroup_directions.to_dict(orient="records"),
            "screen_failure_floor": None
            if self.screen_failure_floor is None
            else {"value": self.screen_failure_floor.value, "mc_se": self.screen_failure_floor.se},
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
        if t.kind in ("reported", "context"):
            ok = None
        elif t.kind == "at_least":
            ok = est.value >= t.target - 2 * est.se
        elif t.kind == "at_most":
            ok = est.value <= t.target + t.tolerance + 2 * est.se
        elif t.kind == "interval":
            assert t.interval is not None
            ok = t.interval[0] - 2 * est.se <= est.value <= t.interval[1] + 2 * est.se
        else:
            ok = abs(est.value - t.target) <= t.tolerance + 2 * est.se
        rows.append(
            {
                "quantity": t.name,
                "target": t.target * t.scale,
                "simulated": est.value * t.scale,
                "mc_se": est.se * t.scale,
                "tolerance": t.tolerance * t.scale,
                "mc_low": (est.value - 2 * est.se) * t.scale,
                "mc_high": (est.value + 2 * est.se) * t.scale,
                "interval": None if t.interval is None else (t.interval[0] * t.scale, t.interval[1] * t.scale),
                "kind": t.kind,
                "within": ok if ok is None else bool(ok),
                "source": t.source,
            }
        )
    return CalibrationResult(
        summary=pd.DataFrame(rows),
        n=n,
        seed=seed,
        subgroups=placebo_subgroups(placebo),
        screen_failure_floor=None if seed is None else screen_failure_floor(trial.params, n, seed),
    )


#: Cudkowicz 2022 Table 4 (placebo): responder % and MMRM LS-mean change to week 28 by baseline
#: threshold; >= 35 from the abstract and the erratum (-3.65); <= 25 derived from Tables 1 and 4.
PUBLISHED_SUBGROUPS: dict[str, tuple[float, float | None]] = {
    ">= 26": (20.5, -5.81),
    ">= 28": (19.1, -5.58),
    ">= 30": (16.9, -5.53),
    ">= 32": (16.0, -4.32),
    ">= 34": (15.4, -4.32),
    ">= 35": (15.6, -3.65),
    "<= 25": (52.4, None),
}


def placebo_subgroups(placebo: Cohort) -> pd.DataFrame:
    """Placebo responder rate and change to the last visit by baseline threshold, beside Table 4."""
    s = responder_slopes(placebo)
    v = placebo.visits
    end = placebo.params.visits.alsfrs_days[-1]
    last = v[v["day"] == end].set_index("id")["total"]
    change = (last - s["baseline_total"]).reindex(s.index)
    rows = []
    for label, (pub_resp, pub_change) in PUBLISHED_SUBGROUPS.items():
        cut = float(label.split()[1])
        keep = s["baseline_total"] >= cut if label.startswith(">=") else s["baseline_total"] <= cut
        sub = s[keep & s["slope_change"].notna()]
        resp = _prop(sub["slope_change"].to_numpy() >= RESPONDER_THRESHOLD_POINTS_PER_MONTH)
        chg = _mean(change[keep].dropna().to_numpy())
        rows.append(
            {
                "baseline": label,
                "n": int(keep.sum()),
                "responders_pct": 100 * resp.value,
                "published_responders_pct": pub_resp,
                "change_to_end": chg.value,
                "published_change": pub_change,
            }
        )
    return pd.DataFrame(rows)


def _trend(x: pd.Series, y: pd.Series) -> float:
    """Spearman correlation of y with x (the sign says the direction of the trend)."""
    ok = x.notna() & y.notna()
    if ok.sum() < 3:
        return float("nan")
    return float(x[ok].rank().corr(y[ok].rank()))


def subgroup_directions(subgroups: pd.DataFrame) -> pd.DataFrame:
    """Direction of the placebo responder rate and change across the ">= t" thresholds (rising t,
    i.e. less advanced disease), simulated against Cudkowicz 2022 Table 4; and whether "<= 25"
    has more responders than ">= 26" on both sides (the floor effect the publication discusses)."""
    if subgroups.empty:
        return pd.DataFrame(columns=["pattern", "published", "simulated", "same_direction"])
    ge = subgroups[subgroups["baseline"].str.startswith(">=")]
    cut = ge["baseline"].str.split().str[1].astype(float)
    rows = []
    for label, sim_col, pub_col in (
        ("responder % vs threshold (Spearman)", "responders_pct", "published_responders_pct"),
        ("change to last visit vs threshold (Spearman)", "change_to_end", "published_change"),
    ):
        pub = _trend(cut, ge[pub_col].astype(float))
        sim = _trend(cut, ge[sim_col].astype(float))
        rows.append({"pattern": label, "published": pub, "simulated": sim, "same_direction": pub * sim > 0})
    by = subgroups.set_index("baseline")
    if {"<= 25", ">= 26"} <= set(by.index):
        pub_pct = by["published_responders_pct"].astype(float)
        sim_pct = by["responders_pct"].astype(float)
        pub_gap = float(pub_pct["<= 25"]) - float(pub_pct[">= 26"])
        sim_gap = float(sim_pct["<= 25"]) - float(sim_pct[">= 26"])
        rows.append(
            {
                "pattern": "responder % at <= 25 minus >= 26 (points)",
                "published": pub_gap,
                "simulated": sim_gap,
                "same_direction": pub_gap * sim_gap > 0,
            }
        )
    return pd.DataFrame(rows)

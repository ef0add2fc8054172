"""Time-to-event endpoints: Kaplan–Meier, log-rank and Cox, checked against R's survival.

Time to death or permanent assisted ventilation is analysed like ``survfit`` / ``survdiff`` /
``coxph`` in R: Kaplan–Meier with Greenwood standard errors and R's default log-scale
confidence interval (lifelines' own default is log(−log), so the interval is computed here),
the log-rank χ² (plain or stratified, as ``survdiff``), and Cox regression with Efron or
Breslow ties, optionally stratified (statsmodels ``PHReg``: lifelines fits Efron only).
Validated against R in tests/stats/test_survival_r.py (stored fits in validation/survival/).

Event coding follows R's ``Surv``: 0/1 or FALSE/TRUE, and 1/2 (1 = censored, 2 = event) when
the values are 1 and 2 only and a 2 is present (e.g. R's ``lung`` data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines import KaplanMeierFitter
from scipy import stats as sps

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, distinct_columns, numeric_column, require_columns
from alstrial.stats.result import format_block, plain, wald_table

Ties = Literal["efron", "breslow"]
EventCoding = Literal["auto", "01", "12"]

_KM_COLUMNS = ["time", "at_risk", "events", "censored", "survival", "std_error", "ci_lower", "ci_upper"]


def event_indicator(values: pd.Series, *, coding: EventCoding = "auto", what: str = "survival") -> np.ndarray:
    """Return the 0/1 event indicator, decoding R's 1/2 convention (see the module docstring)."""
    if coding not in ("auto", "01", "12"):
        raise EndpointDataError(f"invalid value for event coding, expected one of 'auto', '01', '12' (not {coding!r})")
    raw = values.astype(float) if values.dtype == bool else values
    v = numeric_column(pd.DataFrame({values.name: raw}), str(values.name), what=what)
    levels = set(np.unique(v).tolist())
    if coding == "auto":
        coding = "12" if levels <= {1.0, 2.0} and 2.0 in levels else "01"
    allowed = {0.0, 1.0} if coding == "01" else {1.0, 2.0}
    bad = levels - allowed
    if bad:
        raise EndpointDataError(
            f"{what}: event column {values.name!r} has value {min(bad)!r}; "
            f"allowed with coding {coding!r}: {sorted(allowed)}"
        )
    return (v == (1.0 if coding == "01" else 2.0)).astype(float)


def _r_median(y: np.ndarray, x: np.ndarray) -> float:
    """R survival's ``minmin``: first x where y <= 0.5; midpoint when y sits exactly on 0.5."""
    tol = np.sqrt(np.finfo(float).eps)
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    xs, ys = x[keep], y[keep]
    if abs(ys[0] - 0.5) < tol and (ys < ys[0]).any():
        return float((xs[0] + xs[np.argmax(ys < ys[0])]) / 2)
    return float(xs[0])


@dataclass(frozen=True)
class KaplanMeierCurve:
    """One group's Kaplan–Meier estimate, like R's ``summary(survfit(...), censored=TRUE)``."""

    group: Any
    n: int
    events: int
    median: float
    median_ci_lower: float
    median_ci_upper: float
    table: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "group": self.group,
                "n": self.n,
                "events": self.events,
                "median": self.median,
                "median_ci_lower": self.median_ci_lower,
                "median_ci_upper": self.median_ci_upper,
                "table": self.table,
            }
        )


def kaplan_meier_curve(
    time: np.ndarray, event: np.ndarray, *, group: Any = None, conf_level: float = 0.95
) -> KaplanMeierCurve:
    """Kaplan–Meier with Greenwood SE and a log-scale CI (R ``conf.type = "log"``).

    ``std_error`` is the SE of S(t) (as in R's ``summary``), S·sqrt(Σ d/(n(n−d))); the CI is
    S·exp(±z·sqrt(Σ d/(n(n−d)))) truncated at 1. Rows are every distinct time (events and censorings).
    """
    kmf = KaplanMeierFitter().fit(time, event)
    et = kmf.event_table
    et = et[et["removed"] > 0]
    t = et.index.to_numpy(dtype=float)
    n_risk = et["at_risk"].to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    surv = kmf.survival_function_.loc[t].to_numpy(dtype=float).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        increments = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    var_log = np.cumsum(increments)
    se_log = np.sqrt(var_log)
    z = sps.norm.ppf(0.5 + conf_level / 2)
    with np.errstate(invalid="ignore", over="ignore"):
        lower = np.where(surv > 0, surv * np.exp(-z * se_log), np.nan)
        upper = np.where(surv > 0, np.minimum(1.0, surv * np.exp(z * se_log)), np.nan)
        std_error = np.where(np.isfinite(se_log), surv * se_log, np.nan)
    table = pd.DataFrame(
        {
            "time": t,
            "at_risk": n_risk.astype(int),
            "events": d.astype(int),
            "censored": et["censored"].to_numpy(dtype=int),
            "survival": surv,
            "std_error": std_error,
            "ci_lower": lower,
            "ci_upper": upper,
        },
        columns=_KM_COLUMNS,
    )
    return KaplanMeierCurve(
        group=group,
        n=len(time),
        events=int(d.sum()),
        median=_r_median(surv, t),
        # The lower CI curve crosses 0.5 first, so it gives the lower limit of the median.
        median_ci_lower=_r_median(lower, t),
        median_ci_upper=_r_median(upper, t),
        table=table,
    )


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank test across groups (R ``survdiff``): χ², df, p and observed/expected per group.

    ``strata`` names the stratification variable when the test is stratified (R
    ``survdiff(Surv(t, e) ~ group + strata(s))``), else ``None``; observed and expected are then
    summed over strata, as R prints them.
    """

    chisq: float
    df: int
    p_value: float
    table: pd.DataFrame
    strata: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {"chisq": self.chisq, "df": self.df, "p_value": self.p_value, "table": self.table, "strata": self.strata}
        )


def _logrank_pieces(time: np.ndarray, event: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Observed, expected and the hypergeometric covariance of O − E for one stratum."""
    event_times = np.unique(time[event == 1])
    n_g = np.empty((len(event_times), k))
    d_g = np.empty((len(event_times), k))
    for j in range(k):
        m = codes == j
        sorted_t = np.sort(time[m])
        n_g[:, j] = len(sorted_t) - np.searchsorted(sorted_t, event_times, side="left")
        d_g[:, j] = np.bincount(np.searchsorted(event_times, time[m & (event == 1)]), minlength=len(event_times))
    n = n_g.sum(axis=1)
    d = d_g.sum(axis=1)
    share = n_g / n[:, None]
    expected = (d[:, None] * share).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    cov = np.einsum("t,tg,th->gh", w, share, -share) + np.diag((w[:, None] * share).sum(axis=0))
    return d_g.sum(axis=0), expected, cov


def logrank(
    time: np.ndarray,
    event: np.ndarray,
    groups: np.ndarray,
    strata: np.ndarray | None = None,
    *,
    strata_name: str | None = None,
) -> LogRankResult:
    """Log-rank (Mantel–Haenszel) χ², optionally stratified, exactly as R's ``survdiff``.

    Per stratum, O − E and its hypergeometric covariance are summed; χ² = (O−E)ᵀ V⁻ (O−E) with
    one group dropped (V is singular), df = number of groups with expected events − 1 (as R).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    groups = np.asarray(groups)
    levels = sorted(pd.unique(groups).tolist())
    k = len(levels)
    if k < 2:
        raise EndpointDataError(f"log-rank: needs at least 2 groups (found {k}: {levels!r})")
    codes = pd.Index(levels).get_indexer(groups)
    strata_arr = np.zeros(len(time)) if strata is None else np.asarray(strata)
    if strata_arr.shape != time.shape:
        raise EndpointDataError(f"log-rank: strata has {len(strata_arr)} values for {len(time)} times")
    if pd.isna(strata_arr).any():
        raise EndpointDataError(f"log-rank: strata {strata_name or ''!r} has a missing value; drop those rows first")
    observed = np.zeros(k)
    expected = np.zeros(k)
    cov = np.zeros((k, k))
    for s in pd.unique(strata_arr):
        m = strata_arr == s
        o, e, v = _logrank_pieces(time[m], event[m], codes[m], k)
        observed += o
        expected += e
        cov += v
    u = (observed - expected)[1:]
    chisq = float(u @ np.linalg.pinv(cov[1:, 1:]) @ u)
    df = int((expected > 0).sum()) - 1
    if df < 1:
        raise EndpointDataError(
            f"log-rank: the groups need expected events in at least 2 of them (found {df + 1}); "
            "no event happened while more than one group was at risk"
        )
    table = pd.DataFrame(
        {
            "group": levels,
            "n": [int((groups == g).sum()) for g in levels],
            "observed": observed.astype(int),
            "expected": expected,
        }
    )
    return LogRankResult(
        chisq=chisq,
        df=df,
        p_value=float(sps.chi2.sf(chisq, df)),
        table=table,
        strata=strata_name if strata is not None else None,
    )


@dataclass(frozen=True)
class CoxResult:
    """Cox proportional-hazards fit (R ``coxph``): coefficients, hazard ratios, likelihoods."""

    ties: Ties
    n: int
    events: int
    loglik_null: float
    loglik: float
    summary: pd.DataFrame
    strata: str | None = None

    @property
    def lr_chisq(self) -> float:
        """Likelihood-ratio χ² against the null model."""
        return 2 * (self.loglik - self.loglik_null)

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "ties": self.ties,
                "n": self.n,
                "events": self.events,
                "loglik_null": self.loglik_null,
                "loglik": self.loglik,
                "lr_chisq": self.lr_chisq,
                "strata": self.strata,
                "terms": self.summary,
            }
        )


def cox_fit(
    time: np.ndarray,
    event: np.ndarray,
    design: pd.DataFrame,
    *,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    strata: np.ndarray | None = None,
    strata_name: str | None = None,
) -> CoxResult:
    """Fit a Cox model on a numeric design matrix (no intercept) with Efron or Breslow ties.

    ``strata`` gives each stratum its own baseline hazard (R ``+ strata(s)``).
    """
    if ties not in ("efron", "breslow"):
        raise EndpointDataError(f"invalid value for ties, expected one of 'efron', 'breslow' (not {ties!r})")
    if design.shape[1] == 0:
        raise EndpointDataError("Cox: no covariates to fit")
    model = sm.PHReg(time, design.to_numpy(dtype=float), status=event, ties=ties, strata=strata)
    try:
        fit = model.fit(disp=False)
    except np.linalg.LinAlgError:  # found by the stats fuzzer: too few events for the covariates
        raise EndpointDataError(
            f"Cox: the model cannot be fitted (singular information matrix) for {list(design.columns)}; "
            "too few events, or a covariate constant or collinear with another"
        ) from None
    summary = wald_table(
        list(design.columns), np.asarray(fit.params), np.asarray(fit.bse), conf_level=conf_level, ratio="hazard_ratio"
    )
    return CoxResult(
        ties=ties,
        n=len(time),
        events=int(event.sum()),
        loglik_null=float(model.loglike(np.zeros(design.shape[1]))),
        loglik=float(fit.llf),
        summary=summary,
        strata=strata_name if strata is not None else None,
    )


@dataclass(frozen=True)
class SurvivalResult:
    """KM per group, log-rank and Cox (group + covariates) in one object, for the CLI and reports."""

    time: str
    event: str
    group: str | None
    n: int
    n_dropped: int
    km: tuple[KaplanMeierCurve, ...]
    logrank: LogRankResult | None
    cox: CoxResult | None
    strata: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "event": self.event,
            "group": self.group,
            "strata": self.strata,
            "n": self.n,
            "n_dropped": self.n_dropped,
            "km": {str(c.group): c.to_dict() for c in self.km},
            "logrank": None if self.logrank is None else self.logrank.to_dict(),
            "cox": [] if self.cox is None else plain(self.cox.summary),
            "cox_model": None if self.cox is None else self.cox.to_dict(),
        }

    def __str__(self) -> str:
        medians = pd.DataFrame(
            [
                {
                    "group": c.group,
                    "n": c.n,
                    "events": c.events,
                    "median": c.median,
                    "ci_lower": c.median_ci_lower,
                    "ci_upper": c.median_ci_upper,
                }
                for c in self.km
            ]
        ).set_index("group")
        parts = [
            format_block(
                "SurvivalResult: Kaplan-Meier medians", {"n": self.n, "dropped (missing)": self.n_dropped}, medians
            )
        ]
        if self.logrank is not None:
            parts.append(
                format_block(
                    "log-rank" if self.strata is None else f"log-rank stratified by {self.strata}",
                    {"chisq": self.logrank.chisq, "df": self.logrank.df, "p": self.logrank.p_value},
                )
            )
        if self.cox is not None:
            parts.append(
                format_block(
                    f"Cox ({self.cox.ties} ties"
                    + ("" if self.cox.strata is None else f", stratified by {self.cox.strata}")
                    + ")",
                    {"loglik": self.cox.loglik, "LR chisq": self.cox.lr_chisq},
                    self.cox.summary.set_index("term"),
                )
            )
        if sum(c.events for c in self.km) == 0:
            parts.append("no events: the log-rank test and the Cox model are not defined and were not run")
        return "\n\n".join(parts)


def _design(df: pd.DataFrame, group: str | None, covariates: Sequence[str]) -> pd.DataFrame:
    """Group as a factor (levels sorted, first = reference, terms ``group[level]``) then covariates
    (numeric as they are, text dummy-coded the same way)."""
    parts = [covariate_columns(df, covariates, what="Cox")]
    if group:
        levels = sorted(pd.unique(df[group]).tolist())
        parts.insert(
            0, pd.DataFrame({f"{group}[{lv}]": (df[group] == lv).astype(float) for lv in levels[1:]}, index=df.index)
        )
    return pd.concat(parts, axis=1)


def survival_analysis(
    df: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    covariates: Sequence[str] = (),
    ties: Ties = "efron",
    event_coding: EventCoding = "auto",
    conf_level: float = 0.95,
    strata: str | None = None,
) -> SurvivalResult:
    """KM (per group), log-rank (when grouped) and Cox on ``group`` + ``covariates``.

    With ``strata`` the log-rank test and the Cox model are stratified by that column (R
    ``survdiff``/``coxph`` with ``+ strata(s)``); the Kaplan–Meier curves stay per group.
    Rows with a missing value in any used column are dropped (R's ``na.omit``) and counted.
    With no event at all only the Kaplan–Meier curves are returned (``logrank`` and ``cox`` are
    ``None``, printed as "no events"); a column in two roles and a non-finite time are errors.
    """
    what = "survival"
    used = [time, event, *([group] if group else []), *([strata] if strata else []), *covariates]
    require_columns(df, used, what=what)
    distinct_columns(
        [("time", time), ("event", event), ("group", group), ("strata", strata)]
        + [("a covariate", c) for c in covariates],
        what=what,
    )
    if ties not in ("efron", "breslow"):
        raise EndpointDataError(f"invalid value for ties, expected one of 'efron', 'breslow' (not {ties!r})")
    data = df[used].dropna()
    n_dropped = len(df) - len(data)
    if len(data) == 0:
        raise EndpointDataError(f"{what}: no complete rows in columns {used}")
    t = numeric_column(data, time, what=what)
    if (t < 0).any():
        raise EndpointDataError(f"{what}: column {time!r} has a negative time {float(t[t < 0][0])!r}")
    e = event_indicator(data[event], coding=event_coding, what=what)
    if group:
        g = data[group].to_numpy()
        levels = sorted(pd.unique(g).tolist())
        km = tuple(kaplan_meier_curve(t[g == lv], e[g == lv], group=lv, conf_level=conf_level) for lv in levels)
        s = data[strata].to_numpy() if strata else None
        # without any event the log-rank test is not defined (df would be −1): it is left out, like Cox
        lr = logrank(t, e, g, s, strata_name=strata) if len(levels) > 1 and e.sum() > 0 else None
    else:
        km = (kaplan_meier_curve(t, e, group="all", conf_level=conf_level),)
        lr = None
    design = _design(data, group, covariates)
    cox = (
        cox_fit(
            t,
            e,
            design,
            ties=ties,
            conf_level=conf_level,
            strata=data[strata].to_numpy() if strata else None,
            strata_name=strata,
        )
        if design.shape[1] and e.sum() > 0
        else None
    )
    return SurvivalResult(
        time=time,
        event=event,
        group=group,
        n=len(data),
        n_dropped=n_dropped,
        km=km,
        logrank=lr,
        cox=cox,
        strata=strata,
    )

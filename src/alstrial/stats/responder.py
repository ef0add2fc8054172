"""Responder endpoint of the model trial (NurOwn phase 3, validation/reference/alsfrs_staging_encals.md).

A participant responds when post-treatment ALSFRS-R slope − pre-treatment slope ≥ 1.25
points/month (configurable). The analysis is a logistic regression of response on arm,
adjusted for baseline ALSFRS-R, time since onset, onset site, riluzole use and pre-treatment
slope in the publication (the covariate list is the caller's choice here); it reports the
treatment odds ratio with a Wald CI and p (R: ``glm(family = binomial)``; SAS: PROC LOGISTIC).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns, two_arm_levels
from alstrial.stats.result import format_block, plain, wald_table

MissingRule = Literal["exclude", "nonresponder"]
#: The published adjustment set, as roles; map them to your column names.
PUBLISHED_ADJUSTMENT = ("baseline ALSFRS-R", "months since onset", "onset site", "riluzole", "pre-treatment slope")


@dataclass(frozen=True)
class ResponderResult:
    """Odds ratio of response (treatment vs reference), per-arm proportions and the full fit."""

    arms: tuple[Any, Any]
    threshold: float
    covariates: tuple[str, ...]
    missing_rule: MissingRule
    n: int
    n_excluded: int
    odds_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    log_odds_ratio: float
    std_error: float
    conf_level: float
    proportions: pd.DataFrame
    summary: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON keys: see the ``alstrial stats responder --help`` text."""
        return plain(
            {
                "arms": list(self.arms),
                "threshold": self.threshold,
                "covariates": list(self.covariates),
                "missing_rule": self.missing_rule,
                "n": self.n,
                "n_excluded": self.n_excluded,
                "odds_ratio": self.odds_ratio,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
                "log_odds_ratio": self.log_odds_ratio,
                "std_error": self.std_error,
                "conf_level": self.conf_level,
                "proportions": self.proportions,
                "terms": self.summary,
                "notes": list(self.notes),
            }
        )

    def __str__(self) -> str:
        fields = {
            "responder rule": f"post - pre slope >= {self.threshold:g} points/month",
            "n analysed": f"{self.n} (excluded {self.n_excluded}, missing rule {self.missing_rule!r})",
            "odds ratio": f"{self.odds_ratio:.4g} "
            f"({self.conf_level:.0%} CI {self.ci_lower:.4g} to {self.ci_upper:.4g})",
            "p (Wald)": self.p_value,
        }
        return "\n".join(
            [
                format_block(
                    f"ResponderResult: {self.arms[1]!r} vs {self.arms[0]!r}", fields, self.proportions.set_index("arm")
                ),
                "",
                self.summary.set_index("term").to_string(float_format=lambda v: f"{v:.6g}"),
            ]
        )


def responder_analysis(
    df: pd.DataFrame,
    *,
    arm: str,
    slope_change: str | None = None,
    pre_slope: str | None = None,
    post_slope: str | None = None,
    covariates: Sequence[str] = (),
    threshold: float = 1.25,
    reference: object | None = None,
    missing: MissingRule = "exclude",
    conf_level: float = 0.95,
) -> ResponderResult:
    """Classify responders and fit ``logit P(response) ~ arm + covariates``.

    Give either ``slope_change`` (post − pre, points/month) or both ``pre_slope`` and
    ``post_slope``. ``missing="exclude"`` drops participants without a slope change
    (complete case); ``"nonresponder"`` counts them as non-responders (a common conservative
    rule). Rows with a missing covariate are always excluded. Perfect separation is an error,
    not a silently huge odds ratio.
    """
    what = "responder"
    data, y, ref, trt, n_excluded = classify_responders(
        df,
        arm=arm,
        slope_change=slope_change,
        pre_slope=pre_slope,
        post_slope=post_slope,
        covariates=covariates,
        threshold=threshold,
        reference=reference,
        missing=missing,
        conf_level=conf_level,
        what=what,
    )
    x = pd.concat(
        [
            pd.Series(1.0, index=data.index, name="intercept"),
            (data[arm] == trt).astype(float).rename(f"{arm}[{trt}]"),
            covariate_columns(data, covariates, what=what),
        ],
        axis=1,
    )
    proportions = _proportions(data[arm].to_numpy(), y, (ref, trt))
    if (proportions["n"] == 0).any():
        raise EndpointDataError(f"{what}: an arm has no analysable participant ({proportions.to_dict('records')})")
    beta, cov, notes = fit_logistic(y, x, what=what, model=f"covariates {list(covariates)!r}")
    se = np.sqrt(np.diag(cov))
    summary = wald_table(list(x.columns), beta, se, conf_level=conf_level, ratio="odds_ratio")
    row = summary.iloc[1]
    return ResponderResult(
        arms=(ref, trt),
        threshold=threshold,
        covariates=tuple(covariates),
        missing_rule=missing,
        n=len(data),
        n_excluded=n_excluded,
        odds_ratio=float(row["odds_ratio"]),
        ci_lower=float(row["ci_lower"]),
        ci_upper=float(row["ci_upper"]),
        p_value=float(row["p_value"]),
        log_odds_ratio=float(row["estimate"]),
        std_error=float(row["std_error"]),
        conf_level=conf_level,
        proportions=proportions,
        summary=summary,
        notes=notes,
    )


def classify_responders(
    df: pd.DataFrame,
    *,
    arm: str,
    slope_change: str | None,
    pre_slope: str | None,
    post_slope: str | None,
    covariates: Sequence[str],
    threshold: float,
    reference: object | None,
    missing: MissingRule,
    conf_level: float,
    what: str,
) -> tuple[pd.DataFrame, np.ndarray, Any, Any, int]:
    """The analysable rows, their response (1/0), the (reference, treatment) arms and how many rows
    were excluded: the responder rule shared by the odds-ratio and the interaction analyses (every
    argument is the caller's, so neither can silently fall back to a default the other lacks)."""
    if missing not in ("exclude", "nonresponder"):
        raise EndpointDataError(
            f"invalid value for missing, expected one of 'exclude', 'nonresponder' (not {missing!r})"
        )
    if not 0 < conf_level < 1:
        raise EndpointDataError(f"{what}: conf_level must be between 0 and 1 (not {conf_level!r})")
    if slope_change is None and (pre_slope is None or post_slope is None):
        raise EndpointDataError(f"{what}: give slope_change, or both pre_slope and post_slope")
    slope_cols = [slope_change] if slope_change else [pre_slope, post_slope]
    require_columns(df, [arm, *[c for c in slope_cols if c], *covariates], what=what)
    ref, trt = two_arm_levels(df[arm], what=what, reference=reference)
    if slope_change:
        # −∞ marks a composite failure (death or ventilation before the visit): never a responder
        change = numeric_column(df, slope_change, what=what, allow_missing=True, allow_minus_infinity=True)
    else:
        assert pre_slope is not None and post_slope is not None
        change = numeric_column(df, post_slope, what=what, allow_missing=True) - numeric_column(
            df, pre_slope, what=what, allow_missing=True
        )
    response = np.where(np.isnan(change), np.nan, (change >= threshold).astype(float))
    if missing == "nonresponder":
        response = np.nan_to_num(response, nan=0.0)
    keep = ~np.isnan(response) & df[list(covariates)].notna().all(axis=1).to_numpy()
    data = df.loc[keep]
    y = response[keep]
    if len(data) == 0:
        raise EndpointDataError(f"{what}: no participant has a slope change and complete covariates")
    return data, y, ref, trt, int((~keep).sum())


def fit_logistic(
    y: np.ndarray, x: pd.DataFrame, *, what: str, model: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Logistic regression of ``y`` on the columns of ``x``: coefficients, their covariance (the
    inverse Fisher information at the estimate) and the fit's warnings. Perfect separation is an
    error, not a silently huge odds ratio."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
        except Exception as exc:  # statsmodels raises several types for separation/singularity
            raise EndpointDataError(f"{what}: logistic regression failed: {exc}") from exc
    notes = tuple(str(w.message) for w in caught)
    if any("separation" in n.lower() for n in notes):
        raise EndpointDataError(
            f"{what}: perfect separation — the responders are predicted exactly by the model "
            f"({model}); the odds ratio is not estimable"
        )
    beta = np.asarray(fit.params)
    return beta, fisher_covariance(x.to_numpy(dtype=float), beta), notes


def _proportions(arm: np.ndarray, y: np.ndarray, arms: tuple[Any, Any]) -> pd.DataFrame:
    rows = []
    for a in arms:
        m = arm == a
        n = int(m.sum())
        r = int(y[m].sum())
        rows.append({"arm": a, "n": n, "responders": r, "proportion": r / n if n else float("nan")})
    return pd.DataFrame(rows)


def fisher_covariance(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """The inverse Fisher information (Xᵀ diag(μ(1−μ)) X)⁻¹ of a logistic fit at ``beta``.

    Computed at the final estimate: statsmodels' ``bse`` reuses the weights of the last IRLS step,
    one iterate behind the returned coefficients, which leaves ~1e-7 relative error in the SE at its
    default tolerance; R's ``glm`` run to convergence gives the value computed here.
    """
    mu = 1 / (1 + np.exp(-(x @ beta)))
    return np.linalg.inv(x.T @ (x * (mu * (1 - mu))[:, None]))

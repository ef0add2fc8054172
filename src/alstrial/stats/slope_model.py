"""Random-slope linear mixed model: does ALSFRS-R decline more slowly on treatment?

``score ~ time * arm`` with a random intercept and slope per subject, fitted by REML with
statsmodels ``MixedLM`` (R: ``lme(score ~ time * arm, random = ~ time | subject)``). The
treatment effect is the time × arm interaction: the difference in mean monthly slope.
Inference is Wald/normal (``lme`` uses t with its own denominator df; with hundreds of
observations the difference is in the 3rd–4th decimal of p).

Two details keep the fit on ``lme``'s numbers (checked in tests/stats/test_endpoints_r.py):
the REML optimum found by L-BFGS is polished with BFGS at a tight gradient tolerance (L-BFGS
alone stops where the REML surface is flat, ~1e-4 off in the variance components), and the
fixed-effect covariance is the model-based (Σ Xᵢᵀ Vᵢ⁻¹ Xᵢ)⁻¹ at the estimated variance
components, as ``lme``, SAS PROC MIXED and lme4 report it — statsmodels' ``bse_fe`` comes from
the joint observed information instead, which differs by ~1e-3 (relative) with dropout.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns, two_arm_levels
from alstrial.stats.responder_slopes import DAYS_PER_MONTH
from alstrial.stats.result import format_block, plain, wald_table

TimeUnit = Literal["months", "days"]


@dataclass(frozen=True)
class SlopeModelResult:
    """Slope per arm and their difference (treatment − reference), points/month."""

    arms: tuple[Any, Any]
    n_subjects: int
    n_obs: int
    slope_difference: float
    std_error: float
    ci_lower: float
    ci_upper: float
    p_value: float
    conf_level: float
    slopes: pd.DataFrame
    summary: pd.DataFrame
    random_effects_cov: pd.DataFrame
    residual_variance: float
    converged: bool
    notes: tuple[str, ...] = ()
    reml_log_likelihood: float = float("nan")  # same constant as R logLik(lme(..., method = "REML"))
    optimizer: str = ""  # how the fit ended, e.g. "lbfgs, polished by bfgs" or "powell (after lbfgs failed)"

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "arms": list(self.arms),
                "n_subjects": self.n_subjects,
                "n_obs": self.n_obs,
                "slope_difference": self.slope_difference,
                "std_error": self.std_error,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
                "conf_level": self.conf_level,
                "slopes": self.slopes,
                "terms": self.summary,
                "random_effects_cov": self.random_effects_cov.to_numpy(),
                "residual_variance": self.residual_variance,
                "converged": self.converged,
                "optimizer": self.optimizer,
                "reml_log_likelihood": self.reml_log_likelihood,
                "notes": list(self.notes),
            }
        )

    def __str__(self) -> str:
        fields = {
            "model": "score ~ time * arm, random intercept + slope | subject (REML)",
            "subjects / obs": f"{self.n_subjects} / {self.n_obs}",
            "slope difference": f"{self.slope_difference:.4g} points/month "
            f"({self.conf_level:.0%} CI {self.ci_lower:.4g} to {self.ci_upper:.4g}), p = {self.p_value:.4g}",
            "converged": self.converged,
        }
        return format_block("SlopeModelResult", fields, self.summary.set_index("term"))


def random_slope_model(
    long: pd.DataFrame,
    *,
    subject: str,
    time: str,
    score: str,
    arm: str,
    covariates: Sequence[str] = (),
    reference: object | None = None,
    time_unit: TimeUnit = "months",
    conf_level: float = 0.95,
) -> SlopeModelResult:
    """Fit the random-slope model on long data (one row per subject × visit).

    ``time`` is in months from baseline, or in days (``time_unit="days"``, converted with
    30.4375 days/month). Rows with a missing score are dropped (likelihood-based, valid under
    MAR). ``converged`` says how the fit *ended* (the optimiser that produced the estimates, or
    the BFGS polish of them); warnings of an earlier optimiser that was retried are kept in
    ``notes`` (and reach the analysis plan's warnings) but do not make a converged fit "failed".
    """
    what = "random-slope model"
    if time_unit not in ("months", "days"):
        raise EndpointDataError(f"invalid value for time_unit, expected one of 'months', 'days' (not {time_unit!r})")
    require_columns(long, [subject, time, score, arm, *covariates], what=what)
    data = long.loc[long[score].notna() & long[list(covariates)].notna().all(axis=1)]
    ref, trt = two_arm_levels(data[arm], what=what, reference=reference)
    t = numeric_column(data, time, what=what)
    if time_unit == "days":
        t = t / DAYS_PER_MONTH
    y = numeric_column(data, score, what=what)
    g = (data[arm] == trt).to_numpy(dtype=float)
    x = pd.concat(
        [
            pd.DataFrame(
                {"intercept": 1.0, "time": t, f"{arm}[{trt}]": g, f"time:{arm}[{trt}]": t * g}, index=data.index
            ),
            covariate_columns(data, covariates, what=what),
        ],
        axis=1,
    )
    z_re = np.column_stack([np.ones_like(t), t])
    groups = data[subject].to_numpy()
    if pd.Series(groups).nunique() < 3:
        raise EndpointDataError(f"{what}: needs at least 3 subjects (found {pd.Series(groups).nunique()})")
    if np.linalg.matrix_rank(x.to_numpy(dtype=float)) < x.shape[1]:
        raise EndpointDataError(
            f"{what}: the fixed effects cannot be estimated (columns {', '.join(map(str, x.columns))} are linearly "
            "dependent): the times must vary within the data and each arm needs participants"
        )
    model = sm.MixedLM(y, x, groups=groups, exog_re=z_re)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(reml=True, method=["lbfgs", "powell"])
        except np.linalg.LinAlgError as exc:
            raise EndpointDataError(f"{what}: the model cannot be fitted to these data ({exc})") from None
    notes = tuple(sorted({str(w.message) for w in caught}))
    first = "lbfgs" if not any("Retrying MixedLM optimization" in n for n in notes) else "powell (after lbfgs failed)"
    fit, polished = _polish(model, fit)
    optimizer = f"{first}, polished by bfgs" if polished else first
    k = x.shape[1]
    beta = np.asarray(fit.fe_params)
    cov = _model_based_cov(x.to_numpy(dtype=float), z_re, groups, np.asarray(fit.cov_re), float(fit.scale))
    se = np.sqrt(np.diag(cov))
    zq = sps.norm.ppf(0.5 + conf_level / 2)
    summary = wald_table(list(x.columns), beta, se, conf_level=conf_level)
    c_trt = np.zeros(k)
    c_trt[[1, 3]] = 1.0
    se_trt = float(np.sqrt(c_trt @ cov @ c_trt))
    slopes = pd.DataFrame(
        {
            "arm": [ref, trt],
            "slope": [beta[1], beta[1] + beta[3]],
            "std_error": [se[1], se_trt],
        }
    )
    d, sd = float(beta[3]), float(se[3])
    re_cov = pd.DataFrame(np.asarray(fit.cov_re), index=["intercept", "time"], columns=["intercept", "time"])
    return SlopeModelResult(
        arms=(ref, trt),
        n_subjects=int(pd.Series(groups).nunique()),
        n_obs=len(y),
        slope_difference=d,
        std_error=sd,
        ci_lower=d - zq * sd,
        ci_upper=d + zq * sd,
        p_value=float(2 * sps.norm.sf(abs(d / sd))),
        conf_level=conf_level,
        slopes=slopes,
        summary=summary,
        random_effects_cov=re_cov,
        residual_variance=float(fit.scale),
        converged=bool(fit.converged),
        notes=notes,
        reml_log_likelihood=float(fit.llf),
        optimizer=optimizer,
    )


def _polish(model: sm.MixedLM, fit: Any) -> tuple[Any, bool]:
    """Refine an L-BFGS REML optimum with BFGS (gtol 1e-8); keep the first fit unless the polish
    converges cleanly to a REML log-likelihood at least as high. Returns (fit, polished?)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            polished = model.fit(reml=True, start_params=fit.params_object, method=["bfgs"], gtol=1e-8, maxiter=200)
        except (np.linalg.LinAlgError, ValueError):
            return fit, False
    if caught or not polished.converged or not polished.llf >= fit.llf - 1e-9:
        return fit, False
    return polished, True


def _model_based_cov(x: np.ndarray, z: np.ndarray, groups: np.ndarray, g: np.ndarray, sigma2: float) -> np.ndarray:
    """(Σ Xᵢᵀ Vᵢ⁻¹ Xᵢ)⁻¹ with Vᵢ = Zᵢ G Zᵢᵀ + σ² I: the fixed-effect covariance lme reports."""
    info = np.zeros((x.shape[1], x.shape[1]))
    for idx in pd.Series(np.arange(len(groups))).groupby(groups, sort=False).indices.values():
        zi = z[idx]
        vi = zi @ g @ zi.T + sigma2 * np.eye(len(idx))
        info += x[idx].T @ np.linalg.solve(vi, x[idx])
    return np.asarray(np.linalg.inv(info))

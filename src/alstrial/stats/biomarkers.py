"""CSF/blood biomarker endpoints: log-scale ANCOVA as geometric-mean ratios, and correlation with slope.

Biomarkers (NfL, VEGF, MCP-1, ...) are right-skewed, so change from baseline is analysed as
``log(post) ~ log(baseline) + arm [+ covariates]`` (OLS, R: ``lm``) and reported back-transformed:
exp(arm coefficient) is the ratio of adjusted geometric means, treatment / reference.

Values below the lower limit of quantification (LLOQ) are handled by one documented rule,
applied to baseline and post values alike before logging:

- ``"half"`` (default): replace by LLOQ/2;
- ``"sqrt2"``: replace by LLOQ/√2 (Hornung & Reed 1990, better when data are not very skewed);
- ``"exclude"``: drop the participant from the analysis.

A value is below LLOQ when it is missing-flagged by the lab as "<LLOQ" text, or numerically < LLOQ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, require_columns, two_arm_levels
from alstrial.stats.result import format_block, plain, wald_table

LloqRule = Literal["half", "sqrt2", "exclude"]
CorrelationMethod = Literal["spearman", "pearson"]
_RULES = ("half", "sqrt2", "exclude")


def apply_lloq(values: pd.Series, lloq: float | None, rule: LloqRule = "half") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(values, below)``: numbers with the LLOQ rule applied (NaN for excluded) and a flag.

    Text such as ``"<LLOQ"``, ``"<0.7"`` or ``"BLQ"`` counts as below LLOQ; other text is an error.
    """
    if rule not in _RULES:
        raise EndpointDataError(
            f"invalid value for lloq rule, expected one of 'half', 'sqrt2', 'exclude' (not {rule!r})"
        )
    num = pd.to_numeric(values, errors="coerce")
    text = values[num.isna() & values.notna()].astype(str).str.strip()
    blq_text = text.str.upper().str.startswith(("<", "BLQ", "BLOQ"))
    if (~blq_text).any():
        bad = text[~blq_text].iloc[0]
        raise EndpointDataError(
            f"biomarker: column {values.name!r} has a non-numeric value {bad!r} (allowed: numbers, '<LLOQ', 'BLQ')"
        )
    below = np.zeros(len(values), dtype=bool)
    below[np.flatnonzero(values.index.isin(text.index))] = True
    out = num.to_numpy(dtype=float)
    if lloq is None:
        if below.any():
            raise EndpointDataError(
                f"biomarker: column {values.name!r} has values flagged below LLOQ but no lloq was given"
            )
        return out, below
    if lloq <= 0:
        raise EndpointDataError(f"biomarker: lloq must be > 0 (not {lloq!r})")
    below |= ~np.isnan(out) & (out < lloq)
    substitute = {"half": lloq / 2, "sqrt2": lloq / np.sqrt(2), "exclude": np.nan}[rule]
    out[below] = substitute
    return out, below


@dataclass(frozen=True)
class BiomarkerResult:
    """Geometric-mean ratio (treatment / reference) of post values adjusted for baseline."""

    analyte: str
    arms: tuple[Any, Any]
    lloq: float | None
    lloq_rule: LloqRule
    n: int
    n_below_lloq: int
    n_excluded: int
    ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    log_estimate: float
    std_error: float
    df_resid: float
    conf_level: float
    geometric_means: pd.DataFrame
    summary: pd.DataFrame

    @property
    def percent_change(self) -> float:
        """Treatment effect as % difference in geometric means: 100·(ratio − 1)."""
        return 100 * (self.ratio - 1)

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "analyte": self.analyte,
                "arms": list(self.arms),
                "lloq": self.lloq,
                "lloq_rule": self.lloq_rule,
                "n": self.n,
                "n_below_lloq": self.n_below_lloq,
                "n_excluded": self.n_excluded,
                "ratio": self.ratio,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
                "percent_change": self.percent_change,
                "log_estimate": self.log_estimate,
                "std_error": self.std_error,
                "df_resid": self.df_resid,
                "conf_level": self.conf_level,
                "geometric_means": self.geometric_means,
                "terms": self.summary,
            }
        )

    def __str__(self) -> str:
        fields = {
            "model": "log(post) ~ log(baseline) + arm (OLS)",
            "n": f"{self.n} (excluded {self.n_excluded}; "
            f"values below LLOQ {self.n_below_lloq}, rule {self.lloq_rule!r})",
            "GM ratio": f"{self.ratio:.4g} ({self.conf_level:.0%} CI {self.ci_lower:.4g} to {self.ci_upper:.4g}), "
            f"p = {self.p_value:.4g}",
        }
        return format_block(f"BiomarkerResult: {self.analyte}", fields, self.geometric_means.set_index("arm"))


def biomarker_ancova(
    df: pd.DataFrame,
    *,
    arm: str,
    baseline: str,
    post: str,
    covariates: Sequence[str] = (),
    lloq: float | None = None,
    lloq_rule: LloqRule = "half",
    reference: object | None = None,
    conf_level: float = 0.95,
    analyte: str | None = None,
) -> BiomarkerResult:
    """Fit ``log(post) ~ log(baseline) + arm + covariates`` and back-transform the arm effect.

    One row per participant. Participants missing either value (or excluded by the LLOQ
    rule) are dropped and counted; a value <= 0 that is not below the LLOQ is an error.
    """
    what = f"biomarker {analyte or post!r}"
    require_columns(df, [arm, baseline, post, *covariates], what=what)
    ref, trt = two_arm_levels(df[arm], what=what, reference=reference)
    base, base_blq = apply_lloq(df[baseline], lloq, lloq_rule)
    after, post_blq = apply_lloq(df[post], lloq, lloq_rule)
    for name, v in ((baseline, base), (post, after)):
        nonpos = ~np.isnan(v) & (v <= 0)
        if nonpos.any():
            raise EndpointDataError(
                f"{what}: column {name!r} has a value <= 0 ({float(v[nonpos][0])!r}) that cannot be logged; "
                f"set lloq so it is handled as below LLOQ"
            )
    keep = ~np.isnan(base) & ~np.isnan(after) & df[list(covariates)].notna().all(axis=1).to_numpy()
    data = df.loc[keep]
    if (data[arm] == ref).sum() < 2 or (data[arm] == trt).sum() < 2:
        raise EndpointDataError(f"{what}: each arm needs at least 2 participants with both values")
    y = np.log(after[keep])
    x = pd.concat(
        [
            pd.DataFrame({"intercept": 1.0, f"log({baseline})": np.log(base[keep])}, index=data.index),
            (data[arm] == trt).astype(float).rename(f"{arm}[{trt}]"),
            covariate_columns(data, covariates, what=what),
        ],
        axis=1,
    )
    fit = sm.OLS(y, x).fit()
    beta = np.asarray(fit.params)
    se = np.asarray(fit.bse)
    tq = sps.t.ppf(0.5 + conf_level / 2, fit.df_resid)
    summary = wald_table(list(x.columns), beta, se, conf_level=conf_level, df=float(fit.df_resid))
    arm_vals = data[arm].to_numpy()
    log_ratio = y - np.log(base[keep])
    gms = pd.DataFrame(
        [
            {
                "arm": a,
                "n": int((arm_vals == a).sum()),
                "gm_baseline": float(np.exp(np.log(base[keep][arm_vals == a]).mean())),
                "gm_post": float(np.exp(y[arm_vals == a].mean())),
                "gm_ratio_post_to_baseline": float(np.exp(log_ratio[arm_vals == a].mean())),
            }
            for a in (ref, trt)
        ]
    )
    b, s = float(beta[2]), float(se[2])
    return BiomarkerResult(
        analyte=analyte or post,
        arms=(ref, trt),
        lloq=lloq,
        lloq_rule=lloq_rule,
        n=len(data),
        n_below_lloq=int(base_blq.sum() + post_blq.sum()),
        n_excluded=int((~keep).sum()),
        ratio=float(np.exp(b)),
        ci_lower=float(np.exp(b - tq * s)),
        ci_upper=float(np.exp(b + tq * s)),
        p_value=float(summary["p_value"].iloc[2]),
        log_estimate=b,
        std_error=s,
        df_resid=float(fit.df_resid),
        conf_level=conf_level,
        geometric_means=gms,
        summary=summary,
    )


@dataclass(frozen=True)
class CorrelationResult:
    """Correlation between biomarker change and ALSFRS-R slope (R: ``cor.test``)."""

    method: CorrelationMethod
    n: int
    estimate: float
    p_value: float
    ci_lower: float
    ci_upper: float
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return plain(self.__dict__)

    def __str__(self) -> str:
        return format_block(
            "CorrelationResult",
            {
                "method": self.method,
                "n": self.n,
                "r": self.estimate,
                "p": self.p_value,
                "CI": f"{self.ci_lower:.4g} to {self.ci_upper:.4g}",
            },
        )


def biomarker_slope_correlation(
    change: np.ndarray | pd.Series,
    slope: np.ndarray | pd.Series,
    *,
    method: CorrelationMethod = "spearman",
    conf_level: float = 0.95,
) -> CorrelationResult:
    """Spearman (default) or Pearson correlation of log-change vs slope; pairs with a NaN are dropped.

    The CI uses Fisher's z with SE 1/sqrt(n−3) for both methods (for Spearman an approximation,
    as R's ``cor.test`` gives no Spearman CI at all).
    """
    if method not in ("spearman", "pearson"):
        raise EndpointDataError(f"invalid value for method, expected one of 'spearman', 'pearson' (not {method!r})")
    a = np.asarray(change, dtype=float)
    b = np.asarray(slope, dtype=float)
    if a.shape != b.shape:
        raise EndpointDataError(f"correlation: change and slope differ in length ({a.shape[0]} vs {b.shape[0]})")
    ok = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[ok], b[ok]
    n = len(a)
    if n < 4:
        raise EndpointDataError(f"correlation: needs at least 4 complete pairs (found {n})")
    res = sps.spearmanr(a, b) if method == "spearman" else sps.pearsonr(a, b)
    r = float(res.statistic)
    zq = sps.norm.ppf(0.5 + conf_level / 2)
    zr = np.arctanh(np.clip(r, -0.9999999999, 0.9999999999))
    return CorrelationResult(
        method=method,
        n=n,
        estimate=r,
        p_value=float(res.pvalue),
        ci_lower=float(np.tanh(zr - zq / np.sqrt(n - 3))),
        ci_upper=float(np.tanh(zr + zq / np.sqrt(n - 3))),
        conf_level=conf_level,
    )

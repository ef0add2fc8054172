"""Primary-style ALS endpoint: change from baseline in ALSFRS-R total at the primary visit (MMRM).

The model is the usual regulatory MMRM: unstructured covariance, fixed effects
``arm*visit + baseline*visit + strata`` (REML), with LS means of each arm at the primary visit
and the treatment − reference difference, its confidence interval and p value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from alstrial.stats.mmrm import MMRMResult, fit_mmrm
from alstrial.stats.mmrm.errors import MMRMDataError
from alstrial.stats.mmrm.spec import DfMethod


@dataclass(frozen=True)
class ChangeEndpointResult:
    """LS-mean change per arm at the primary visit and the between-arm difference."""

    primary_visit: str
    reference_arm: str
    treatment_arm: str
    lsmeans: pd.DataFrame  # index = arm; estimate, std_error, df, statistic, p_value, ci_lower, ci_upper
    difference: float
    std_error: float
    df: float
    ci_lower: float
    ci_upper: float
    p_value: float
    alpha: float
    n_subjects: int
    n_observations: int
    fit: MMRMResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary_visit": self.primary_visit,
            "reference_arm": self.reference_arm,
            "treatment_arm": self.treatment_arm,
            "lsmeans": {str(arm): {k: float(v) for k, v in row.items()} for arm, row in self.lsmeans.iterrows()},
            "difference": self.difference,
            "std_error": self.std_error,
            "df": self.df,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "model": self.fit.spec.to_dict(),
        }

    def __str__(self) -> str:
        level = round(100 * (1 - self.alpha))
        lines = [
            f"Change from baseline at {self.primary_visit} (MMRM, {self.fit.spec.cov}, {self.fit.spec.df} df)",
            f"  subjects {self.n_subjects}, observations {self.n_observations}",
            "  LS mean change by arm:",
        ]
        for arm, row in self.lsmeans.iterrows():
            lines.append(
                f"    {arm!s:<12} {row['estimate']:8.3f} (SE {row['std_error']:.3f}, "
                f"{level}% CI {row['ci_lower']:.3f} to {row['ci_upper']:.3f})"
            )
        lines.append(
            f"  {self.treatment_arm} − {self.reference_arm}: {self.difference:.3f} (SE {self.std_error:.3f}, "
            f"df {self.df:.1f}), {level}% CI {self.ci_lower:.3f} to {self.ci_upper:.3f}, p = {self.p_value:.4g}"
        )
        return "\n".join(lines)


def change_from_baseline_mmrm(
    data: pd.DataFrame,
    *,
    subject: str = "USUBJID",
    arm: str = "ARM",
    visit: str = "AVISIT",
    change: str = "CHG",
    baseline: str = "BASE",
    strata: Sequence[str] = (),
    primary_visit: str | None = None,
    reference_arm: str | None = None,
    df: DfMethod = "kenward-roger",
    alpha: float = 0.05,
) -> ChangeEndpointResult:
    """Fit ``change ~ arm*visit + baseline*visit + strata`` (US, REML) and summarise the primary visit.

    ``primary_visit`` defaults to the last visit (natural order); ``reference_arm`` (placebo) to
    the first arm level. Two arms are expected; SAS: ``LSMEANS arm*visit / DIFF CL``.
    """
    missing = [c for c in (subject, arm, visit, change, baseline, *strata) if c not in data.columns]
    if missing:
        raise MMRMDataError(f"unknown column(s) {missing!r}; the data have {list(map(str, data.columns))!r}")
    arms = sorted(set(data[arm].dropna().astype(str)))
    if len(arms) != 2:
        raise MMRMDataError(f"column {arm!r} must have exactly two arms (found {arms!r})")
    fixed = " + ".join([f"{arm}*{visit}", f"{baseline}*{visit}", *strata])
    ref = {arm: reference_arm} if reference_arm is not None else {}
    fit = fit_mmrm(
        data,
        response=change,
        subject=subject,
        visit=visit,
        fixed=fixed,
        cov="us",
        df=df,
        ref=ref,
        alpha=alpha,
    )
    visits = list(fit.visits)
    target = primary_visit if primary_visit is not None else visits[-1]
    if target not in visits:
        raise MMRMDataError(f"primary visit {target!r} is not one of the visits {visits!r}")
    ls = fit.lsmeans(arm, by=visit)
    table = pd.DataFrame(ls.table.xs(target, level=visit))
    diff = ls.differences.xs(target, level=visit).iloc[0]
    ref_arm = reference_arm if reference_arm is not None else arms[0]
    trt_arm = next(a for a in arms if a != ref_arm)
    return ChangeEndpointResult(
        primary_visit=target,
        reference_arm=ref_arm,
        treatment_arm=trt_arm,
        lsmeans=table,
        difference=float(diff["estimate"]),
        std_error=float(diff["std_error"]),
        df=float(diff["df"]),
        ci_lower=float(diff["ci_lower"]),
        ci_upper=float(diff["ci_upper"]),
        p_value=float(diff["p_value"]),
        alpha=alpha,
        n_subjects=fit.n_subjects,
        n_observations=fit.n_observations,
        fit=fit,
    )

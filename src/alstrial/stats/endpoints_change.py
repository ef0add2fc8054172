"""Primary-style ALS endpoint: change from baseline in ALSFRS-R total at the primary visit (MMRM).

The model is the usual regulatory MMRM: unstructured covariance, fixed effects
``arm*visit + baseline*visit + strata`` (REML), with LS means of each arm at the primary visit
and the treatment − reference difference, its confidence interval and p value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
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


@dataclass(frozen=True)
class SubgroupInteraction:
    """How much the treatment effect at one visit differs between two levels of a baseline subgroup,
    from one MMRM with an arm × visit × subgroup term (one covariance matrix for everybody)."""

    visit: str
    subgroup: str
    levels: tuple[str, str]  # (a, b): the estimate is effect(b) − effect(a)
    effects: pd.DataFrame  # index = level; estimate, std_error, df, statistic, p_value, ci_lower, ci_upper
    estimate: float
    std_error: float
    df: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    alpha: float
    n_subjects: int
    fit: MMRMResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "visit": self.visit,
            "subgroup": self.subgroup,
            "levels": list(self.levels),
            "effects": {str(k): {c: float(v) for c, v in row.items()} for k, row in self.effects.iterrows()},
            "estimate": self.estimate,
            "std_error": self.std_error,
            "df": self.df,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "alpha": self.alpha,
            "n_subjects": self.n_subjects,
            "model": self.fit.spec.to_dict(),
        }

    def __str__(self) -> str:
        a, b = self.levels
        lines = [f"Treatment effect by {self.subgroup} at {self.visit} (one MMRM, arm × visit × subgroup)"]
        for level, row in self.effects.iterrows():
            lines.append(f"  {level!s:<10} {row['estimate']:8.3f} (SE {row['std_error']:.3f})")
        lines.append(
            f"  interaction ({b}) − ({a}): {self.estimate:.3f} (SE {self.std_error:.3f}, df {self.df:.1f}),"
            f" t = {self.statistic:.3f}, p = {self.p_value:.4g}"
        )
        return "\n".join(lines)


def subgroup_interaction_mmrm(
    data: pd.DataFrame,
    *,
    subgroup: str,
    subject: str = "USUBJID",
    arm: str = "ARM",
    visit: str = "AVISIT",
    change: str = "CHG",
    baseline: str = "BASE",
    primary_visit: str | None = None,
    reference_arm: str | None = None,
    strata: Sequence[str] = (),
    df: DfMethod = "kenward-roger",
    alpha: float = 0.05,
) -> SubgroupInteraction:
    """Fit ``change ~ arm*visit*subgroup + baseline*visit + strata`` (US, REML) and test whether the
    treatment effect at ``primary_visit`` differs between the two levels of ``subgroup``.

    The contrast is (trt − ref in level b) − (trt − ref in level a) of the LS means at the visit,
    what SAS's ``LSMESTIMATE arm*visit*subgroup`` gives. Unlike testing the difference of two
    separately fitted models, every participant informs one covariance matrix and one baseline slope.
    ``strata`` are the randomization strata, adjusted for as in the primary model; a stratum that is
    one value within each level of the subgroup is the subgroup itself (baseline >= 35 against the
    ALSFRS-R band) and is refused: with the subgroup's own term it would make the model singular.
    """
    missing = [c for c in (subject, arm, visit, change, baseline, subgroup, *strata) if c not in data.columns]
    if missing:
        raise MMRMDataError(f"unknown column(s) {missing!r}; the data have {list(map(str, data.columns))!r}")
    arms = sorted(set(data[arm].dropna().astype(str)))
    if len(arms) != 2:
        raise MMRMDataError(f"column {arm!r} must have exactly two arms (found {arms!r})")
    levels = sorted(set(data[subgroup].dropna().astype(str)))
    if len(levels) != 2:
        raise MMRMDataError(f"column {subgroup!r} must have exactly two levels for the interaction (found {levels!r})")
    frame = data[data[subgroup].notna()].assign(**{subgroup: lambda d: d[subgroup].astype(str)})
    nested = [s for s in strata if frame.groupby(subgroup)[s].nunique(dropna=True).max() <= 1]
    if nested:
        raise MMRMDataError(
            f"stratum column(s) {nested!r} take one value within each level of {subgroup!r}: they are the "
            "subgroup itself and cannot be adjusted for beside it; leave them out of strata"
        )
    ref_arm = reference_arm if reference_arm is not None else arms[0]
    trt_arm = next(a for a in arms if a != ref_arm)
    fit = fit_mmrm(
        frame,
        response=change,
        subject=subject,
        visit=visit,
        fixed=" + ".join([f"{arm}*{visit}*{subgroup}", f"{baseline}*{visit}", *strata]),
        cov="us",
        df=df,
        ref={arm: ref_arm},
        alpha=alpha,
    )
    visits = list(fit.visits)
    target = primary_visit if primary_visit is not None else visits[-1]
    if target not in visits:
        raise MMRMDataError(f"primary visit {target!r} is not one of the visits {visits!r}")
    labels, lmat = fit.lsmeans_rows([arm, visit, subgroup])

    def row(a: str, lv: str) -> Any:
        at = (labels[arm] == a) & (labels[visit] == target) & (labels[subgroup] == lv)
        return lmat[at.to_numpy()][0]

    effects = np.array([row(trt_arm, lv) - row(ref_arm, lv) for lv in levels])
    table = fit.contrast(np.vstack([effects, effects[1] - effects[0]]), names=[*levels, "interaction"])
    inter = {str(k): float(v) for k, v in table.to_dict("index")["interaction"].items()}
    return SubgroupInteraction(
        visit=target,
        subgroup=subgroup,
        levels=(levels[0], levels[1]),
        effects=pd.DataFrame(table.loc[levels]),
        estimate=inter["estimate"],
        std_error=inter["std_error"],
        df=inter["df"],
        statistic=inter["statistic"],
        p_value=inter["p_value"],
        ci_lower=inter["ci_lower"],
        ci_upper=inter["ci_upper"],
        alpha=alpha,
        n_subjects=fit.n_subjects,
        fit=fit,
    )

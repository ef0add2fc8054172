"""Analyses applied to each completed dataset: pluggable callables returning an estimate.

Any function ``(wide DataFrame) -> AnalysisEstimate`` works; the default is an ANCOVA of
change from baseline at the primary visit (statsmodels OLS; R: ``lm(chg ~ base + arm)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, require_columns, two_arm_levels


@dataclass(frozen=True)
class AnalysisEstimate:
    """One complete-data estimate: value, variance (SE²) and complete-data df (inf for z-based)."""

    estimate: float
    variance: float
    df: float = float("inf")


Analysis = Callable[[pd.DataFrame], AnalysisEstimate]


def ancova_analysis(
    *, arm: str, baseline: str, visit: str, covariates: Sequence[str] = (), reference: object | None = None
) -> Analysis:
    """Return ``f(wide)``: treatment − reference difference in change at ``visit``, adjusted for baseline."""

    def analyse(wide: pd.DataFrame) -> AnalysisEstimate:
        what = "ANCOVA"
        require_columns(wide, [arm, baseline, visit, *covariates], what=what)
        _, trt = two_arm_levels(wide[arm], what=what, reference=reference)
        y = wide[visit].to_numpy(dtype=float) - wide[baseline].to_numpy(dtype=float)
        if np.isnan(y).any():
            raise EndpointDataError(f"{what}: column {visit!r} still has missing values; impute first")
        x = pd.concat(
            [
                pd.DataFrame({"intercept": 1.0, baseline: wide[baseline].astype(float)}, index=wide.index),
                (wide[arm] == trt).astype(float).rename("treatment"),
                covariate_columns(wide, covariates, what=what),
            ],
            axis=1,
        )
        fit = sm.OLS(y, x).fit()
        return AnalysisEstimate(
            estimate=float(fit.params["treatment"]),
            variance=float(fit.bse["treatment"] ** 2),
            df=float(fit.df_resid),
        )

    return analyse

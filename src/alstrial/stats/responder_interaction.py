"""Does the responder odds ratio differ between two levels of a baseline subgroup? One logistic model.

``logit P(response) = b0 + b1·arm + b2·subgroup + b3·arm×subgroup + covariates``: the treatment odds
ratio is exp(b1) in the first level and exp(b1 + b3) in the second, and b3 (the log of their ratio)
is tested by Wald (R: ``glm(response ~ arm * subgroup + ..., binomial)``; SAS: PROC LOGISTIC with
``arm*subgroup``). The responder rule is the one of ``stats.responder``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, require_columns
from alstrial.stats.responder import MissingRule, classify_responders, fisher_covariance, fit_logistic
from alstrial.stats.result import plain


@dataclass(frozen=True)
class ResponderInteraction:
    """The treatment odds ratio in each subgroup level and the test that they are equal."""

    arms: tuple[Any, Any]
    subgroup: str
    levels: tuple[str, str]  # the ratio is OR(levels[1]) / OR(levels[0])
    odds_ratios: pd.DataFrame  # index = level; odds_ratio, ci_lower, ci_upper, log_odds_ratio, std_error
    ratio: float  # exp(b3)
    log_ratio: float
    std_error: float
    statistic: float  # Wald z
    p_value: float
    ci_lower: float
    ci_upper: float
    conf_level: float
    n: int
    covariates: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "arms": list(self.arms),
                "subgroup": self.subgroup,
                "levels": list(self.levels),
                "odds_ratios": self.odds_ratios.reset_index(),
                "ratio_of_odds_ratios": self.ratio,
                "log_ratio": self.log_ratio,
                "std_error": self.std_error,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "conf_level": self.conf_level,
                "n": self.n,
                "covariates": list(self.covariates),
                "notes": list(self.notes),
            }
        )

    def __str__(self) -> str:
        a, b = self.levels
        lines = [f"Responder odds ratio by {self.subgroup} (one logistic model, arm x subgroup)"]
        for level, row in self.odds_ratios.iterrows():
            lines.append(f"  {level!s:<10} OR {row['odds_ratio']:.4g} ({row['ci_lower']:.4g} to {row['ci_upper']:.4g})")
        lines.append(
            f"  OR({b}) / OR({a}) = {self.ratio:.4g} ({self.conf_level:.0%} CI {self.ci_lower:.4g} to"
            f" {self.ci_upper:.4g}), z = {self.statistic:.3f}, p = {self.p_value:.4g}"
        )
        return "\n".join(lines)


def responder_interaction(
    df: pd.DataFrame,
    *,
    arm: str,
    subgroup: str,
    slope_change: str | None = None,
    pre_slope: str | None = None,
    post_slope: str | None = None,
    covariates: Sequence[str] = (),
    threshold: float = 1.25,
    reference: object | None = None,
    missing: MissingRule = "exclude",
    conf_level: float = 0.95,
) -> ResponderInteraction:
    """Fit ``logit P(response) ~ arm * subgroup + covariates`` and test the arm × subgroup term."""
    what = "responder interaction"
    require_columns(df, [subgroup], what=what)
    rows = df[df[subgroup].notna()]
    data, y, ref, trt, _ = classify_responders(
        rows,
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
    level_of = data[subgroup].astype(str)
    levels = sorted(set(level_of))
    if len(levels) != 2:
        raise EndpointDataError(f"{what}: column {subgroup!r} must have exactly two levels (found {levels!r})")
    treated = (data[arm] == trt).astype(float)
    second = (level_of == levels[1]).astype(float)
    x = pd.concat(
        [
            pd.Series(1.0, index=data.index, name="intercept"),
            treated.rename(f"{arm}[{trt}]"),
            second.rename(f"{subgroup}[{levels[1]}]"),
            (treated * second).rename(f"{arm}[{trt}]:{subgroup}[{levels[1]}]"),
            covariate_columns(data, covariates, what=what),
        ],
        axis=1,
    )
    beta, se, notes = fit_logistic(y, x, what=what, model=f"arm x {subgroup}, covariates {list(covariates)!r}")
    z_crit = float(special.ndtri(0.5 + conf_level / 2))
    info = fisher_covariance(x.to_numpy(dtype=float), beta)
    # log OR in the first level: b1; in the second: b1 + b3 (its variance needs their covariance)
    per_level = []
    for contrast in (np.eye(len(beta))[1], np.eye(len(beta))[1] + np.eye(len(beta))[3]):
        est, sd = float(contrast @ beta), float(np.sqrt(contrast @ info @ contrast))
        per_level.append(
            {
                "odds_ratio": np.exp(est),
                "ci_lower": np.exp(est - z_crit * sd),
                "ci_upper": np.exp(est + z_crit * sd),
                "log_odds_ratio": est,
                "std_error": sd,
            }
        )
    b3, se3 = float(beta[3]), float(se[3])
    z = b3 / se3
    return ResponderInteraction(
        arms=(ref, trt),
        subgroup=subgroup,
        levels=(levels[0], levels[1]),
        odds_ratios=pd.DataFrame(per_level, index=pd.Index(levels, name="level")),
        ratio=float(np.exp(b3)),
        log_ratio=b3,
        std_error=se3,
        statistic=z,
        p_value=float(2 * special.ndtr(-abs(z))),
        ci_lower=float(np.exp(b3 - z_crit * se3)),
        ci_upper=float(np.exp(b3 + z_crit * se3)),
        conf_level=conf_level,
        n=len(data),
        covariates=tuple(covariates),
        notes=notes,
    )

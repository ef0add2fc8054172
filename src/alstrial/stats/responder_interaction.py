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

from alstrial.stats.design_matrix import covariate_columns
from alstrial.stats.endpoint_data import EndpointDataError, require_columns
from alstrial.stats.responder import MissingRule, classify_responders, fit_logistic
from alstrial.stats.result import plain, wald_table


@dataclass(frozen=True)
class ResponderInteraction:
    """The treatment odds ratio in each subgroup level and the test that they are equal."""

    arms: tuple[Any, Any]
    subgroup: str
    levels: tuple[str, str]  # the ratio is OR(levels[1]) / OR(levels[0])
    odds_ratios: pd.DataFrame  # index = level; log_odds_ratio, std_error, odds_ratio, statistic, p_value, CI
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
    beta, cov, notes = fit_logistic(y, x, what=what, model=f"arm x {subgroup}, covariates {list(covariates)!r}")
    # log OR in the first level: b1; in the second: b1 + b3; their difference: b3
    contrasts = np.zeros((3, len(beta)))
    contrasts[0, 1] = contrasts[1, 1] = contrasts[1, 3] = contrasts[2, 3] = 1.0
    table = wald_table(
        [*levels, "interaction"],
        contrasts @ beta,
        np.sqrt(np.einsum("ij,jk,ik->i", contrasts, cov, contrasts)),
        conf_level=conf_level,
        ratio="odds_ratio",
    ).set_index("term")
    inter = {str(k): float(v) for k, v in table.to_dict("index")["interaction"].items()}
    per_level = table.loc[levels].rename(columns={"estimate": "log_odds_ratio"})
    return ResponderInteraction(
        arms=(ref, trt),
        subgroup=subgroup,
        levels=(levels[0], levels[1]),
        odds_ratios=per_level.rename_axis("level"),
        ratio=inter["odds_ratio"],
        log_ratio=inter["estimate"],
        std_error=inter["std_error"],
        statistic=inter["statistic"],
        p_value=inter["p_value"],
        ci_lower=inter["ci_lower"],
        ci_upper=inter["ci_upper"],
        conf_level=conf_level,
        n=len(data),
        covariates=tuple(covariates),
        notes=notes,
    )

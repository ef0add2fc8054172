"""Rubin's rules for combining one scalar estimate over m imputed datasets.

Q̄ = mean of estimates, Ū = mean of variances, B = between-imputation variance,
T = Ū + (1 + 1/m)·B. Degrees of freedom follow Barnard & Rubin (1999), which never exceed
the complete-data df (R: ``mice::pool``, ``rbmi::pool``; SAS: PROC MIANALYZE EDF=).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.result import format_block, plain


@dataclass(frozen=True)
class RubinResult:
    """Pooled estimate, its total variance, Barnard–Rubin df, CI and p (H0: estimate = 0)."""

    m: int
    estimate: float
    within_variance: float
    between_variance: float
    total_variance: float
    df: float
    std_error: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    conf_level: float
    relative_increase: float
    fraction_missing_info: float

    def to_dict(self) -> dict[str, Any]:
        return plain(dict(self.__dict__))

    def __str__(self) -> str:
        return format_block(
            "RubinResult",
            {
                "imputations": self.m,
                "estimate": self.estimate,
                "std_error": self.std_error,
                "df (Barnard-Rubin)": self.df,
                "CI": f"{self.ci_lower:.6g} to {self.ci_upper:.6g} ({self.conf_level:.0%})",
                "p": self.p_value,
                "FMI": self.fraction_missing_info,
            },
        )


def barnard_rubin_df(m: int, b: float, t: float, df_complete: float) -> float:
    """Barnard–Rubin small-sample df; equals Rubin's (m−1)/λ² when ``df_complete`` is infinite."""
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    df_old = (m - 1) / lam**2 if lam > 0 else np.inf
    if np.isinf(df_complete):
        return float(df_old)
    df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    if np.isinf(df_old):
        return float(df_obs)
    return float(1 / (1 / df_old + 1 / df_obs))


def rubin_combine(
    estimates: np.ndarray | list[float],
    variances: np.ndarray | list[float],
    *,
    df_complete: float = np.inf,
    conf_level: float = 0.95,
) -> RubinResult:
    """Combine per-imputation estimates and their squared standard errors."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.ndim != 1 or q.shape != u.shape:
        raise EndpointDataError(
            f"Rubin: estimates and variances must be 1-D of equal length (got {q.shape}, {u.shape})"
        )
    m = q.shape[0]
    if m < 2:
        raise EndpointDataError(f"Rubin: needs at least 2 imputations (got {m})")
    if np.isnan(q).any() or np.isnan(u).any() or (u < 0).any():
        raise EndpointDataError("Rubin: estimates/variances contain NaN or a negative variance")
    q_bar = float(q.mean())
    u_bar = float(u.mean())
    b = float(q.var(ddof=1))
    t = u_bar + (1 + 1 / m) * b
    df = barnard_rubin_df(m, b, t, df_complete)
    se = float(np.sqrt(t))
    stat = q_bar / se if se > 0 else float("nan")
    dist = sps.norm if np.isinf(df) else sps.t(df)
    crit = float(dist.ppf(0.5 + conf_level / 2))
    r = (1 + 1 / m) * b / u_bar if u_bar > 0 else float("inf")
    fmi = (r + 2 / (df + 3)) / (r + 1) if np.isfinite(df) else (r / (r + 1))
    return RubinResult(
        m=m,
        estimate=q_bar,
        within_variance=u_bar,
        between_variance=b,
        total_variance=t,
        df=df,
        std_error=se,
        statistic=stat,
        p_value=float(2 * dist.sf(abs(stat))),
        ci_lower=q_bar - crit * se,
        ci_upper=q_bar + crit * se,
        conf_level=conf_level,
        relative_increase=r,
        fraction_missing_info=float(fmi),
    )

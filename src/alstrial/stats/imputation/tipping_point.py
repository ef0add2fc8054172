"""Delta-adjusted tipping-point analysis: how much worse must the active arm's missing data be
before the treatment effect stops being significant?

For each delta on a grid the MAR imputations are shifted (delta added to every imputed value in
the active arm), analysed and pooled. The tipping point is the first delta, scanning the grid
in the order given, at which p >= alpha; ``tipping_delta_interpolated`` refines it linearly
between the last significant and the first non-significant grid point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.imputation.analysis import Analysis
from alstrial.stats.imputation.mi_mar import ImputedData, analyse_imputed
from alstrial.stats.result import format_block, plain


@dataclass(frozen=True)
class TippingPointResult:
    """One pooled result per delta and where significance is lost (None when it never is)."""

    alpha: float
    table: pd.DataFrame
    tipping_delta: float | None
    tipping_delta_interpolated: float | None

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "alpha": self.alpha,
                "tipping_delta": self.tipping_delta,
                "tipping_delta_interpolated": self.tipping_delta_interpolated,
                "table": self.table,
            }
        )

    def __str__(self) -> str:
        tip = "not reached on the grid" if self.tipping_delta is None else f"{self.tipping_delta:g}"
        return format_block(
            "TippingPointResult",
            {"alpha": self.alpha, "tipping delta": tip, "interpolated": self.tipping_delta_interpolated or "n/a"},
            self.table.set_index("delta"),
        )


def tipping_point(
    imputed: ImputedData,
    analysis: Analysis,
    deltas: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    conf_level: float = 0.95,
) -> TippingPointResult:
    """Pool the analysis at every delta; deltas usually run from 0 towards harm (e.g. 0, −1, −2...)."""
    grid = [float(d) for d in deltas]
    if not grid:
        raise EndpointDataError("tipping point: give at least one delta")
    if imputed.method != "mar":
        raise EndpointDataError(f"tipping point: expects MAR imputations to shift (got method {imputed.method!r})")
    rows = []
    for d in grid:
        pooled = analyse_imputed(imputed, analysis, delta=d, conf_level=conf_level).pooled
        rows.append(
            {
                "delta": d,
                "estimate": pooled.estimate,
                "std_error": pooled.std_error,
                "df": pooled.df,
                "ci_lower": pooled.ci_lower,
                "ci_upper": pooled.ci_upper,
                "p_value": pooled.p_value,
                "significant": pooled.p_value < alpha,
            }
        )
    table = pd.DataFrame(rows)
    lost = np.flatnonzero(~table["significant"].to_numpy())
    tip: float | None = None
    interp: float | None = None
    if len(lost) and lost[0] > 0:
        i = int(lost[0])
        tip = grid[i]
        p0, p1 = table["p_value"].iloc[i - 1], table["p_value"].iloc[i]
        frac = (alpha - p0) / (p1 - p0) if p1 != p0 else 1.0
        interp = grid[i - 1] + frac * (grid[i] - grid[i - 1])
    elif len(lost):
        tip = grid[0]  # not significant even at the first delta
    return TippingPointResult(alpha=alpha, table=table, tipping_delta=tip, tipping_delta_interpolated=interp)

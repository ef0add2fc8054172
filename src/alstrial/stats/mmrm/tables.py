"""Build the fixed-column inference tables (estimate, std_error, df, statistic, p_value, CI)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from alstrial.stats.mmrm.ddf import DfResult

COLUMNS = ["estimate", "std_error", "df", "statistic", "p_value", "ci_lower", "ci_upper"]


def t_table(res: DfResult, index: Sequence[object] | pd.Index, alpha: float) -> pd.DataFrame:
    """t statistics, two-sided p values and (1 − alpha) confidence intervals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = res.estimate / res.std_error
    df = res.df
    # scipy.special rather than scipy.stats: the same functions without scipy.stats' import time
    p = 2.0 * special.stdtr(df, -np.abs(stat))
    crit = special.stdtrit(df, 1.0 - alpha / 2.0)
    table = pd.DataFrame(
        {
            "estimate": res.estimate,
            "std_error": res.std_error,
            "df": df,
            "statistic": stat,
            "p_value": p,
            "ci_lower": res.estimate - crit * res.std_error,
            "ci_upper": res.estimate + crit * res.std_error,
        },
        index=index if isinstance(index, pd.Index) else pd.Index(list(index)),
    )
    return table[COLUMNS]

"""Fixed-column inference tables (estimate, std_error, df, statistic, p_value, CI) as DataFrames."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from alstrial.stats.mmrm.ddf import DfResult
from alstrial.stats.mmrm.summary import COLUMNS, t_columns


def t_table(res: DfResult, index: Sequence[object] | pd.Index, alpha: float) -> pd.DataFrame:
    """t statistics, two-sided p values and (1 − alpha) confidence intervals."""
    table = pd.DataFrame(
        t_columns(res, alpha),
        index=index if isinstance(index, pd.Index) else pd.Index(list(index)),
    )
    return table[list(COLUMNS)]

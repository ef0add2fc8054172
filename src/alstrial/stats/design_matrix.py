"""Build numeric design matrices from DataFrame columns without a formula engine.

Text, bool and categorical covariates are dummy-coded (levels sorted, first = reference,
columns named ``col[level]``); numeric ones are used as they are. Keeping this explicit avoids
depending on patsy/formulaic quirks and keeps column names stable for reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from alstrial.stats.endpoint_data import EndpointDataError


def covariate_columns(df: pd.DataFrame, covariates: Sequence[str], *, what: str) -> pd.DataFrame:
    """Return the covariate part of a design matrix (no intercept)."""
    parts: list[pd.DataFrame] = []
    for col in covariates:
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            levels = sorted(pd.unique(s).tolist(), key=str)
            if len(levels) < 2:
                raise EndpointDataError(f"{what}: covariate {col!r} has a single level {levels[0]!r}; drop it")
            parts.append(pd.DataFrame({f"{col}[{lv}]": (s == lv).astype(float) for lv in levels[1:]}, index=df.index))
        else:
            parts.append(s.astype(float).to_frame(col))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)

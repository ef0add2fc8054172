"""A pandas DataFrame as a :class:`Table`: the columns an analysis names, typed as pandas types them."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.stats.table import Column, Kind, Table


def read_csv_frame(path: Path) -> pd.DataFrame:
    """``pandas.read_csv`` of a user's data file, refusing a NUL byte: pandas' parser ends a cell at
    one, so ``3\\x00`` would silently be read as 3. Raises OSError or ValueError (as pandas does)."""
    raw = path.read_bytes()
    at = raw.find(b"\x00")
    if at >= 0:
        line = raw.count(b"\n", 0, at) + 1
        raise ValueError(f"line {line} holds a NUL byte: not a text CSV file")
    return pd.read_csv(io.BytesIO(raw))


def table_from_frame(data: pd.DataFrame, names: Iterable[str]) -> Table:
    """The columns ``names`` of ``data`` that exist (others are for the caller to report)."""
    wanted = [n for n in dict.fromkeys(names) if n in data.columns]
    return Table(
        names=tuple(data.columns),
        columns={n: column_from_series(data[n]) for n in wanted},
        index=data.index,
    )


def column_from_series(series: pd.Series) -> Column:
    missing = series.isna().to_numpy(dtype=bool)
    text = series.astype(str).to_numpy(dtype=object)
    dtype = series.dtype
    categories = tuple(str(c) for c in dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else None
    kind: Kind
    if pd.api.types.is_bool_dtype(dtype):
        kind = "bool"
    elif pd.api.types.is_numeric_dtype(dtype):
        kind = "int" if pd.api.types.is_integer_dtype(dtype) and not missing.any() else "float"
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return Column(kind, values, missing, text, categories)
    else:
        kind = "other"
    return Column(kind, series.to_numpy(dtype=object), missing, text, categories)

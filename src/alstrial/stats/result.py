"""Small helpers every endpoint result uses to print itself and turn into plain JSON-able data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """Turn numpy/pandas scalars and containers into JSON-able Python (NaN → None)."""
    if isinstance(value, pd.DataFrame):
        return [{str(k): plain(v) for k, v in row.items()} for row in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) else f
    return value


def format_block(title: str, fields: Mapping[str, Any], table: pd.DataFrame | None = None) -> str:
    """A lifelines-like text block: a title, ``key = value`` lines, then an optional table."""
    width = max((len(k) for k in fields), default=0)
    lines = [f"<{title}>"]
    for key, value in fields.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        lines.append(f"  {key.ljust(width)} = {value}")
    if table is not None and len(table):
        lines.append("")
        lines.append(table.to_string(float_format=lambda v: f"{v:.6g}"))
    return "\n".join(lines)

"""Results as plain JSON-able data and as ``key = value`` text blocks, without importing pandas."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np


def plain(value: Any, *, digits: int | None = None) -> Any:
    """Turn results into JSON-able Python: numpy/pandas → builtins, NaN/inf → None.

    Objects with a ``to_dict()`` (our result objects) are converted through it. With ``digits``
    floats are rounded to that many significant digits, which makes JSON output byte-stable.
    """
    pd = sys.modules.get("pandas")  # a DataFrame exists only once pandas is imported
    if pd is not None and isinstance(value, pd.DataFrame):
        return [{str(k): plain(v, digits=digits) for k, v in row.items()} for row in value.to_dict(orient="records")]
    if pd is not None and isinstance(value, pd.Series):
        return {str(k): plain(v, digits=digits) for k, v in value.items()}
    if hasattr(value, "to_dict"):
        return plain(value.to_dict(), digits=digits)
    if isinstance(value, Mapping):
        return {str(k): plain(v, digits=digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, digits=digits) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v, digits=digits) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            return None
        return f if digits is None else float(f"{f:.{digits}g}")
    return value


def field_lines(title: str, fields: Mapping[str, Any]) -> list[str]:
    """A lifelines-like head: ``<title>`` then aligned ``key = value`` lines (floats to 6 digits)."""
    width = max((len(k) for k in fields), default=0)
    lines = [f"<{title}>"]
    for key, value in fields.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        lines.append(f"  {key.ljust(width)} = {value}")
    return lines

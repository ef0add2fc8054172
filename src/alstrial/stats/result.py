"""Small helpers every endpoint result uses to print itself and turn into plain JSON-able data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: the command line should not pay for its import


def plain(value: Any, *, digits: int | None = None) -> Any:
    """Turn results into JSON-able Python: numpy/pandas → builtins, NaN/inf → None.

    Objects with a ``to_dict()`` (our result objects) are converted through it. With ``digits``
    floats are rounded to that many significant digits, which makes JSON output byte-stable.
    """
    if isinstance(value, pd.DataFrame):
        return [{str(k): plain(v, digits=digits) for k, v in row.items()} for row in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
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


def wald_table(
    terms: Sequence[str],
    estimate: np.ndarray,
    std_error: np.ndarray,
    *,
    conf_level: float = 0.95,
    df: float | None = None,
    ratio: str | None = None,
) -> pd.DataFrame:
    """Coefficient table with Wald tests: normal reference, or Student t when ``df`` is given.

    With ``ratio`` (e.g. ``"odds_ratio"``) a column of exp(estimate) is added and the CI is
    exponentiated, as R's ``exp(confint.default(fit))``.
    """
    estimate = np.asarray(estimate, dtype=float)
    std_error = np.asarray(std_error, dtype=float)
    stat = estimate / std_error
    if df is None:
        q, p = special.ndtri(0.5 + conf_level / 2), 2 * special.ndtr(-np.abs(stat))
    else:
        q, p = special.stdtrit(df, 0.5 + conf_level / 2), 2 * special.stdtr(df, -np.abs(stat))
    lower, upper = estimate - q * std_error, estimate + q * std_error
    table = pd.DataFrame({"term": list(terms), "estimate": estimate, "std_error": std_error})
    if ratio is not None:
        table[ratio] = np.exp(estimate)
        lower, upper = np.exp(lower), np.exp(upper)
    table["statistic"], table["p_value"] = stat, p
    table["ci_lower"], table["ci_upper"] = lower, upper
    return table


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

"""Small helpers every endpoint result uses to print itself and turn into plain JSON-able data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: the command line should not pay for its import

from alstrial.stats.plain import field_lines, plain

__all__ = ["format_block", "plain", "wald_table"]


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
    lines = field_lines(title, fields)
    if table is not None and len(table):
        lines.append("")
        lines.append(table.to_string(float_format=lambda v: f"{v:.6g}"))
    return "\n".join(lines)

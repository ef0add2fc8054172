"""ALSFRS-R progression rates: ΔFS since onset (Kimura 2006) and visit-to-visit slopes.

Units are points per month, with a month of :data:`MONTH_DAYS` = 365.25 / 12 days so that
day counts convert the same way everywhere in alstrial.

Sign conventions differ on purpose, following the literature:

- :func:`delta_fs` is Kimura's ΔFS = (48 − total) / months since onset: **positive = decline**.
  (ENCALS/TRICALS code writes the same quantity negated as a "slope".)
- :func:`slope_two_point` and :func:`slope_least_squares` are ordinary slopes of the total over
  time: **negative = decline** (e.g. PRO-ACT's −1.02 points/month).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from alstrial.errors import AlstrialError
from alstrial.instruments.alsfrs_r import MAX_TOTAL

__all__ = [
    "MONTH_DAYS",
    "ProgressionError",
    "delta_fs",
    "slope_least_squares",
    "slope_two_point",
]

#: Average Gregorian month in days (365.25 / 12).
MONTH_DAYS = 30.4375


class ProgressionError(AlstrialError, ValueError):
    """A progression rate cannot be computed from the given values."""


def _finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ProgressionError(f"{name} must be a number (not {value!r})") from None
    if not math.isfinite(x):
        raise ProgressionError(f"{name} must be a finite number (not {value!r})")
    return x


def _total(name: str, value: float) -> float:
    x = _finite(name, value)
    if not 0 <= x <= MAX_TOTAL:
        raise ProgressionError(f"{name} must be an ALSFRS-R total between 0 and 48 (not {value!r})")
    return x


def delta_fs(total: float, months_since_onset: float) -> float:
    """Kimura's ΔFS = (48 − total) / months since symptom onset; positive = decline.

    Raises :class:`ProgressionError` for months ≤ 0 (a visit at or before onset has no rate).
    """
    t = _total("total", total)
    m = _finite("months_since_onset", months_since_onset)
    if m <= 0:
        raise ProgressionError(f"months_since_onset must be greater than 0 to compute ΔFS (not {months_since_onset!r})")
    return (MAX_TOTAL - t) / m


def slope_two_point(day0: float, total0: float, day1: float, total1: float) -> float:
    """Slope between two visits in points/month (negative = decline); days are any common origin."""
    d0, d1 = _finite("day0", day0), _finite("day1", day1)
    t0, t1 = _total("total0", total0), _total("total1", total1)
    if d0 == d1:
        raise ProgressionError(f"day0 and day1 must differ to compute a slope (both are {day0!r})")
    return (t1 - t0) / ((d1 - d0) / MONTH_DAYS)


def slope_least_squares(days: Sequence[float] | np.ndarray, totals: Sequence[float] | np.ndarray) -> float:
    """Ordinary least-squares slope of totals on time, in points/month (negative = decline).

    Needs at least two distinct days; repeated days are allowed (they are simply more points).
    """
    d = np.asarray(days, dtype=float)
    y = np.asarray(totals, dtype=float)
    if d.ndim != 1 or y.ndim != 1 or d.shape != y.shape:
        raise ProgressionError(
            f"days and totals must be 1-D sequences of the same length (got {d.shape} and {y.shape})"
        )
    if not (np.isfinite(d).all() and np.isfinite(y).all()):
        raise ProgressionError("days and totals must be finite numbers (found NaN or infinity)")
    if ((y < 0) | (y > MAX_TOTAL)).any():
        bad = y[(y < 0) | (y > MAX_TOTAL)][0]
        raise ProgressionError(f"totals must be ALSFRS-R totals between 0 and 48 (not {bad!r})")
    if np.unique(d).size < 2:
        raise ProgressionError(
            f"a least-squares slope needs visits on at least 2 distinct days (got {np.unique(d).size})"
        )
    m = (d - d.mean()) / MONTH_DAYS
    return float(np.dot(m, y - y.mean()) / np.dot(m, m))

"""Input checks shared by the endpoint engines: columns present, numeric, two arms.

Every check raises :class:`EndpointDataError` naming the column, the bad value and what is
allowed, so the CLI can print it as it is and exit 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from alstrial.stats.arms import reference_and_treatment
from alstrial.stats.errors import EndpointDataError

__all__ = ["EndpointDataError", "distinct_columns", "numeric_column", "require_columns", "two_arm_levels"]


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    """Fail with every missing column at once, listing the columns that do exist."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise EndpointDataError(
            f"{what}: column(s) {', '.join(repr(c) for c in missing)} not found "
            f"(available: {', '.join(repr(str(c)) for c in df.columns)})"
        )


def numeric_column(
    df: pd.DataFrame, column: str, *, what: str, allow_missing: bool = False, allow_minus_infinity: bool = False
) -> np.ndarray:
    """Return ``df[column]`` as float, quoting the first value that is not a finite number
    (``allow_minus_infinity``: −∞ is a value the caller gives a meaning, e.g. a composite failure)."""
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        first = raw[bad].iloc[0]
        raise EndpointDataError(
            f"{what}: column {column!r} must be numeric, found {first!r} in row {_plain(raw[bad].index[0])!r}"
        )
    if not allow_missing and values.isna().any():
        row = _plain(values[values.isna()].index[0])
        raise EndpointDataError(f"{what}: column {column!r} has a missing value in row {row!r}")
    out = values.to_numpy(dtype=float)
    infinite = np.isposinf(out) if allow_minus_infinity else np.isinf(out)
    if infinite.any():  # ``inf``, ``1e400``: no analysis means anything with them
        i = int(np.flatnonzero(infinite)[0])
        raise EndpointDataError(
            f"{what}: column {column!r} must hold finite numbers, "
            f"found {_plain(raw.iloc[i])!r} in row {_plain(raw.index[i])!r}"
        )
    return out


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def distinct_columns(roles: Sequence[tuple[str, str | None]], *, what: str) -> None:
    """Refuse one column in two roles (the group also listed as a covariate...): the model would be singular."""
    seen: dict[str, str] = {}
    for role, column in roles:
        if column is None:
            continue
        if column in seen:
            raise EndpointDataError(
                f"{what}: column {column!r} is given both as {seen[column]} and as {role}; use each column once"
            )
        seen[column] = role


def two_arm_levels(arm: pd.Series, *, what: str, reference: object | None = None) -> tuple[object, object]:
    """Return ``(reference, treatment)`` for a two-level arm column (see
    :func:`alstrial.stats.arms.reference_and_treatment`)."""
    if arm.isna().any():
        row = _plain(arm[arm.isna()].index[0])
        raise EndpointDataError(f"{what}: arm column {arm.name!r} has a missing value in row {row!r}")
    uniq = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(arm)]
    return reference_and_treatment(uniq, arm.name, what=what, reference=reference)

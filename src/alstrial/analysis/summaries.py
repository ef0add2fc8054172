"""Trial-level summaries of the analysis datasets: CONSORT flow, baseline table, dropouts.

They take the ADSL-like participant frame (one row per screened participant; see
``datasets.ADSL_COLUMNS``) and return plain JSON-able dicts, so the same numbers feed
``results.json``, the report and the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def _r(x: float, nd: int = 2) -> float | None:
    """Round for JSON output; NaN becomes None so that the JSON stays valid."""
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def age_decade(age: pd.Series) -> pd.Series:
    """Age decade labels (``40s`` for 40-49); a missing age is ``unknown``."""
    decade = (age // 10 * 10).astype("Int64").astype(str) + "s"
    return decade.where(age.notna(), "unknown")


def consort(adsl: pd.DataFrame, arms: list[str], criteria: Mapping[str, str] | None = None) -> dict[str, Any]:
    """CONSORT counts: screened, screen failures with their reasons, and per-arm flow.

    Screen-failure reasons are keyed by criterion id, or ``"id: text"`` when ``criteria`` maps
    ids to their wording (a participant failing several criteria counts under each).
    """
    randomized = adsl[adsl["RANDFL"]]
    failures = adsl[~adsl["ELIGFL"]]
    reasons: Counter[str] = Counter()
    for failed in failures["FAILCRIT"]:
        reasons.update(f"{c}: {criteria[c]}" if criteria and c in criteria else c for c in str(failed).split(";") if c)
    per_arm: dict[str, Any] = {}
    for arm in arms:
        sub = randomized[randomized["ARM"] == arm]
        left = sub[~sub["COMPLFL"]]
        per_arm[arm] = {
            "randomized": len(sub),
            "treated": int(sub["SAFFL"].sum()),
            "completed": int(sub["COMPLFL"].sum()),
            "discontinued": len(left),
            "discontinuation_reasons": dict(sorted(Counter(left["DCSREAS"].astype(str)).items())),
        }
    return {
        "screened": len(adsl),
        "screen_failed": len(failures),
        "screen_fail_reasons": dict(sorted(reasons.items())),
        "eligible_not_randomized": int((adsl["ELIGFL"] & ~adsl["RANDFL"]).sum()),
        "randomized": len(randomized),
        "arms": per_arm,
    }


def baseline(adsl: pd.DataFrame, arms: list[str]) -> dict[str, dict[str, Any]]:
    """Baseline characteristics per randomized arm (the report's Table 1)."""
    out: dict[str, dict[str, Any]] = {}
    randomized = adsl[adsl["RANDFL"]]
    for arm in arms:
        sub = randomized[randomized["ARM"] == arm]
        n = len(sub)

        def pct(values: pd.Series, mask: pd.Series) -> float | None:
            # percentages are of the participants in whom the characteristic is known
            known = values.notna()
            return _r(100.0 * (mask & known).sum() / known.sum(), 1) if known.any() else None

        out[arm] = {
            "n": int(n),
            "age_mean": _r(sub["AGE"].mean()),
            "age_sd": _r(sub["AGE"].std()),
            "female_pct": pct(sub["SEX"], sub["SEX"] == "F"),
            "limb_onset_pct": pct(sub["ONSETREG"], sub["ONSETREG"] == "limb"),
            "months_since_onset_mean": _r(sub["MOSONSET"].mean()),
            "riluzole_pct": pct(sub["RILUZFL"], sub["RILUZFL"].eq(True)),
            "alsfrs_r_mean": _r(sub["BASEALS"].mean()),
            "alsfrs_r_sd": _r(sub["BASEALS"].std()),
            "alsfrs_r_le25_pct": pct(sub["BASEALS"], sub["BASEALS"] <= 25),
            "pre_slope_mean": _r(sub["PRESLOPE"].mean(), 3),
            "svc_mean": _r(sub["SVCBL"].mean(), 1),
        }
    return out


def dropouts(adsl: pd.DataFrame) -> dict[str, Any]:
    """Who left before the primary visit: totals by sex and by age decade (e.g. ``40s``)."""
    randomized = adsl[adsl["RANDFL"]]
    left = randomized[~randomized["COMPLFL"]]
    decade = age_decade(left["AGE"])
    all_decades = age_decade(randomized["AGE"])
    return {
        "total": len(left),
        "by_sex": {k: int(v) for k, v in sorted(Counter(left["SEX"]).items())},
        "by_age_decade": {k: int(v) for k, v in sorted(Counter(decade).items())},
        "rate_by_sex": {
            s: _r(float((~g["COMPLFL"]).mean()), 3)
            for s, g in sorted(randomized.groupby("SEX"), key=lambda t: str(t[0]))
        },
        "randomized_by_age_decade": {k: int(v) for k, v in sorted(Counter(all_decades).items())},
        "reasons": {k: int(v) for k, v in sorted(Counter(left["DCSREAS"].astype(str)).items())},
    }

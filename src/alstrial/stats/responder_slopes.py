"""Per-participant pre- and post-treatment ALSFRS-R slopes, the inputs of the responder endpoint.

Pure function on long data, private to the responder endpoint (the general slope helpers live
in ``alstrial.instruments``). Slopes are in points per month, 1 month = 30.4375 days
(365.25 / 12), and negative while the disease progresses.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns

DAYS_PER_MONTH = 30.4375
SlopeMethod = Literal["two_point", "least_squares"]


def _ls_slope(g: pd.DataFrame) -> tuple[float, int]:
    x = g["_m"].to_numpy()
    y = g["_y"].to_numpy()
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan"), len(x)
    xc = x - x.mean()
    return float(np.dot(xc, y - y.mean()) / np.dot(xc, xc)), len(x)


def _two_point(g: pd.DataFrame) -> tuple[float, int]:
    if len(g) < 2:
        return float("nan"), len(g)
    first, last = g.iloc[0], g.iloc[-1]
    span = last["_m"] - first["_m"]
    if span == 0:
        return float("nan"), len(g)
    return float((last["_y"] - first["_y"]) / span), len(g)


def derive_pre_post_slopes(
    long: pd.DataFrame,
    *,
    subject: str,
    day: str,
    score: str,
    baseline_day: float = 0.0,
    endpoint_day: float | None = None,
    method: SlopeMethod = "two_point",
) -> pd.DataFrame:
    """Return one row per subject: ``baseline_score, pre_slope, post_slope, slope_change, n_pre, n_post``.

    ``day`` counts days from first treatment (baseline at ``baseline_day``). The baseline visit is
    a subject's last visit on or before ``baseline_day``; it closes the pre-treatment period
    (all visits up to it: screening … baseline) and opens the post-treatment period (baseline …
    last visit on or before ``endpoint_day``, e.g. 196 for week 28). ``two_point`` joins the
    first and last visit of a period; ``least_squares`` fits a line through all of them. A
    period with fewer than two visits gives NaN. ``slope_change`` = post − pre, so a patient
    who progresses more slowly after treatment has a positive change.
    """
    if method not in ("two_point", "least_squares"):
        raise EndpointDataError(
            f"invalid value for method, expected one of 'two_point', 'least_squares' (not {method!r})"
        )
    what = "pre/post slopes"
    require_columns(long, [subject, day, score], what=what)
    data = pd.DataFrame(
        {
            "_s": long[subject].to_numpy(),
            "_d": numeric_column(long, day, what=what),
            "_y": numeric_column(long, score, what=what, allow_missing=True),
        }
    ).dropna(subset=["_y"])
    data["_m"] = data["_d"] / DAYS_PER_MONTH
    data = data.sort_values(["_s", "_d"], kind="stable")
    slope = _ls_slope if method == "least_squares" else _two_point
    rows = []
    for sid, g in data.groupby("_s", sort=True):
        pre = g[g["_d"] <= baseline_day]
        if pre.empty:
            rows.append(
                {
                    "subject": sid,
                    "baseline_score": np.nan,
                    "pre_slope": np.nan,
                    "post_slope": np.nan,
                    "n_pre": 0,
                    "n_post": 0,
                }
            )
            continue
        base_day = pre["_d"].iloc[-1]
        post = g[(g["_d"] >= base_day) & ((g["_d"] <= endpoint_day) if endpoint_day is not None else True)]
        pre_s, n_pre = slope(pre)
        post_s, n_post = slope(post)
        rows.append(
            {
                "subject": sid,
                "baseline_score": float(pre["_y"].iloc[-1]),
                "pre_slope": pre_s,
                "post_slope": post_s,
                "n_pre": n_pre,
                "n_post": n_post,
            }
        )
    out = pd.DataFrame(rows, columns=["subject", "baseline_score", "pre_slope", "post_slope", "n_pre", "n_post"])
    out["slope_change"] = out["post_slope"] - out["pre_slope"]
    return out.rename(columns={"subject": subject})

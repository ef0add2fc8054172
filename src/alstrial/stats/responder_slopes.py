"""Per-participant pre- and post-treatment ALSFRS-R slopes, the inputs of the responder endpoint.

Pure function on long data, private to the responder endpoint (the general slope helpers live
in ``alstrial.instruments``). Slopes are in points per month, 1 month = 30.4375 days
(365.25 / 12), and negative while the disease progresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns

DAYS_PER_MONTH = 30.4375
MAX_TOTAL = 48.0
SlopeMethod = Literal["two_point", "least_squares"]
#: how the pre-treatment slope is computed: a line through the pre-treatment visits, the first and
#: last of them, or Kimura's onset-based ΔFS (−(48 − baseline) / months from onset to baseline)
PreSlopeMethod = Literal["least_squares", "two_point", "onset_dfs"]
PRE_SLOPE_METHODS: tuple[str, ...] = ("least_squares", "two_point", "onset_dfs")
#: what happens to a participant without a post-treatment slope (dropped, or counted as failure)
MissingPostRule = Literal["exclude", "nonresponder"]
MISSING_POST_RULES: tuple[str, ...] = ("exclude", "nonresponder")


@dataclass(frozen=True)
class SlopeRule:
    """The protocol's choice for the responder endpoint's slopes: one definition for every user.

    The analysis of the locked database, the fast simulator's datasets and the simulator's
    calibration all derive the pre-treatment slope through :func:`derive_pre_post_slopes` with
    this rule, so the same data always give the same slope.
    """

    pre_method: PreSlopeMethod = "least_squares"
    post_method: SlopeMethod = "least_squares"
    missing_post: MissingPostRule = "exclude"

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> SlopeRule:
        """Read ``pre_slope_method``, ``post_slope_method``, ``missing_post_slope`` (all optional)."""
        pre = parameters.get("pre_slope_method", cls.pre_method)
        post = parameters.get("post_slope_method", cls.post_method)
        missing = parameters.get("missing_post_slope", cls.missing_post)
        if pre not in PRE_SLOPE_METHODS:
            raise EndpointDataError(
                f"invalid value for pre_slope_method, expected one of {list(PRE_SLOPE_METHODS)!r} (not {pre!r})"
            )
        if post not in ("least_squares", "two_point"):
            raise EndpointDataError(
                f"invalid value for post_slope_method, expected one of ['least_squares', 'two_point'] (not {post!r})"
            )
        if missing not in MISSING_POST_RULES:
            raise EndpointDataError(
                f"invalid value for missing_post_slope, expected one of {list(MISSING_POST_RULES)!r} (not {missing!r})"
            )
        return cls(pre_method=pre, post_method=post, missing_post=missing)

    def __str__(self) -> str:
        names = {"least_squares": "least squares", "two_point": "two-point", "onset_dfs": "onset-based ΔFS"}
        return (
            f"pre-treatment slope: {names[self.pre_method]}; post-treatment slope: {names[self.post_method]}; "
            f"no post-treatment slope: {'non-responder' if self.missing_post == 'nonresponder' else 'excluded'}"
        )


def _period_slopes(period: pd.DataFrame, method: str) -> pd.DataFrame:
    """Per-subject ``slope`` and visit count ``n`` of one period (rows sorted by subject, day).

    Vectorised over subjects: least squares from centred sums, two-point from the first and last
    visit. Fewer than two visits, or all on one day, gives NaN.
    """
    g = period.groupby("_s", sort=False)
    n = g["_m"].size()
    span = g["_m"].max() - g["_m"].min()
    if method == "least_squares":
        xc = period["_m"] - g["_m"].transform("mean")
        yc = period["_y"] - g["_y"].transform("mean")
        sxy = (xc * yc).groupby(period["_s"], sort=False).sum()
        sxx = (xc * xc).groupby(period["_s"], sort=False).sum()
        slope = sxy / sxx.where(span > 0)
    else:
        first, last = g.first(), g.last()
        slope = (last["_y"] - first["_y"]) / (last["_m"] - first["_m"]).where(span > 0)
    slope = slope.where(n >= 2)
    return pd.DataFrame({"slope": slope.astype(float), "n": n})


def pre_treatment_slopes(
    long: pd.DataFrame,
    rule: SlopeRule,
    *,
    subject: str,
    day: str,
    score: str,
    baseline_day: float = 0.0,
    months_since_onset: Mapping[Any, float] | pd.Series | None = None,
) -> pd.Series:
    """Per-subject pre-treatment slope under ``rule`` (points/month, negative = decline).

    The one definition behind ADSL.PRESLOPE in every analysis path; equal to the ``pre_slope``
    column of :func:`derive_pre_post_slopes` with the same rule.
    """
    slopes = derive_pre_post_slopes(
        long,
        subject=subject,
        day=day,
        score=score,
        baseline_day=baseline_day,
        method=rule.post_method,
        pre_method=rule.pre_method,
        months_since_onset=months_since_onset,
    )
    return slopes.set_index(subject)["pre_slope"]


def derive_pre_post_slopes(
    long: pd.DataFrame,
    *,
    subject: str,
    day: str,
    score: str,
    baseline_day: float = 0.0,
    endpoint_day: float | None = None,
    method: SlopeMethod = "two_point",
    pre_method: PreSlopeMethod | None = None,
    months_since_onset: Mapping[Any, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """Return one row per subject: ``baseline_score, pre_slope, post_slope, slope_change, n_pre, n_post``.

    ``day`` counts days from first treatment (baseline at ``baseline_day``). The baseline visit is
    a subject's last visit on or before ``baseline_day``; it closes the pre-treatment period
    (all visits up to it: screening … baseline) and opens the post-treatment period (baseline …
    last visit on or before ``endpoint_day``, e.g. 196 for week 28). ``two_point`` joins the
    first and last visit of a period; ``least_squares`` fits a line through all of them. A
    period with fewer than two visits gives NaN. ``slope_change`` = post − pre, so a patient
    who progresses more slowly after treatment has a positive change.

    ``pre_method`` (default: ``method``) may differ for the pre-treatment period; ``onset_dfs``
    uses ``months_since_onset`` (subject → months from symptom onset to the baseline visit) and
    gives −(48 − baseline score) / months, Kimura's ΔFS with the slope's sign.
    """
    if method not in ("two_point", "least_squares"):
        raise EndpointDataError(
            f"invalid value for method, expected one of 'two_point', 'least_squares' (not {method!r})"
        )
    pre_method = method if pre_method is None else pre_method
    if pre_method not in PRE_SLOPE_METHODS:
        raise EndpointDataError(
            f"invalid value for pre_method, expected one of {list(PRE_SLOPE_METHODS)!r} (not {pre_method!r})"
        )
    onset: pd.Series | None = None
    if pre_method == "onset_dfs":
        if months_since_onset is None:
            raise EndpointDataError("pre_method 'onset_dfs' needs months_since_onset (subject -> months at baseline)")
        onset = pd.Series(months_since_onset, dtype=float)
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
    subjects = pd.Index(pd.unique(data["_s"])).sort_values()
    pre = data[data["_d"] <= baseline_day]
    base_day = pre.groupby("_s", sort=False)["_d"].max()
    bd = data["_s"].map(base_day)
    in_post = data["_d"] >= bd  # NaN baseline (no pre-treatment visit) compares False
    if endpoint_day is not None:
        in_post &= data["_d"] <= endpoint_day
    post = data[in_post.to_numpy()]
    pre_stats = _period_slopes(pre, "two_point" if pre_method == "onset_dfs" else pre_method)
    post_stats = _period_slopes(post, method)
    out = pd.DataFrame(index=subjects)
    out["baseline_score"] = pre.groupby("_s", sort=False)["_y"].last().reindex(subjects)
    out["pre_slope"] = pre_stats["slope"].reindex(subjects)
    out["post_slope"] = post_stats["slope"].reindex(subjects)
    out["n_pre"] = pre_stats["n"].reindex(subjects).fillna(0).astype(int)
    out["n_post"] = post_stats["n"].reindex(subjects).fillna(0).astype(int)
    if onset is not None:
        months = onset.reindex(subjects).to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            dfs = -(MAX_TOTAL - out["baseline_score"].to_numpy(dtype=float)) / months
        out["pre_slope"] = np.where(months > 0, dfs, np.nan)
    out = out.rename_axis("subject").reset_index()
    out["slope_change"] = out["post_slope"] - out["pre_slope"]
    return out.rename(columns={"subject": subject})

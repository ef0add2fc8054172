"""Responder (unadjusted and adjusted) and CAFS analyses read straight from simulated trials as arrays.

For a chunk of trials simulated by :func:`alstrial.simulate.batch.simulate_cohorts`, the slopes
and the time-to-event data of every trial are computed at once (trial × participant × visit),
and each trial's test is the statistics engine's own (``responder_analysis``, ``cafs_test``) on
a one-row-per-participant frame: no cohort frames, no analysis datasets. The definitions are
those of the analysis plan on ``datasets_from_cohort``'s datasets (tests check the two paths give
the same results on the same trials):

- pre-treatment slope: the protocol's slope rule over screening, run-in and baseline (least
  squares, two-point, or onset-based ΔFS); post-treatment slope: the rule's method over the
  visits attended from baseline to the primary visit; a participant with fewer than two
  post-treatment visits has no slope (excluded, or a non-responder, as the rule says); a
  composite intercurrent event of the responder's estimand (death, permanent ventilation)
  recorded on or before the endpoint's visit is a non-response, as in the plan;
- CAFS: change from baseline at every post-baseline visit attended by someone, and the first
  of death, permanent ventilation or tracheostomy on or after day 0, censored at dropout or the
  primary visit.

The adjusted responder analyses (``responder``, ``responder_nonresponder``) use the plan's
covariates from the arrays: baseline ALSFRS-R total, months since onset, onset region, riluzole
and the pre-treatment slope. A protocol whose responder endpoint names another covariate keeps
the per-trial path. The composite strategy's non-responses are the same for all three.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from alstrial.analysis.plan import RESPONDER_COVARIATES, AnalysisPlan
from alstrial.analysis.slope_rule import slope_rule
from alstrial.design.cohort_datasets import visit_code
from alstrial.design.power.analyses import Outcome, guarded
from alstrial.design.power.intercurrent import composite_failures, last_visit_day, recorded_days
from alstrial.protocol.models import Protocol
from alstrial.simulate.batch import CohortArrays
from alstrial.stats.cafs import cafs_test
from alstrial.stats.responder import responder_analysis
from alstrial.stats.responder_slopes import DAYS_PER_MONTH, MAX_TOTAL

ARRAY_ANALYSES = ("responder_unadjusted", "responder", "responder_nonresponder", "cafs")
#: the adjusted responder analyses and the missing-slope rule each overrides (None: the protocol's)
ADJUSTED_RESPONDER = {"responder": None, "responder_nonresponder": "nonresponder"}
#: the responder covariates the arrays hold (``responder_frame``'s column names)
ARRAY_COVARIATES = ("BASEALS", "MOSONSET", "ONSETREG", "RILUZFL", "PRESLOPE")
#: the events that end follow-up for the CAFS (``datasets_from_cohort``'s ADTTE)
CAFS_EVENTS = ("death", "pav", "tracheostomy")


def array_analyses_supported(protocol: Protocol) -> bool:
    """Whether the array definitions equal the plan's for ``protocol``'s simulated visits.

    Needs every simulated ALSFRS-R and CSF day from day 0 on to fall in its own ALSFRS-R visit
    (as ``datasets_from_cohort`` assigns visits), so that visits are the array's columns, and
    the responder endpoint's covariates to be ones the arrays hold.
    """
    v = protocol.simulation.visits
    days = [int(d) for d in v.alsfrs_days]
    codes = [visit_code(protocol, d) for d in days]
    csf = [int(d) for d in v.csf_days if d >= 0]
    covariates = set(responder_covariates(protocol)) <= set(ARRAY_COVARIATES)
    return len(set(codes)) == len(codes) and set(csf) <= set(days) and covariates


def responder_covariates(protocol: Protocol) -> list[str]:
    """The responder endpoint's covariate columns, as ``AnalysisPlan.responder_frame`` names them."""
    endpoint = next((e for e in protocol.endpoints if e.method == "responder"), None)
    names = endpoint.parameters.get("covariates", list(RESPONDER_COVARIATES)) if endpoint else []
    return [RESPONDER_COVARIATES.get(n, n) for n in names]


def _period_slope(months: np.ndarray, y: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
    """Per participant slope over the masked visits, columns in day order
    (``responder_slopes._period_slopes``: fewer than two visits or one day only gives NaN)."""
    months = np.broadcast_to(months, y.shape)
    n = mask.sum(axis=-1)
    k = mask.shape[-1]
    first = np.argmax(mask, axis=-1)[..., None]
    last = (k - 1 - np.argmax(mask[..., ::-1], axis=-1))[..., None]
    fm, lm = np.take_along_axis(months, first, -1)[..., 0], np.take_along_axis(months, last, -1)[..., 0]
    span = lm - fm
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "least_squares":
            mx = np.where(mask, months, 0.0).sum(axis=-1) / n
            my = np.where(mask, y, 0.0).sum(axis=-1) / n
            xc = np.where(mask, months - mx[..., None], 0.0)
            yc = np.where(mask, y - my[..., None], 0.0)
            slope = (xc * yc).sum(axis=-1) / (xc * xc).sum(axis=-1)
        else:
            fy, ly = np.take_along_axis(y, first, -1)[..., 0], np.take_along_axis(y, last, -1)[..., 0]
            slope = (ly - fy) / span
    return np.where((n >= 2) & (span > 0), slope, np.nan)


def slopes(trials: CohortArrays, protocol: Protocol, primary_day: float) -> tuple[np.ndarray, np.ndarray]:
    """(R, n) pre- and post-treatment slopes by the protocol's rule (NaN where undefined)."""
    rule = slope_rule(protocol)
    v = protocol.simulation.visits
    base = trials.total[:, :, 0].astype(float)
    if rule.pre_method == "onset_dfs":
        months = trials.months_since_onset
        with np.errstate(divide="ignore", invalid="ignore"):
            pre = np.where(months > 0, -(MAX_TOTAL - base) / months, np.nan)
    else:
        pre_days = np.array([v.screening_day, v.runin_day, 0.0]) / DAYS_PER_MONTH
        pre_y = np.stack([trials.screening_total, trials.runin_total, base], axis=-1).astype(float)
        pre = _period_slope(pre_days, pre_y, np.ones(pre_y.shape, dtype=bool), rule.pre_method)
    days = trials.visit_days
    post_mask = trials.attended & (days <= primary_day)[None, None, :]
    post = _period_slope(days / DAYS_PER_MONTH, trials.total.astype(float), post_mask, rule.post_method)
    return pre, post


def _responder(
    plan: AnalysisPlan, columns: dict[str, np.ndarray], covariates: list[str], missing: str | None
) -> Outcome:
    endpoint = next(e for e in plan.protocol.endpoints if e.method == "responder")
    r = responder_analysis(
        pd.DataFrame(columns),
        arm="ARM",
        slope_change="SLOPECHG",
        covariates=covariates,
        threshold=float(endpoint.parameters.get("threshold_points_per_month", 1.25)),
        reference=plan.reference,
        missing=missing or slope_rule(plan.protocol).missing_post,  # type: ignore[arg-type]
    )
    rates = r.proportions.set_index("arm")["proportion"]
    return Outcome(r.log_odds_ratio, r.std_error, r.p_value, float(rates.iloc[0]), float(rates.iloc[1]))


def cafs_inputs(trials: CohortArrays, primary_day: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(R, n) CAFS time and event indicator, (R, n, m - 1) change and (R, m - 1) visit present."""
    day = np.full(trials.dropout_day.shape, np.inf)
    for name in CAFS_EVENTS:
        e = trials.events[name]
        day = np.fmin(day, np.where(e >= 0, e, np.inf))
    last_contact = np.minimum(np.where(np.isnan(trials.dropout_day), primary_day, trials.dropout_day), primary_day)
    has_event = np.isfinite(day) & (day <= last_contact)
    time = np.where(has_event, day, last_contact)
    attended = trials.attended[:, :, 1:]
    return time, np.asarray(has_event), trials.change(), np.asarray(attended.any(axis=1))


def _cafs(
    plan: AnalysisPlan,
    codes: list[str],
    arm: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    change: np.ndarray,
    present: np.ndarray,
) -> Outcome:
    visits = [c for c, keep in zip(codes, present, strict=True) if keep]
    frame = pd.DataFrame({"USUBJID": np.arange(arm.size), "ARM": arm, "AVAL": time, "EVENT": event.astype(int)})
    for j, c in enumerate(codes):
        if present[j]:
            frame[c] = change[:, j]
    r = cafs_test(
        frame, arm="ARM", time="AVAL", event="EVENT", change=visits, subject="USUBJID", reference=plan.reference
    )
    return Outcome(r.statistic, r.variance**0.5, r.p_value)


def array_rows(plan: AnalysisPlan, trials: CohortArrays, names: list[str]) -> list[dict[str, dict[str, Any]]]:
    """For each trial, ``{analysis: row}`` of the ``ARRAY_ANALYSES`` in ``names`` (run_analysis' rows)."""
    protocol = plan.protocol
    primary_day = float(protocol.visit(plan.primary_visit).day)
    out: list[dict[str, dict[str, Any]]] = [{} for _ in range(trials.n_trials)]
    if {"responder_unadjusted", *ADJUSTED_RESPONDER} & set(names):
        endpoint = next(e for e in protocol.endpoints if e.method == "responder")
        pre, post = slopes(trials, protocol, primary_day)
        # composite strategy: a recorded event on or before the endpoint's visit is a non-response
        recorded = recorded_days(trials.events, trials.dropout_day, last_visit_day(protocol))
        day = float(protocol.visit(endpoint.visit or plan.primary_visit).day)
        change = np.where(composite_failures(protocol, endpoint.id, day, recorded), -np.inf, post - pre)
    if "responder_unadjusted" in names:
        for r in range(trials.n_trials):
            job = partial(_responder, plan, {"ARM": trials.arm[r], "SLOPECHG": change[r]}, [], None)
            out[r]["responder_unadjusted"] = guarded("responder_unadjusted", job)
    covariates = responder_covariates(protocol)
    for name, missing in ADJUSTED_RESPONDER.items():
        if name not in names:
            continue
        for r in range(trials.n_trials):
            columns = {
                "ARM": trials.arm[r],
                "SLOPECHG": change[r],
                "BASEALS": trials.baseline_total[r].astype(float),
                "MOSONSET": trials.months_since_onset[r].astype(float),
                "ONSETREG": trials.onset_region[r],
                "RILUZFL": trials.riluzole[r].astype(int),
                "PRESLOPE": pre[r],
            }
            out[r][name] = guarded(name, partial(_responder, plan, columns, covariates, missing))
    if "cafs" in names:
        codes = [visit_code(protocol, int(d)) for d in trials.visit_days[1:]]
        time, event, chg, present = cafs_inputs(trials, primary_day)
        for r in range(trials.n_trials):
            job = partial(_cafs, plan, codes, trials.arm[r], time[r], event[r], chg[r], present[r])
            out[r]["cafs"] = guarded("cafs", job)
    return out

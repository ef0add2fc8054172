"""Eligibility evaluated on simulated screening data, criterion by criterion, as a site would."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alstrial.protocol.simulation import EL_ESCORIAL_CATEGORIES, SimulationParams
from alstrial.simulate.latent import DAYS_PER_MONTH, LatentBatch

CRITERIA = (
    "age_in_range",
    "el_escorial",
    "onset_within_limit",
    "alsfrs_r_at_screening",
    "svc_at_screening",
    "runin_decline",
    "no_prior_stem_cell",
    "alive_at_baseline",
)


def eligibility_flags(
    params: SimulationParams,
    batch: LatentBatch,
    screening_total: np.ndarray,
    screening_svc: np.ndarray,
    runin_total: np.ndarray,
    death_day: np.ndarray,
) -> dict[str, np.ndarray]:
    """A bool array per criterion (True = met), in ``CRITERIA`` order, plus ``eligible``.

    ALSFRS-R >= minimum and SVC are judged at the screening visit (SCR); the run-in decline is
    the SCR total minus the total at the run-in visit (RUNIN), where eligibility is confirmed.
    """
    el = params.eligibility
    months = (params.visits.screening_day - batch.onset_day) / DAYS_PER_MONTH
    allowed = np.isin(np.asarray(EL_ESCORIAL_CATEGORIES)[batch.el_escorial], el.allowed_el_escorial)
    ok = {
        "age_in_range": (batch.age >= el.age_min_years) & (batch.age <= el.age_max_years),
        "el_escorial": allowed,
        "onset_within_limit": months <= el.max_months_since_onset,
        "alsfrs_r_at_screening": screening_total >= el.min_alsfrs_r_at_screening,
        "svc_at_screening": screening_svc >= el.min_svc_pct,
        "runin_decline": (screening_total - runin_total) >= el.min_runin_decline_points,
        "no_prior_stem_cell": el.allow_prior_stem_cell | ~batch.prior_stem_cell,
        "alive_at_baseline": ~(death_day <= 0),
    }
    ok = {k: np.broadcast_to(np.asarray(v, dtype=bool), (batch.n,)) for k, v in ok.items()}
    ok["eligible"] = np.logical_and.reduce([ok[c] for c in CRITERIA]) if batch.n else np.zeros(0, dtype=bool)
    return ok


def eligibility_frame(flags: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per candidate: a bool column per criterion, ``eligible`` and ``failed`` (names)."""
    df = pd.DataFrame({k: flags[k] for k in (*CRITERIA, "eligible")})
    names = np.asarray(CRITERIA, dtype=object)
    flags_failed = ~df[list(CRITERIA)].to_numpy()
    df["failed"] = [",".join(names[row]) for row in flags_failed]
    return df


def evaluate_eligibility(
    params: SimulationParams,
    batch: LatentBatch,
    screening_total: np.ndarray,
    screening_svc: np.ndarray,
    runin_total: np.ndarray,
    death_day: np.ndarray,
) -> pd.DataFrame:
    """One row per candidate: a bool column per criterion, ``eligible`` and ``failed`` (names)."""
    return eligibility_frame(eligibility_flags(params, batch, screening_total, screening_svc, runin_total, death_day))

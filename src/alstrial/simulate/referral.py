"""Who gets screened: sites refer patients who looked eligible in their last clinic visit.

Screen failures in the seed trial were only ~25 %, mostly SVC or run-in decline just missed,
so screened candidates are not a random ALS population: sites pre-select on clinic records. We
model that as rejection sampling on a noisy clinic assessment at the time of screening.
"""

from __future__ import annotations

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.latent import DAYS_PER_MONTH, LatentBatch, draw_latent
from alstrial.simulate.natural_history import disease_time, latent_total, vital_capacity


def referred(params: SimulationParams, batch: LatentBatch, rng: np.random.Generator) -> np.ndarray:
    """(n,) bool: would a site refer this patient to screening?"""
    pop = params.population
    day = float(params.visits.screening_day) - pop.referral_visit_days_before_screening
    tau = disease_time(batch, np.array([day - pop.referral_lookback_days, day]))
    months = (day - batch.onset_day) / DAYS_PER_MONTH
    z = rng.standard_normal((3, batch.n))
    totals = latent_total(batch, tau) + 4.0
    earlier = totals[:, 0] + pop.referral_total_sd * z[2]
    total = totals[:, 1] + pop.referral_total_sd * z[0]
    svc = vital_capacity(batch, tau)[:, 1] + pop.referral_svc_sd_pct * z[1]
    dfs = (48.0 - total) / np.maximum(months, 0.1)
    return (
        (total >= pop.referral_min_total)
        & (svc >= pop.referral_min_svc_pct)
        & (dfs >= pop.referral_min_dfs_per_month)
        & (earlier - total >= pop.referral_min_recent_decline_points)
        & (months <= pop.referral_max_months_since_onset)
    )


def draw_candidates(params: SimulationParams, n: int, rng: np.random.Generator) -> LatentBatch:
    """``n`` referred candidates (latent state), in referral order."""
    got: list[LatentBatch] = []
    have = 0
    while have < n:
        m = max(64, 6 * (n - have))
        batch = draw_latent(params, m, rng)
        keep = batch.take(referred(params, batch, rng))
        got.append(keep)
        have += keep.n
    return LatentBatch.concat(got).take(slice(0, n))

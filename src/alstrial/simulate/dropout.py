"""Discontinuation after the first dose: MCAR, MAR or MNAR hazards with sex and age effects.

Between consecutive scheduled visits a participant leaves with probability 1 - exp(-h * months):
h = base * HR_male * HR_age_band * exp(mechanism term), where the mechanism term is 0 (MCAR), a
multiple of the decline *observed* so far (MAR), or of the *latent* decline over the coming
interval, which no one observes (MNAR). Death before the last visit also ends follow-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alstrial.protocol.simulation import DROPOUT_REASONS, SimulationParams
from alstrial.simulate.latent import DAYS_PER_MONTH, LatentBatch


@dataclass(frozen=True)
class DropoutDraws:
    """The uniforms that decide dropout: one per interval, one for the day, one for the reason."""

    interval: np.ndarray  # (n, m - 1)
    within: np.ndarray  # (n,)
    reason: np.ndarray  # (n,)

    @staticmethod
    def draw(n: int, n_visits: int, rng: np.random.Generator) -> DropoutDraws:
        u = rng.random((n, n_visits + 1))
        return DropoutDraws(interval=u[:, : n_visits - 1], within=u[:, n_visits - 1], reason=u[:, n_visits])


def covariate_hazard(params: SimulationParams, batch: LatentBatch) -> np.ndarray:
    """(n,) dropout hazard per month before the mechanism term."""
    dp = params.dropout
    lo, hi = dp.age_band_years
    hr = np.where(batch.female, 1.0, dp.male_hazard_ratio)
    hr = hr * np.where((batch.age >= lo) & (batch.age < hi), dp.age_band_hazard_ratio, 1.0)
    return dp.base_per_month * hr


def draw_dropout(
    params: SimulationParams,
    batch: LatentBatch,
    visit_days: np.ndarray,
    observed_total: np.ndarray,
    latent_total: np.ndarray,
    death_day: np.ndarray,
    draws: DropoutDraws,
) -> tuple[np.ndarray, np.ndarray]:
    """(dropout day or NaN, reason or '') per participant; ``visit_days[0]`` is baseline."""
    dp = params.dropout
    n = batch.n
    days = np.asarray(visit_days, dtype=float)
    base = covariate_hazard(params, batch)
    day = np.full(n, np.nan)
    for k in range(1, days.shape[0]):
        dt = (days[k] - days[k - 1]) / DAYS_PER_MONTH
        if dp.mechanism == "mar" and k > 1:
            months = (days[k - 1] - days[0]) / DAYS_PER_MONTH
            term = dp.mar_per_point_per_month * (observed_total[:, 0] - observed_total[:, k - 1]) / months
        elif dp.mechanism == "mnar":
            term = dp.mnar_per_point_per_month * (latent_total[:, k - 1] - latent_total[:, k]) / dt
        else:
            term = np.zeros(n)
        p = 1.0 - np.exp(-base * np.exp(term) * dt)
        leave = np.isnan(day) & (draws.interval[:, k - 1] < p)
        offset = np.maximum(np.ceil(draws.within * (days[k] - days[k - 1])), 1.0)
        day = np.where(leave, days[k - 1] + offset, day)
    w = np.array([dp.reason_weights.get(r, 0.0) for r in DROPOUT_REASONS])
    idx = np.searchsorted(np.cumsum(w / w.sum()), draws.reason, side="right")
    reason = np.asarray(DROPOUT_REASONS, dtype=object)[np.minimum(idx, len(w) - 1)]
    died = ~np.isnan(death_day) & (death_day <= days[-1]) & ~(day < death_day)
    day = np.where(died, np.ceil(death_day), day)
    reason = np.where(died, "death", np.where(np.isnan(day), "", reason))
    return day, reason.astype(object)

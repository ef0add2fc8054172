"""Treatment effects of the active arm: slope (by baseline severity), biomarkers, survival.

Every effect is applied as a transformation of the placebo model driven by the same random
numbers, and an effect of exactly 0 (hazard ratio 1) is skipped, so zero effect is exactly zero.
"""

from __future__ import annotations

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.latent import LatentBatch
from alstrial.simulate.natural_history import latent_slope_at_baseline, slowing_fraction


def slope_effect(params: SimulationParams, baseline_total: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(n,) slowing of ALSFRS-R decline in points/month (0 for placebo)."""
    tr = params.treatment
    high = baseline_total >= tr.severity_threshold_total
    eff = np.where(high, tr.effect_slope_high_points_per_month, tr.effect_slope_points_per_month)
    return np.where(active, eff, 0.0)


def clock_slowing(
    params: SimulationParams, batch: LatentBatch, baseline_total: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """(n,) fraction of the disease clock removed after the first dose."""
    eff = slope_effect(params, baseline_total, active)
    if not np.any(eff):
        return np.zeros(batch.n)
    horizon = float(max(params.visits.alsfrs_days[-1], 28))
    return slowing_fraction(eff, latent_slope_at_baseline(batch, horizon))


def death_hazard_ratio(params: SimulationParams, active: np.ndarray) -> np.ndarray:
    return np.where(active, params.treatment.survival_hazard_ratio, 1.0)


def dose_ramp(days: np.ndarray, dose_days: tuple[int, ...], ramp_days: float) -> np.ndarray:
    """Fraction (0-1) of the full biomarker effect reached by each day.

    Each dose contributes an equal share that ramps in linearly over ``ramp_days`` after the
    dose; a sample taken on a dose day is pre-dose, so that dose has not contributed yet.
    """
    d = np.asarray(days, dtype=float)
    share = np.zeros_like(d)
    for dose in dose_days:
        if ramp_days > 0:
            share += np.clip((d - dose) / ramp_days, 0.0, 1.0)
        else:
            share += (d > dose).astype(float)
    return share / len(dose_days)


def biomarker_factor(params: SimulationParams, marker: str, days: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(n, m) multiplicative effect on a biomarker (1 for placebo or zero effect)."""
    frac = float(getattr(params.treatment, f"{marker}_fraction"))
    d = np.broadcast_to(np.asarray(days, dtype=float), (active.shape[0], np.shape(days)[-1]))
    if frac == 0.0:
        return np.ones(d.shape)
    ramp = dose_ramp(d, params.visits.dose_days, params.treatment.biomarker_ramp_days)
    return np.where(active[:, None], 1.0 + frac * ramp, 1.0)

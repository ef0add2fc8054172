"""What a site would record at a visit: ALSFRS-R items, total and SVC, from the latent state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.latent import N_LATENT_ITEMS, LatentBatch
from alstrial.simulate.natural_history import (
    assemble_items,
    disease_time,
    item12_score,
    latent_items,
    observe_items,
    total_score,
    vital_capacity,
)


@dataclass(frozen=True)
class VisitNoise:
    """Rater noise per latent item and SVC measurement noise for (n, m) visits."""

    items: np.ndarray  # (n, m, 11)
    svc: np.ndarray  # (n, m)

    @staticmethod
    def draw(
        params: SimulationParams, n: int, m: int, rng: np.random.Generator, days: np.ndarray | None = None
    ) -> VisitNoise:
        """Noise for ``m`` visits; a visit on the screening day gets the screening rating shift."""
        prog = params.progression
        z = rng.standard_normal((n, m, N_LATENT_ITEMS + 1))
        items = _item_noise(params, z[:, :, :N_LATENT_ITEMS], rng, days)
        return VisitNoise(items=items, svc=prog.vc_measurement_sd_pct * z[:, :, N_LATENT_ITEMS])


def item_noise(params: SimulationParams, n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """(n, m, 11) rater noise of the items alone, as in ``VisitNoise.draw`` (for clinic visits that
    need no SVC: fewer draws)."""
    return _item_noise(params, rng.standard_normal((n, m, N_LATENT_ITEMS)), rng, None)


def _item_noise(
    params: SimulationParams, z: np.ndarray, rng: np.random.Generator, days: np.ndarray | None
) -> np.ndarray:
    prog = params.progression
    n, m, _ = z.shape
    items = prog.rater_noise_sd_points * z
    if prog.visit_noise_sd_points:
        # one shock per visit shared by every item (rater, day, fatigue): heavy-tailed, so totals
        # often stay put and sometimes jump together
        shared = prog.visit_noise_sd_points * rng.standard_t(prog.visit_noise_df, size=(n, m, 1))
        items += shared
    if days is not None and prog.screening_item_bias_points:
        at_screening = np.asarray(days, dtype=float) == params.visits.screening_day
        items += np.where(at_screening, prog.screening_item_bias_points, 0.0)[:, None]
    return items


@dataclass(frozen=True)
class Observations:
    """(n, m) arrays of what is measured at the given days (whether or not the visit happens).

    ``items`` is empty when the caller asked for totals only (``observe(..., items=False)``).
    """

    days: np.ndarray
    items: dict[str, np.ndarray]
    total: np.ndarray
    svc: np.ndarray
    latent_total: np.ndarray


def observe(
    batch: LatentBatch,
    days: np.ndarray,
    events: dict[str, np.ndarray],
    noise: VisitNoise,
    slowing: np.ndarray | None = None,
    *,
    items: bool = True,
) -> Observations:
    """What is measured on ``days``; ``items=False`` skips the item columns (totals are the same)."""
    d = np.broadcast_to(np.asarray(days, dtype=float), (batch.n, np.shape(days)[-1]))
    tau = disease_time(batch, d, slowing)
    latent = latent_items(batch, tau)
    obs11 = observe_items(latent, noise.items)
    q12 = item12_score(d, events["niv"], events["pav"], events["tracheostomy"])
    return Observations(
        days=d,
        items=assemble_items(obs11, q12, d, events["gastrostomy"]) if items else {},
        total=total_score(obs11, q12),
        svc=np.maximum(vital_capacity(batch, tau) + noise.svc, 0.0),
        latent_total=latent.sum(axis=2) + q12,
    )

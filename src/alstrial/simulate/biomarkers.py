"""CSF biomarker samples (NfL, VEGF, MCP-1): set point x biological and assay noise x effect.

Values below the assay's LLOQ are reported as missing with a flag, as a lab would report them.
"""

from __future__ import annotations

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.latent import MARKERS, LatentBatch
from alstrial.simulate.treatment import biomarker_factor


def biomarker_noise(params: SimulationParams, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(len(MARKERS), n, m) log-scale noise: within-person biology plus assay CV."""
    out = np.empty((len(MARKERS), *shape))
    for j, name in enumerate(MARKERS):
        m = getattr(params.biomarkers, name)
        sd = np.sqrt(m.sigma_log_within**2 + np.log1p(m.assay_cv**2))
        out[j] = sd * rng.standard_normal(shape)
    return out


def biomarker_values(
    params: SimulationParams, batch: LatentBatch, days: np.ndarray, active: np.ndarray, noise: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """marker -> ((n, m) measured pg/mL with NaN below LLOQ, (n, m) below-LLOQ flag)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j, name in enumerate(MARKERS):
        m = getattr(params.biomarkers, name)
        value = np.exp(batch.marker_level[:, j : j + 1] + noise[j]) * biomarker_factor(params, name, days, active)
        blq = value < m.lloq_pg_ml
        out[name] = (np.where(blq, np.nan, value), blq)
    return out

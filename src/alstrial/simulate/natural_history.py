"""Deterministic natural history: the disease clock, latent item scores, VC, and observed items.

The disease clock tau(t) = rate * (t + curvature * t^2 / 2) (t = effective months since onset,
i.e. calendar months weighted by the participant's short-term speed multiplier) drives
every latent quantity, so a treatment that slows the clock slows items, VC and event hazards
consistently. Latent item k falls linearly once tau passes its delay and is floored at 0;
observed items add rater noise and round, which is what makes floor effects appear by
themselves rather than by clipping a Gaussian total.
"""

from __future__ import annotations

import numpy as np

from alstrial.simulate.latent import DAYS_PER_MONTH, LatentBatch

#: ALSFRS-R item labels in the order of the latent slots (q5 is labelled 5a or 5b by gastrostomy)
ITEM_COLUMNS = ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
#: days on NIV after which item 12 moves from 'intermittent' (3) to 'continuous at night' (2)
NIV_NIGHT_CONTINUOUS_DAYS = 120.0


def _as_grid(batch: LatentBatch, days: np.ndarray | float) -> np.ndarray:
    d = np.asarray(days, dtype=float)
    if d.ndim == 0:
        return np.full((batch.n, 1), float(d))
    if d.ndim == 1:
        return np.broadcast_to(d, (batch.n, d.shape[0]))
    return d


def months_since_onset(batch: LatentBatch, days: np.ndarray | float) -> np.ndarray:
    """(n, m) months from symptom onset to each day (0 before onset)."""
    d = _as_grid(batch, days)
    return np.maximum((d - batch.onset_day[:, None]) / DAYS_PER_MONTH, 0.0)


def _shared_row(batch: LatentBatch, d: np.ndarray) -> np.ndarray | None:
    """The one row of days every participant shares, when the grid's start and step are shared too.

    Then the position on the speed grid is the same for every row and is computed once, on one
    row: the same floating-point operations on the same numbers, so the same bits.
    """
    if d.ndim != 2 or d.shape[0] < 2 or d.strides[0] != 0:
        return None
    start, step = batch.speed_start_day, batch.speed_step_days
    if not (np.all(start == start[0]) and np.all(step == step[0])):
        return None
    return d[:1]


def _elapsed(batch: LatentBatch, d: np.ndarray) -> np.ndarray:
    """(n, m) effective months from the start of the speed grid to each day (multiplier 1 outside)."""
    cum = batch.speed_cum
    k = cum.shape[1] - 1
    row = _shared_row(batch, d)
    if row is not None:
        d = row
        start, step = batch.speed_start_day[:1, None], batch.speed_step_days[:1, None]
    else:
        start, step = batch.speed_start_day[:, None], batch.speed_step_days[:, None]
    x = d - start
    x /= step
    xc = np.clip(x, 0.0, float(k))
    # (x - xc) * step / DAYS_PER_MONTH: the months outside the grid, in place on x
    x -= xc
    x *= step
    x /= DAYS_PER_MONTH
    if k == 1:  # no speed fluctuation: one segment, the same arithmetic without the index lookups
        lo, hi = cum[:, :1], cum[:, 1:]
        out = (hi - lo) * xc
    else:
        j = np.minimum(np.floor(xc).astype(np.intp), k - 1)
        if row is not None:
            lo, hi = cum[:, j[0]], cum[:, j[0] + 1]
        else:
            lo = np.take_along_axis(cum, j, axis=1)
            hi = np.take_along_axis(cum, j + 1, axis=1)
        xc -= j
        out = hi - lo
        out *= xc
    out += lo
    out += x
    return out


def effective_months_since_onset(batch: LatentBatch, days: np.ndarray | float) -> np.ndarray:
    """(n, m) months since onset weighted by the short-term speed multiplier (0 before onset)."""
    return _since_onset(batch, _as_grid(batch, days), _elapsed(batch, batch.onset_day[:, None]))


def _since_onset(batch: LatentBatch, d: np.ndarray, at_onset: np.ndarray) -> np.ndarray:
    """``effective_months_since_onset`` given ``_elapsed`` at each onset (n, 1)."""
    t = _elapsed(batch, d)
    t -= at_onset
    return np.maximum(t, 0.0, out=t)


def _clock(batch: LatentBatch, t: np.ndarray) -> np.ndarray:
    """rate * (t + curvature t^2 / 2), in place on ``t`` (a temporary of the caller's)."""
    kappa = batch.curvature[:, None]
    # a decelerating participant stops at the vertex of the parabola instead of improving
    if np.any(kappa < 0):
        t_cap = np.where(kappa < 0, -1.0 / np.where(kappa < 0, kappa, -1.0), np.inf)
        np.minimum(t, t_cap, out=t)
    # the same operations, in the same order, as rate * (t + 0.5 * kappa * t * t)
    q = (0.5 * kappa) * t
    q *= t
    q += t
    q *= batch.rate[:, None]
    return q


def disease_time(batch: LatentBatch, days: np.ndarray | float, slowing: np.ndarray | None = None) -> np.ndarray:
    """(n, m) disease clock at each day; ``slowing`` (n,) is the fraction removed after day 0.

    A slowing of exactly 0 leaves the clock bit-for-bit unchanged (zero effect is exactly zero).
    """
    d = _as_grid(batch, days)
    at_onset = _elapsed(batch, batch.onset_day[:, None])
    tau = _clock(batch, _since_onset(batch, d, at_onset))
    if slowing is None or not np.any(slowing):
        return tau
    tau0 = _clock(batch, _since_onset(batch, np.zeros((batch.n, 1)), at_onset))
    f = slowing[:, None]
    warped = tau - tau0
    warped *= 1.0 - f
    warped += tau0
    return np.where((d > 0) & (f != 0), warped, tau)


def latent_items(batch: LatentBatch, tau: np.ndarray, item: int | None = None) -> np.ndarray:
    """(n, m, 11) continuous latent scores of items 1-11 in [0, 4]; (n, m) of one item (0-10)."""
    # in place on one buffer: the same operations as clip(4 - rate * max(tau - delay, 0), 0, 4)
    if item is not None:
        rate = batch.item_rate[:, item : item + 1]
        x = tau - batch.item_delay[:, item : item + 1]
    else:
        rate = batch.item_rate[:, None, :]
        x = tau[:, :, None] - batch.item_delay[:, None, :]
    np.maximum(x, 0.0, out=x)
    np.multiply(x, rate, out=x)
    np.subtract(4.0, x, out=x)
    np.maximum(x, 0.0, out=x)
    # 4 - rate * y with rate, y >= 0 is at most 4 already: the upper clip only for negative rates
    if not np.all(rate >= 0):
        np.minimum(x, 4.0, out=x)
    return x


def latent_total(batch: LatentBatch, tau: np.ndarray) -> np.ndarray:
    """(n, m) latent sum of items 1-11 (item 12 depends on ventilation events, not the clock)."""
    return latent_items(batch, tau).sum(axis=2)


def vital_capacity(batch: LatentBatch, tau: np.ndarray) -> np.ndarray:
    """(n, m) latent vital capacity, % predicted, floored at 0."""
    # in place: the same operations as max(vc0 - vc_rate * max(tau - vc_delay, 0), 0)
    x = tau - batch.vc_delay[:, None]
    np.maximum(x, 0.0, out=x)
    x *= batch.vc_rate[:, None]
    np.subtract(batch.vc0[:, None], x, out=x)
    return np.maximum(x, 0.0, out=x)


def latent_slope_at_baseline(batch: LatentBatch, horizon_days: float = 196.0) -> np.ndarray:
    """(n,) placebo latent decline (points/month, positive = worsening) over the next horizon."""
    tau = disease_time(batch, np.array([0.0, horizon_days]))
    tot = latent_total(batch, tau)
    return (tot[:, 0] - tot[:, 1]) / (horizon_days / DAYS_PER_MONTH)


def slowing_fraction(effect_points_per_month: np.ndarray, latent_slope: np.ndarray) -> np.ndarray:
    """Fraction of the disease clock removed so the decline slows by ``effect`` points/month.

    Capped at 1 (a treatment halts but does not reverse progression) and at -2 for harm.
    """
    eff = np.asarray(effect_points_per_month, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(eff == 0, 0.0, eff / np.maximum(latent_slope, 1e-9))
    return np.clip(f, -2.0, 1.0)


def observe_items(latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Integer item scores: latent + rater noise, rounded, never outside 0-4."""
    x = latent + noise
    np.rint(x, out=x)
    return np.clip(x, 0, 4, out=x).astype(np.int8)


def item12_score(days: np.ndarray, niv_day: np.ndarray, pav_day: np.ndarray, trach_day: np.ndarray) -> np.ndarray:
    """Item 12 (respiratory insufficiency) follows ventilation events, which are facts, not ratings."""
    d = days
    niv, pav, tr = niv_day[:, None], pav_day[:, None], trach_day[:, None]
    score = np.full(d.shape, 4, dtype=np.int8)
    on_niv = d >= niv  # NaN compares False: never started
    score[on_niv] = 3
    score[on_niv & (d >= niv + NIV_NIGHT_CONTINUOUS_DAYS)] = 2
    score[d >= pav] = 1
    score[d >= tr] = 0
    return score


def assemble_items(
    observed11: np.ndarray, q12: np.ndarray, days: np.ndarray, gastrostomy_day: np.ndarray
) -> dict[str, np.ndarray]:
    """Item columns (float, NaN where not scored): q5b replaces q5a once a gastrostomy is placed."""
    obs = observed11.astype(float)
    g = days >= gastrostomy_day[:, None]
    cols: dict[str, np.ndarray] = {}
    for k in range(4):
        cols[f"q{k + 1}"] = obs[:, :, k]
    cols["q5a"] = np.where(g, np.nan, obs[:, :, 4])
    cols["q5b"] = np.where(g, obs[:, :, 4], np.nan)
    for k in range(5, 11):
        cols[f"q{k + 1}"] = obs[:, :, k]
    cols["q12"] = q12.astype(float)
    return cols


def total_score(observed11: np.ndarray, q12: np.ndarray) -> np.ndarray:
    """(n, m) ALSFRS-R total 0-48 (item 5 counted once, whichever of 5a/5b applies)."""
    return observed11.sum(axis=2, dtype=np.int16) + q12.astype(np.int16)

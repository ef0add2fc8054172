"""Intercurrent events (gastrostomy, NIV, permanent assisted ventilation, tracheostomy, death).

Each event has a hazard tied to the latent state: gastrostomy to the swallowing item, NIV to the
respiratory items and VC, death to respiratory and overall loss. An event happens when its
integrated hazard passes the participant's Exp(1) clock (drawn once in ``LatentBatch``), so the
same participant gets the same event days whichever path queries them.
"""

from __future__ import annotations

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.latent import DAYS_PER_MONTH, EVENT_NAMES, N_LATENT_ITEMS, LatentBatch
from alstrial.simulate.natural_history import disease_time, latent_items, vital_capacity


def exposure_after(edges: np.ndarray, start_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower bound day, months exposed) of each grid step (n, G) counted from ``start_day``."""
    lo = np.maximum(edges[None, :-1], start_day[:, None])
    return lo, np.maximum(edges[None, 1:] - lo, 0.0) / DAYS_PER_MONTH


def first_passage(
    hazard: np.ndarray,
    edges: np.ndarray,
    clock: np.ndarray,
    start_day: np.ndarray,
    *,
    alive_masked: bool = False,
) -> np.ndarray:
    """Day at which the integral of ``hazard`` (n, G; per month, piecewise constant on ``edges``)
    from ``start_day`` reaches ``clock``; NaN if never within the grid or if start is NaN.

    Rows with a NaN start are not computed (they have no exposure, so no passage).
    ``alive_masked`` says the hazard is exactly 0 on every step whose midpoint is before the
    start (as ``_on_grid`` masks it): then each step's exposure is the whole step except at the
    step holding the start, and the (n, G) exposure of ``exposure_after`` is not needed (a zero
    hazard times either exposure is the same 0).
    """
    out = np.full(hazard.shape[0], np.nan)
    rows = np.flatnonzero(~np.isnan(start_day))
    if rows.size == 0:
        return out
    if rows.size < hazard.shape[0]:
        hazard, clock, start_day = hazard[rows], clock[rows], start_day[rows]
    n, g = hazard.shape
    # column-major, so that the running sum below adds whole contiguous columns
    inc = np.empty((n, g), order="F")
    if alive_masked:
        step_months = np.maximum(edges[1:] - edges[:-1], 0.0) / DAYS_PER_MONTH  # a step after the start
        np.multiply(hazard, step_months, out=inc)
        # the step holding the start (its left edge before it): exposed from the start on; steps
        # before it end before the start, so their hazard (midpoint before it) is 0 either way
        first = np.searchsorted(edges[:-1], start_day, side="left") - 1
        r = np.flatnonzero(first >= 0)
        f = first[r]
        partial = np.maximum(edges[f + 1] - np.maximum(edges[f], start_day[r]), 0.0) / DAYS_PER_MONTH
        inc[r, f] = hazard[r, f] * partial
    else:
        _, exp_months = exposure_after(edges, start_day)
        np.multiply(hazard, exp_months, out=inc)
    cum = _running_sum(inc)
    hit = cum >= clock[:, None]
    any_hit = hit.any(axis=1)
    j = np.argmax(hit, axis=1)
    r = np.arange(n)
    before = cum[r, j] - inc[r, j]
    h = np.maximum(hazard[r, j], 1e-300)
    day = np.maximum(edges[j], start_day) + (clock - before) / h * DAYS_PER_MONTH
    out[rows] = np.where(any_hit, day, np.nan)
    return out


def _running_sum(inc: np.ndarray) -> np.ndarray:
    """``np.cumsum(inc, axis=1)`` bit for bit: the same additions in the same order (numpy's cumsum
    adds sequentially), column by column. On a column-major array each addition is one contiguous
    vector operation instead of numpy's element-by-element loop along each row: several times faster.
    """
    cum = np.empty_like(inc, order="F")
    if inc.shape[1]:
        cum[:, 0] = inc[:, 0]
    for j in range(1, inc.shape[1]):
        np.add(cum[:, j - 1], inc[:, j], out=cum[:, j])
    return cum


def _after_niv(
    base: float,
    per_point: float,
    resp_def: np.ndarray,
    niv: np.ndarray,
    edges: np.ndarray,
    clock: np.ndarray,
    *,
    bounded: bool = True,
) -> np.ndarray:
    """Event day of an event whose hazard starts at NIV (computed only for rows that started NIV).

    ``bounded`` skips the rows whose clock is above an upper bound of their integrated hazard
    (they have no event, so NaN, what the grid gives them): with a non-negative coefficient the
    hazard grows with the respiratory deficit, which only grows along the grid (as ``_possible``
    argues), so it is at most its last step's value over the whole exposure from NIV to the grid's
    end. Most candidates' NIV, before first dose, leaves too little exposure before screening ends.
    """
    out = np.full(niv.shape[0], np.nan)
    rows = np.flatnonzero(~np.isnan(niv))
    if bounded and rows.size and per_point >= 0:
        most = base * np.exp(per_point * resp_def[rows, -1]) * ((edges[-1] - niv[rows]) / DAYS_PER_MONTH)
        margin = 1.0 + 1e-9  # float rounding of a bound that holds exactly in real arithmetic
        rows = rows[most * margin >= clock[rows]]
    if rows.size:
        hazard = base * np.exp(per_point * resp_def[rows])
        out[rows] = first_passage(hazard, edges, clock[rows], niv[rows])
    return out


def grid_start(batch: LatentBatch) -> float:
    """First day of the hazard grid ``event_days`` uses for this batch (its earliest onset, floored).

    The grid depends on the batch, so a participant's event days are reproduced exactly only on
    the grid of the batch they were first computed in: pass this as ``start`` to a sub-batch.
    """
    return float(np.floor(np.min(batch.onset_day))) if batch.n else 0.0


def referred_grid_start(params: SimulationParams) -> float:
    """First day of one hazard grid for every referred candidate of a parameter set: the earliest
    onset referral allows, floored, less a day for rounding.

    A referred candidate's onset is at most ``onset_to_screening_max_months`` before screening
    (the truncation of its draw) and at most ``referral_max_months_since_onset`` before its last
    clinic visit, which falls at most one clinic interval before screening. One grid for all
    lets the candidates of many trials share each ``event_days`` call, and makes a candidate's
    event days independent of who was drawn beside it (``grid_start`` depends on the batch).
    """
    pop, day = params.population, float(params.visits.screening_day)
    earliest = max(
        day - pop.onset_to_screening_max_months * DAYS_PER_MONTH,
        day - pop.referral_clinic_interval_days - pop.referral_max_months_since_onset * DAYS_PER_MONTH,
    )
    return float(np.floor(earliest)) - 1.0


def event_days(
    params: SimulationParams,
    batch: LatentBatch,
    slowing: np.ndarray | None = None,
    death_hazard_ratio: np.ndarray | None = None,
    *,
    start: float | None = None,
    until: float | None = None,
    gastrostomy: bool = True,
) -> dict[str, np.ndarray]:
    """Event day (relative to first dose) per participant and event; NaN = none by the horizon.

    ``start`` is the grid's first day (default ``grid_start(batch)``). With ``until``, the grid
    stops at the first knot at or after that day: the event days up to ``until`` are exactly those
    of the full horizon (the grid is a prefix of it and each step depends only on the steps
    before), later ones are NaN.

    Only participants who can have an event are put on the grid, and only for the events they
    can have (see ``_possible``); the others get NaN, which is what the grid would give them. With
    ``gastrostomy=False`` its day is not computed (NaN): screening needs only ventilation (item
    12) and death, and no other event's hazard reads the gastrostomy.
    """
    ev = params.events
    start = grid_start(batch) if start is None else start
    if batch.n and float(np.min(batch.onset_day)) < start:
        # the grid would miss the hazard before its first day: event days silently too late
        raise SimulationError(f"the hazard grid starts on day {start}, after an onset on day {np.min(batch.onset_day)}")
    n_steps = max(int(np.ceil((ev.horizon_days - start) / ev.grid_step_days)), 1)
    if until is not None:
        n_steps = min(n_steps, max(int(np.ceil((until - start) / ev.grid_step_days)), 1))
    edges = start + ev.grid_step_days * np.arange(n_steps + 1)
    may = _possible(params, batch, edges, slowing, death_hazard_ratio, gastrostomy=gastrostomy)
    if not gastrostomy:
        may[:, 0] = False
    rows = np.flatnonzero(may.any(axis=1))
    if rows.size == batch.n:
        out = _on_grid(params, batch, edges, slowing, death_hazard_ratio, may)
    else:
        out = {k: np.full(batch.n, np.nan) for k in EVENT_NAMES}
        if rows.size:
            part = _on_grid(
                params,
                batch.take(rows),
                edges,
                None if slowing is None else slowing[rows],
                None if death_hazard_ratio is None else death_hazard_ratio[rows],
                may[rows],
            )
            for k in EVENT_NAMES:
                out[k][rows] = part[k]
    if until is not None:
        out = {k: np.where(v > until, np.nan, v) for k, v in out.items()}
    return out


def _possible(
    params: SimulationParams,
    batch: LatentBatch,
    edges: np.ndarray,
    slowing: np.ndarray | None,
    death_hazard_ratio: np.ndarray | None,
    block: int = 8,
    gastrostomy: bool = True,
) -> np.ndarray:
    """(n, 3) bool: gastrostomy, NIV, death; False only where that event certainly does not happen
    on the grid ``edges`` (without NIV there is no PAV or tracheostomy), and for gastrostomy
    without ``gastrostomy`` (not asked for).

    With non-negative coefficients every hazard grows with the disease (the clock never runs
    backwards, a treatment only slows it, items and VC only fall), so on each ``block`` of grid
    steps a hazard is at most its value at the block's last step: summed over the blocks, an upper
    bound of the integrated hazard at 1/``block`` of the grid's cost. An Exp(1) clock above its
    bound is never reached. The whole grid as one block, a cruder bound at the cost of one step,
    rules out most participants first; the ``block`` bound is computed only for the others.
    """
    ev = params.events
    coefs = (
        ev.gastrostomy_per_swallow_point,
        ev.niv_per_respiratory_point,
        ev.niv_per_10pct_vc_below_80,
        ev.death_per_respiratory_point,
        ev.death_per_10_total_points,
    )
    n_steps = edges.size - 1
    if batch.n == 0 or min(coefs) < 0 or n_steps <= block:
        return np.ones((batch.n, 3), dtype=bool)
    need = np.ones((batch.n, 3), dtype=bool)
    need[:, 0] = gastrostomy
    may = _bound(params, batch, edges, slowing, death_hazard_ratio, n_steps, need)
    rows = np.flatnonzero(may.any(axis=1))
    if rows.size:
        # the finer bound only for the events the crude one left possible
        may[rows] = _bound(
            params,
            batch.take(rows),
            edges,
            None if slowing is None else slowing[rows],
            None if death_hazard_ratio is None else death_hazard_ratio[rows],
            block,
            may[rows],
        )
    return may


def _bound(
    params: SimulationParams,
    batch: LatentBatch,
    edges: np.ndarray,
    slowing: np.ndarray | None,
    death_hazard_ratio: np.ndarray | None,
    block: int,
    need: np.ndarray,
) -> np.ndarray:
    """``_possible``'s test with blocks of ``block`` grid steps (non-negative coefficients).

    Each event's bound is computed only where ``need`` (n, 3) asks for it, with the items its
    hazard reads (all eleven only for death); elsewhere the result is False. A row's bound is the
    same whichever rows are computed with it.
    """
    ev = params.events
    n_steps = edges.size - 1
    last = np.minimum(np.arange(block - 1, n_steps + block - 1, block), n_steps - 1)  # each block's last step
    first = last - (last % block)
    tau = disease_time(batch, 0.5 * (edges[last] + edges[last + 1]), slowing)
    lo = np.maximum(edges[first][None, :], batch.onset_day[:, None])
    months = np.maximum(edges[last + 1][None, :] - lo, 0.0) / DAYS_PER_MONTH
    margin = 1.0 + 1e-9  # float rounding of a bound that holds exactly in real arithmetic
    out = np.zeros((batch.n, 3), dtype=bool)
    for e, clock_column in enumerate((0, 1, 4)):
        r = np.flatnonzero(need[:, e])
        if r.size == 0:
            continue
        if r.size == batch.n:
            b, t, m = batch, tau, months
        else:
            b, t, m = batch.take(r), tau[r], months[r]
        if e == 0:
            h = ev.gastrostomy_base_per_month * np.exp(ev.gastrostomy_per_swallow_point * (4.0 - latent_items(b, t, 2)))
        elif e == 1:
            resp_def = _respiratory_deficit(b, t)
            vc = vital_capacity(b, t)
            h = ev.niv_base_per_month * np.exp(
                ev.niv_per_respiratory_point * resp_def + ev.niv_per_10pct_vc_below_80 * np.maximum(80.0 - vc, 0) / 10
            )
        else:
            _, resp_def, total_def = _deficits(b, t)
            h = (
                ev.death_base_per_month
                * np.exp(ev.death_per_respiratory_point * resp_def + ev.death_per_10_total_points * total_def / 10)
                * max(ev.death_hr_on_pav, 1.0)
                * max(ev.death_hr_after_tracheostomy, 1.0)
            )
            if death_hazard_ratio is not None:
                h = h * np.maximum(death_hazard_ratio[r], 1.0)[:, None]
        out[r, e] = (h * m).sum(axis=1) * margin >= b.event_clock[:, clock_column]
    return out


def _on_grid(
    params: SimulationParams,
    batch: LatentBatch,
    edges: np.ndarray,
    slowing: np.ndarray | None,
    death_hazard_ratio: np.ndarray | None,
    may: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Event days from the hazards on the grid ``edges`` (every participant of ``batch``).

    ``may`` (n, 3: gastrostomy, NIV, death; default all True) limits each event to the rows that
    can have it (``_possible``); the others get NaN. The items an event's hazard reads are computed
    for its rows only: the swallowing item for gastrostomy, the respiratory ones and VC for NIV,
    and all eleven only for those who may die. Each row's arithmetic is the same whichever rows
    are computed with it.
    """
    ev = params.events
    n = batch.n
    may = np.ones((n, 3), dtype=bool) if may is None else may
    mid = 0.5 * (edges[:-1] + edges[1:])
    tau = disease_time(batch, mid, slowing)
    before_onset = ~(mid[None, :] >= batch.onset_day[:, None])  # as np.where(alive, h, 0.0) masks
    clock = batch.event_clock
    onset = batch.onset_day
    out = {k: np.full(n, np.nan) for k in EVENT_NAMES}

    def rows_of(flag: np.ndarray) -> tuple[np.ndarray, LatentBatch, np.ndarray, np.ndarray]:
        r = np.flatnonzero(flag)
        if r.size == n:
            return r, batch, tau, before_onset
        return r, batch.take(r), tau[r], before_onset[r]

    # hazards in place: the same operations in the same order as the formulas in the comments,
    # then 0 before onset (what np.where(alive, h, 0.0) gives)
    r, b, t, dead = rows_of(may[:, 0])
    if r.size:
        # base * exp(per_point * (4 - item 3))
        h_g = latent_items(b, t, 2)
        np.subtract(4.0, h_g, out=h_g)
        h_g *= ev.gastrostomy_per_swallow_point
        np.exp(h_g, out=h_g)
        h_g *= ev.gastrostomy_base_per_month
        np.copyto(h_g, 0.0, where=dead)
        out["gastrostomy"][r] = first_passage(h_g, edges, clock[r, 0], onset[r], alive_masked=True)
    r, b, t, dead = rows_of(may[:, 1])
    if r.size:
        resp_def = _respiratory_deficit(b, t)
        # base * exp(per_point * resp_def + per_10pct * max(80 - vc, 0) / 10)
        low_vc = vital_capacity(b, t)
        np.subtract(80.0, low_vc, out=low_vc)
        np.maximum(low_vc, 0, out=low_vc)
        low_vc *= ev.niv_per_10pct_vc_below_80
        low_vc /= 10
        h_n = ev.niv_per_respiratory_point * resp_def
        h_n += low_vc
        np.exp(h_n, out=h_n)
        h_n *= ev.niv_base_per_month
        np.copyto(h_n, 0.0, where=dead)
        niv = first_passage(h_n, edges, clock[r, 1], onset[r], alive_masked=True)
        out["niv"][r] = niv
        out["pav"][r] = _after_niv(
            ev.pav_base_per_month, ev.pav_per_respiratory_point, resp_def, niv, edges, clock[r, 2]
        )
        out["tracheostomy"][r] = _after_niv(
            ev.tracheostomy_base_per_month, ev.tracheostomy_per_respiratory_point, resp_def, niv, edges, clock[r, 3]
        )
    r, b, t, dead = rows_of(may[:, 2])
    if r.size:
        _, resp_def, total_def = _deficits(b, t)
        # base * exp(per_point * resp_def + per_10 * total_def / 10)
        h_d = ev.death_per_respiratory_point * resp_def
        total_def *= ev.death_per_10_total_points
        total_def /= 10
        h_d += total_def
        np.exp(h_d, out=h_d)
        h_d *= ev.death_base_per_month
        m = mid[None, :]
        pav, trach = out["pav"][r], out["tracheostomy"][r]
        if not np.all(np.isnan(pav)):
            h_d = np.where(m >= pav[:, None], h_d * ev.death_hr_on_pav, h_d)
        if not np.all(np.isnan(trach)):
            h_d = np.where(m >= trach[:, None], h_d * ev.death_hr_after_tracheostomy, h_d)
        if death_hazard_ratio is not None and np.any(death_hazard_ratio[r] != 1.0):
            h_d = np.where(m > 0, h_d * death_hazard_ratio[r, None], h_d)
        np.copyto(h_d, 0.0, where=dead)
        out["death"][r] = first_passage(h_d, edges, clock[r, 4], onset[r], alive_masked=True)

    death = out["death"]
    for name in ("gastrostomy", "niv", "pav", "tracheostomy"):
        out[name] = np.where(out[name] > death, np.nan, out[name])  # NaN > x is False: kept when death is NaN
    return out


def _respiratory_deficit(batch: LatentBatch, tau: np.ndarray) -> np.ndarray:
    """(n, G) points lost on the respiratory items (mean of 10 and 11), as ``_deficits`` gives it."""
    x = latent_items(batch, tau, 9)
    x += latent_items(batch, tau, 10)
    x *= 0.5
    return np.subtract(4.0, x, out=x)  # 4 - 0.5 * (item 10 + item 11), in place


def _deficits(batch: LatentBatch, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, G) points lost on swallowing (item 3), on the respiratory items (mean of 10 and 11) and
    in total (items 1-11), from ``latent_items`` computed one item at a time.

    Whole (n, G) planes instead of an (n, G, 11) block summed along its short last axis: about
    half the time on a hazard grid. The total adds the items in the order numpy's pairwise sum
    takes 11 numbers, so it equals ``latent_items(batch, tau).sum(axis=2)`` (tested).
    """
    x = [latent_items(batch, tau, k) for k in range(N_LATENT_ITEMS)]
    # in place: ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) + x8 + x9 + x10, left to right
    total = x[0] + x[1]
    total += x[2] + x[3]
    half = x[4] + x[5]
    half += x[6] + x[7]
    total += half
    total += x[8]
    total += x[9]
    total += x[10]
    resp = x[9] + x[10]
    resp *= 0.5
    return np.subtract(4.0, x[2], out=x[2]), np.subtract(4.0, resp, out=resp), np.subtract(44.0, total, out=total)

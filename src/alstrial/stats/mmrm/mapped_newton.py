"""Newton for many trials at once on :mod:`mapped`'s pieces, and the primary contrast at the optimum.

The trials of a block are iterated in lockstep, each with exactly the schedule of
:func:`alstrial.stats.mmrm.newton.newton` (average-information steps, then Newton, step halving,
the same stopping rule), so a trial's iterates do not depend on the other trials in its block;
numpy's per-call cost, most of a 189-subject fit, is shared by the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from alstrial.stats.mmrm.mapped import (
    MappedLayout,
    MappedPoint,
    MappedStats,
    average_information,
    evaluate,
    kron_trace,
    observed_hessian,
    sandwich_apply,
)
from alstrial.stats.mmrm.newton import _AI_UNTIL, _MAX_ITER, _TOL, Layout  # the regular engine's schedule


@dataclass(frozen=True)
class Optimum:
    """Where :func:`newton_many` stopped, per trial; ``converged`` False: the rest is meaningless."""

    converged: np.ndarray  # (R,)
    phi_vec: np.ndarray  # (R, q)
    iterations: np.ndarray  # (R,)
    point: MappedPoint
    hess: np.ndarray  # (R, q, q) observed Hessian at the optimum

    def take(self, idx: np.ndarray) -> Optimum:
        pt, hess = self.point.take(idx), self.hess[idx]
        return Optimum(self.converged[idx], self.phi_vec[idx], self.iterations[idx], pt, hess)


def _solve(mats: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solutions (R, q) of a stack of systems and which ones were not singular."""
    try:
        return np.linalg.solve(mats, rhs[:, :, None])[:, :, 0], np.ones(len(rhs), dtype=bool)
    except np.linalg.LinAlgError:
        out, ok = np.zeros_like(rhs), np.ones(len(rhs), dtype=bool)
        for r in range(len(rhs)):
            try:
                out[r] = np.linalg.solve(mats[r], rhs[r])
            except np.linalg.LinAlgError:
                ok[r] = False
        return out, ok


def newton_many(layout: MappedLayout, st: MappedStats, sigma0: np.ndarray) -> Optimum:
    """:func:`alstrial.stats.mmrm.newton.newton`, trial by trial in lockstep: average-information
    steps until the Newton decrement is below 1e-3, then Newton steps until it is below 1e-20,
    halving a step until -2 l does not increase (30 halvings at most, 60 iterations at most)."""
    n_trials, q = sigma0.shape[0], layout.q
    pt = evaluate(layout, st, sigma0)
    phi_vec = sigma0[:, layout.rows, layout.cols].copy()
    live = pt.ok.copy()  # still iterating
    converged = np.zeros(n_trials, dtype=bool)
    full = np.zeros(n_trials, dtype=bool)
    iterations = np.zeros(n_trials, dtype=int)
    hess_at = np.full((n_trials, q, q), np.nan)
    for it in range(1, _MAX_ITER + 1):
        idx = np.flatnonzero(live)
        if idx.size == 0:
            break
        sub = _take(pt, idx, n_trials)
        hess = average_information(layout, sub)
        is_full = full[idx]
        if is_full.any():
            fi = np.flatnonzero(is_full)
            hess[fi] = observed_hessian(layout, _take(st, idx[fi], n_trials), _take(sub, fi, idx.size), hess[fi])
            hess_at[idx[fi]] = hess[fi]
        step, solved = _solve(hess, sub.grad)
        dec = np.einsum("rq,rq->r", step, sub.grad)
        bad = ~np.isfinite(dec) | (dec <= 0)
        stop = solved & bad & (is_full | (dec == 0))
        done = stop & (dec == 0) | solved & ~bad & is_full & (dec < _TOL)
        converged[idx[done]] = True
        iterations[idx[done]] = it
        live[idx[~solved | stop | done]] = False
        full[idx[solved & bad & ~stop]] = True  # an average-information step that does not descend
        move = solved & ~bad & ~done
        full[idx[move & (dec < _AI_UNTIL)]] = True
        _line_search(layout, st, pt, phi_vec, idx[move], step[move], dec[move], full, live)
    missing = converged & ~full  # stopped on a zero decrement before any Newton step: build H there
    if missing.any():
        mi = np.flatnonzero(missing)
        sub = pt.take(mi)
        hess_at[mi] = observed_hessian(layout, st.take(mi), sub, average_information(layout, sub))
    return Optimum(converged, phi_vec, iterations, pt, hess_at)


def _line_search(
    layout: MappedLayout,
    st: MappedStats,
    pt: MappedPoint,
    phi_vec: np.ndarray,
    idx: np.ndarray,
    step: np.ndarray,
    dec: np.ndarray,
    full: np.ndarray,
    live: np.ndarray,
) -> None:
    """Step each trial ``idx`` along ``-step``, halving until -2 l does not increase (near the
    optimum, where the value no longer resolves the gain, the Newton step is taken as is); a
    trial that finds no such step in 30 halvings stops (not converged). Updates in place."""
    scale = np.ones(idx.size)
    pending = np.arange(idx.size)
    for _ in range(30):
        if pending.size == 0:
            return
        rows = idx[pending]
        trial = phi_vec[rows] - scale[pending, None] * step[pending]
        new = evaluate(layout, _take(st, rows, len(live)), sigma_stack(layout, trial))
        accept = new.ok & ((new.value <= pt.value[rows]) | (full[rows] & (dec[pending] < 1e-8)))
        took = np.flatnonzero(accept)
        phi_vec[rows[took]] = trial[took]
        pt.put(rows[took], _take(new, took, rows.size))
        pending = pending[~accept]
        scale[pending] *= 0.5
    live[idx[pending]] = False


_Taken = TypeVar("_Taken", MappedPoint, MappedStats)


def _take(obj: _Taken, idx: np.ndarray, size: int) -> _Taken:
    """``obj.take(idx)``, without the copy when ``idx`` (sorted, distinct) is every trial."""
    return obj if idx.size == size else obj.take(idx)


def sigma_stack(layout: Layout, vec: np.ndarray) -> np.ndarray:
    """(R, m, m) from the natural parameters (R, q)."""
    sig = np.zeros((vec.shape[0], layout.m, layout.m))
    sig[:, layout.rows, layout.cols] = vec
    sig[:, layout.cols, layout.rows] = vec
    return sig


def contrast(
    layout: MappedLayout, st: MappedStats, opt: Optimum, row: np.ndarray, kr: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Estimate, SE (Kenward-Roger adjusted when ``kr``) and Satterthwaite df of l'β per trial,
    from the observed Hessian at the optimum (W = Cov(φ̂) = 2 H⁻¹), and which trials have a W."""
    pt = opt.point
    n_trials = pt.beta.shape[0]
    inv, ok = _inv_many(opt.hess)
    w = 2.0 * inv
    w = 0.5 * (w + np.swapaxes(w, 1, 2))
    est = pt.beta @ row
    zvec = pt.phi @ row
    var = zvec @ row
    jz = zvec @ layout.jmap.T
    zm = np.swapaxes(jz.reshape(n_trials, layout.d, layout.m), 1, 2)[:, None]  # X_s Φ l = zm @ z_s
    zz = st.zz.reshape(*st.zz.shape[:2], layout.d, layout.d)
    pz = sandwich_apply(layout, pt.a, zm @ zz)  # (R, q, k): P̃_j Φ l = J' Σ_p vec(A_p E_j A_p zm ZZ_p)
    g = np.einsum("rqk,rk->rq", pz, zvec)
    denom = np.einsum("rq,rqs,rs->r", g, w, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where((denom > 0) & (var > 0), 2.0 * var * var / denom, np.inf)
    if kr:
        xzzx = zm @ zz @ np.swapaxes(zm, 2, 3)
        zqz = kron_trace(layout, pt.a, pt.a @ xzzx @ pt.a)
        zppz = pz @ pt.phi @ np.swapaxes(pz, 1, 2)
        var = var + 2.0 * np.einsum("rij,rij->r", w, zqz - zppz)
    return est, np.sqrt(np.maximum(var, 0.0)), df, ok


def _inv_many(mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of a stack (R, q, q), and which matrices were not singular (NaN where singular)."""
    try:
        return np.linalg.inv(mats), np.ones(len(mats), dtype=bool)
    except np.linalg.LinAlgError:
        out, ok = np.full(mats.shape, np.nan), np.ones(len(mats), dtype=bool)
        for r in range(len(mats)):
            try:
                out[r] = np.linalg.inv(mats[r])
            except np.linalg.LinAlgError:
                ok[r] = False
        return out, ok

"""REML for an unstructured covariance by Newton's method with analytic derivatives.

Σ = Σ_j φ_j E_j is linear in its natural parameters φ (the entries of Σ), so with
P = V⁻¹ − V⁻¹X(X'V⁻¹X)⁻¹X'V⁻¹ the derivatives of −2 l_REML are exact and cheap:

    g_j    = tr(P V_j) − y'P V_j P y
    H_ij   = −tr(P V_i P V_j) + 2 y'P V_i P V_j P y      (observed)
    AI_ij  = y'P V_i P V_j P y                            (average information)

and every trace reduces to sums over missingness patterns of tr(E_i A_p E_j M_p), A_p = Σ_p⁻¹,
using the per-pattern sums of X'X, X'y and yy' that the likelihood already keeps. Iterations
take average-information steps, then full Newton steps, to machine precision (Newton decrement
< 1e-20), so the optimum does not depend on where it starts. The observed information at the
optimum is Cov(φ̂)⁻¹/2, which Satterthwaite and Kenward-Roger need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alstrial.stats.mmrm.likelihood import criterion, gls_solution, inverse_cholesky

_MAX_ITER = 60
_TOL = 1e-20
_AI_UNTIL = 1e-3  # Newton decrement below which full Newton steps replace average-information ones


class Layout:
    """m visits and k coefficients: index maps and the basis E_j = ∂Σ/∂φ_j (SAS's UN(i,j) order)."""

    def __init__(self, n_visits: int, n_coef: int) -> None:
        m = n_visits
        self.m, self.k = m, n_coef
        rows, cols = np.tril_indices(m)
        self.rows, self.cols = rows, cols
        q = rows.size
        self.q = q
        basis = np.zeros((q, m, m))
        basis[np.arange(q), rows, cols] = 1.0
        basis[np.arange(q), cols, rows] = 1.0
        self.basis = basis
        self.basis_flat = basis.reshape(q, m * m)


@dataclass
class PatternData:
    """Sufficient statistics by missingness pattern (one covariance group; missing visits zeroed)."""

    mask: np.ndarray  # (P, m) bool
    count: np.ndarray  # (P,)
    xx: np.ndarray  # (P·m·m, k·k)
    xy: np.ndarray  # (P·m·m, k)
    yy: np.ndarray  # (P, m, m)
    n_obs: int
    log_weight_sum: float = 0.0  # Σ log w (weights are absorbed into X and y)


@dataclass
class Point:
    """The likelihood and its pieces at one Σ."""

    value: float
    a: np.ndarray  # (P, m, m) Σ_p⁻¹, zero outside the pattern's visits
    phi: np.ndarray  # (k, k) (X'V⁻¹X)⁻¹
    beta: np.ndarray
    grad: np.ndarray  # (q,) d(-2l)/dφ
    u: np.ndarray  # (P, m, m) A S A, S = Σ_i r_i r_i'
    c: np.ndarray  # (P, m, m) A (Σ_i X_i Φ X_i') A
    xr: np.ndarray  # (P·m·m, k) Σ_i X_i[a]' r_i[b]


def evaluate(layout: Layout, st: PatternData, sigma: np.ndarray) -> Point | None:
    m, k = layout.m, layout.k
    both = st.mask[:, :, None] & st.mask[:, None, :]
    eye = np.eye(m, dtype=bool)[None]
    padded = np.where(both, sigma[None], 0.0)
    padded = np.where(eye & ~st.mask[:, :, None], 1.0, padded)
    factored = inverse_cholesky(padded)
    if factored is None:
        return None
    diag, linv = factored
    a = np.where(both, np.transpose(linv, (0, 2, 1)) @ linv, 0.0)
    logdet = float(st.count @ (2.0 * np.log(diag).sum(axis=1))) - st.log_weight_sum
    a_flat = a.reshape(-1)
    info = (a_flat @ st.xx).reshape(k, k)
    info = 0.5 * (info + info.T)
    xty = a_flat @ st.xy
    solved = gls_solution(info, xty)
    if solved is None:
        return None
    cinfo, phi, beta = solved
    rss = float(a_flat @ st.yy.reshape(-1)) - float(beta @ xty)
    value = criterion(logdet, rss, cinfo, st.n_obs, k, reml=True)
    n_pat = st.mask.shape[0]
    xyb = (st.xy @ beta).reshape(n_pat, m, m)
    xxbb = (st.xx @ np.outer(beta, beta).ravel()).reshape(n_pat, m, m)
    s = st.yy - xyb - np.transpose(xyb, (0, 2, 1)) + xxbb
    xphix = (st.xx @ phi.ravel()).reshape(n_pat, m, m)
    u = a @ s @ a
    c = a @ xphix @ a
    per = a * st.count[:, None, None] - u - c
    grad_sigma = per.sum(axis=0)
    grad = layout.basis_flat @ grad_sigma.ravel()
    xr = st.xy - (st.xx.reshape(-1, k, k) @ beta)
    return Point(value, a, phi, beta, grad, u, c, xr)


def kron_trace(layout: Layout, a: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """(q, q): Σ_p tr(E_i A_p E_j M_p) for the basis matrices E of Σ."""
    m = layout.m
    n_pat = a.shape[0]
    kt = (a.reshape(n_pat, m * m).T @ mats.reshape(n_pat, m * m)).reshape(m, m, m, m)
    kt = kt.transpose(3, 0, 1, 2).reshape(m * m, m * m)  # [(x, y), (z, w)] = Σ_p A[y, z] M[w, x]
    return layout.basis_flat @ kt @ layout.basis_flat.T


def _sandwich_basis(layout: Layout, a: np.ndarray) -> np.ndarray:
    """(q, P·m·m): A_p E_j A_p for every basis matrix E_j = e_r e_c' + e_c e_r' of Σ."""
    rows, cols = layout.rows, layout.cols
    left = np.transpose(a[:, :, rows], (2, 0, 1))  # (q, P, m): A[:, r]
    right = np.transpose(a[:, cols, :], (1, 0, 2))  # (q, P, m): A[c, :]
    out = left[:, :, :, None] * right[:, :, None, :]
    off = rows != cols
    left2 = np.transpose(a[:, :, cols[off]], (2, 0, 1))
    right2 = np.transpose(a[:, rows[off], :], (1, 0, 2))
    out[off] += left2[:, :, :, None] * right2[:, :, None, :]
    return out.reshape(layout.q, -1)


def average_information(layout: Layout, pt: Point) -> tuple[np.ndarray, np.ndarray]:
    """y'PV_iPV_jPy (the average information) and h_i = X'V⁻¹V_iPy."""
    f = _sandwich_basis(layout, pt.a)
    h = f @ pt.xr
    ai = kron_trace(layout, pt.a, pt.u) - h @ pt.phi @ h.T
    return 0.5 * (ai + ai.T), f


def observed_hessian(
    layout: Layout, st: PatternData, pt: Point, ai: np.ndarray, f: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Observed Hessian of -2 l_REML in φ, and P̃_j = X'V⁻¹ E_j V⁻¹X (q, k, k)."""
    k = layout.k
    ptil = (f @ st.xx).reshape(layout.q, k, k)
    rphi = pt.phi @ ptil
    q = layout.q
    tr_pp = rphi.reshape(q, k * k) @ np.transpose(rphi, (0, 2, 1)).reshape(q, k * k).T
    tr_pvpv = kron_trace(layout, pt.a, pt.a * st.count[:, None, None]) - 2.0 * kron_trace(layout, pt.a, pt.c) + tr_pp
    hess = -tr_pvpv + 2.0 * ai
    return 0.5 * (hess + hess.T), ptil


def newton(layout: Layout, st: PatternData, sigma0: np.ndarray) -> tuple[np.ndarray, Point, int] | None:
    """Average-information steps, then full Newton steps, with step halving; None if it fails.

    Stops when the Newton decrement g'H⁻¹g (twice the predicted gain) is below 1e-20, i.e.
    to machine precision, so results do not depend on the start (warm or not).
    """
    pt = evaluate(layout, st, sigma0)
    if pt is None:
        return None
    phi_vec = sigma0[layout.rows, layout.cols].copy()
    full = False
    for it in range(1, _MAX_ITER + 1):
        ai, f = average_information(layout, pt)
        hess = observed_hessian(layout, st, pt, ai, f)[0] if full else ai
        try:
            step = np.linalg.solve(hess, pt.grad)
        except np.linalg.LinAlgError:
            return None
        dec = float(step @ pt.grad)
        if not np.isfinite(dec) or dec <= 0:
            if full or dec == 0:
                return (phi_vec, pt, it) if dec == 0 else None
            full = True
            continue
        if full and dec < _TOL:
            return phi_vec, pt, it
        if dec < _AI_UNTIL:
            full = True
        scale = 1.0
        for _ in range(30):
            trial = phi_vec - scale * step
            new = evaluate(layout, st, sigma_of(layout, trial))
            # near the optimum the value no longer resolves the gain: accept the Newton step
            if new is not None and (new.value <= pt.value or (full and dec < 1e-8)):
                phi_vec, pt = trial, new
                break
            scale *= 0.5
        else:
            return None
    return None


def sigma_of(layout: Layout, vec: np.ndarray) -> np.ndarray:
    sig = np.zeros((layout.m, layout.m))
    sig[layout.rows, layout.cols] = vec
    sig[layout.cols, layout.rows] = vec
    return sig

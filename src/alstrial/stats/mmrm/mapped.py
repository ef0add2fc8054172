"""REML pieces for many trials at once, when the design is a fixed linear map of a few numbers.

In the primary MMRM of a simulated trial every subject's design rows are X_s = (z_s' ⊗ I_m) J:
z_s = (1, arm, baseline, stratum dummies) has d entries and J (d·m × k) is the same for every
subject and every trial. So every sum over subjects that :mod:`newton` takes of X_s ⊗ X_s
(P·m·m × k·k numbers per trial) is J' (Σ_s z_s z_s' ⊗ ...) J, and only the d × d sums ZZ_p of
each missingness pattern p are needed: O(P·d²·m²) per step instead of O(P·m²·k²). Sums in the
"full" covariate-by-visit space (d·m, index c·m + a) are mapped to the k coefficients by J.

Every array has a leading trial axis (:mod:`mapped_newton` iterates the trials of a block in
lockstep). Patterns are the union over the block's trials; a trial's count of a pattern it lacks
is 0 and its sums are 0, which adds exact zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from alstrial.stats.mmrm.newton import Layout

_LOG_2PI = float(np.log(2 * np.pi))


class MappedLayout(Layout):
    """m visits, k coefficients and the map J (d·m, k) from the full covariate-by-visit space."""

    def __init__(self, maps: np.ndarray) -> None:
        m, k, d = maps.shape  # X_s[a] = maps[a] @ z_s
        super().__init__(m, k)
        self.d = d
        self.jmap = np.ascontiguousarray(maps.transpose(2, 0, 1).reshape(d * m, k))
        self.jrows = np.ascontiguousarray(maps.transpose(0, 2, 1).reshape(m, d * k))  # [a, (c, κ)] = J[c·m + a, κ]


@dataclass(frozen=True)
class MappedStats:
    """Per missingness pattern sums of R trials (missing visits zeroed in y)."""

    mask: np.ndarray  # (P, m) bool, shared by the trials
    count: np.ndarray  # (R, P) subjects
    zz: np.ndarray  # (R, P, d·d) Σ_s z_s z_s'
    yz: np.ndarray  # (R, P, m, d) Σ_s y_s z_s'
    yy: np.ndarray  # (R, P, m, m) Σ_s y_s y_s'
    n_obs: np.ndarray  # (R,)

    def take(self, idx: np.ndarray) -> MappedStats:
        return MappedStats(self.mask, self.count[idx], self.zz[idx], self.yz[idx], self.yy[idx], self.n_obs[idx])

    @property
    def prefix(self) -> np.ndarray:
        """(P,) j for a pattern that observes visits 1..j (monotone dropout), else 0."""
        j = self.mask.sum(axis=1)
        return np.where(np.all(self.mask == (np.arange(self.mask.shape[1]) < j[:, None]), axis=1), j, 0)

    @property
    def both(self) -> np.ndarray:
        """(P, m, m) visit pairs observed together in each pattern."""
        return self.mask[:, :, None] & self.mask[:, None, :]


def mapped_stats(y: np.ndarray, z: np.ndarray, mask: np.ndarray) -> MappedStats:
    """Sums by pattern: y (R, n, m) zero where ``mask`` is False, z (R, n, d); subjects with no
    observation (padding included) belong to no pattern."""
    n_trials, n, m = y.shape
    d = z.shape[2]
    codes = mask @ (1 << np.arange(m))
    uniq = np.unique(codes[codes > 0])
    onehot = (codes[:, None, :] == uniq[None, :, None]).astype(float)  # (R, P, n)
    n_pat = uniq.size
    zz = onehot @ (z[..., :, None] * z[..., None, :]).reshape(n_trials, n, d * d)
    yz = (onehot @ (y[..., :, None] * z[..., None, :]).reshape(n_trials, n, m * d)).reshape(n_trials, n_pat, m, d)
    yy = (onehot @ (y[..., :, None] * y[..., None, :]).reshape(n_trials, n, m * m)).reshape(n_trials, n_pat, m, m)
    pmask = ((uniq[:, None] >> np.arange(m)) & 1).astype(bool)
    return MappedStats(pmask, onehot.sum(axis=2), zz, yz, yy, mask.sum(axis=(1, 2)))


def _full(layout: MappedLayout, zz: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """(R, d·m, d·m): Σ_p ZZ_p ⊗ M_p for (R, P, m, m) matrices M (rows and columns c·m + a)."""
    d, m = layout.d, layout.m
    out = (np.swapaxes(zz, 1, 2) @ mats.reshape(mats.shape[0], -1, m * m)).reshape(-1, d, d, m, m)
    return out.transpose(0, 1, 3, 2, 4).reshape(-1, d * m, d * m)


def _by_visit(layout: MappedLayout, vec: np.ndarray) -> np.ndarray:
    """(R, m, d) view of the full-space vectors J v (R, k): entry [a, c] is covariate c's at visit a."""
    return np.swapaxes((vec @ layout.jmap.T).reshape(-1, layout.d, layout.m), 1, 2)


def _chol(mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack (R, ..., m, m) and which trials' matrices are all positive
    definite; a trial that is not gets identity factors, so what follows stays finite."""
    try:
        chol = np.linalg.cholesky(mats)
    except np.linalg.LinAlgError:
        chol = np.empty_like(mats)
        for r in range(mats.shape[0]):
            try:
                chol[r] = np.linalg.cholesky(mats[r])
            except np.linalg.LinAlgError:
                chol[r] = np.nan
    diag = np.diagonal(chol, axis1=-2, axis2=-1).reshape(mats.shape[0], -1)
    ok = np.all(np.isfinite(diag) & (diag > 0), axis=1)
    if not ok.all():
        chol[~ok] = np.eye(mats.shape[-1])
    return chol, ok


def full_rank(info: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """(R,) X'X has no aliased column: the regular engine's test (Gram-Schmidt on unit-length
    columns, a residual norm below 1e-7 is aliased) read off the Cholesky factor of the scaled X'X."""
    diag = np.diagonal(info, axis1=1, axis2=2)
    positive = np.all(diag > 0, axis=1)
    scale = np.sqrt(np.where(positive[:, None], diag, 1.0))
    chol, ok = _chol(info / (scale[:, :, None] * scale[:, None, :]))
    return positive & ok & np.all(np.diagonal(chol, axis1=1, axis2=2) >= tol, axis=1)


def ols_start(layout: MappedLayout, st: MappedStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-products (R, m, m) and pair counts of the OLS residuals at observed visits (the
    regular engine's moment start), and which trials' designs have no aliased column."""
    both = st.both.astype(float)
    eye = np.where(st.mask[:, :, None], np.eye(layout.m)[None], 0.0)
    jmap = layout.jmap
    info = jmap.T @ _full(layout, st.zz, np.broadcast_to(eye, (len(st.count), *eye.shape))) @ jmap
    ok = full_rank(info)
    info[~ok] = np.eye(layout.k)
    xty = np.einsum("pa,rpac->rca", st.mask.astype(float), st.yz).reshape(len(ok), -1) @ jmap
    beta = np.linalg.solve(info, xty[:, :, None])[:, :, 0]
    cross = (_residual_products(layout, st, beta) * both).sum(axis=1)
    counts = np.einsum("rp,pab->rab", st.count, both)
    return cross, counts, ok


def _residual_products(layout: MappedLayout, st: MappedStats, beta: np.ndarray) -> np.ndarray:
    """(R, P, m, m): Σ_s r_s r_s' with r_s = y_s − X_s β (not yet restricted to observed visits)."""
    mean = _by_visit(layout, beta)[:, None]  # subject s's mean is mean @ z_s
    ym = st.yz @ np.swapaxes(mean, 2, 3)
    zz = st.zz.reshape(*st.zz.shape[:2], layout.d, layout.d)
    return st.yy - ym - np.swapaxes(ym, 2, 3) + mean @ zz @ np.swapaxes(mean, 2, 3)


@dataclass
class MappedPoint:
    """The restricted likelihood and its pieces at one Σ per trial."""

    ok: np.ndarray  # (R,) Σ and X'V⁻¹X positive definite (the rest is meaningless where not)
    value: np.ndarray  # (R,) -2 l_REML
    grad: np.ndarray  # (R, q) d(-2l)/dφ
    a: np.ndarray  # (R, P, m, m) Σ_p⁻¹, zero outside the pattern's visits
    phi: np.ndarray  # (R, k, k) (X'V⁻¹X)⁻¹
    beta: np.ndarray  # (R, k)
    u: np.ndarray  # (R, P, m, m) A S A, S = Σ_s r_s r_s'
    c: np.ndarray  # (R, P, m, m) A (Σ_s X_s Φ X_s') A
    resid_z: np.ndarray  # (R, P, m, d) Σ_s r_s z_s'
    psi: np.ndarray  # (R, d·m, d·m) J Φ J'

    def take(self, idx: np.ndarray) -> MappedPoint:
        return MappedPoint(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def put(self, idx: np.ndarray, other: MappedPoint) -> None:
        for f in fields(self):
            getattr(self, f.name)[idx] = getattr(other, f.name)


def _pattern_inverses(
    layout: MappedLayout, st: MappedStats, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Σ_p⁻¹ (R, P, m, m, zero outside the pattern's visits), log|Σ_p| (R, P), and which trials'
    present patterns are all positive definite (a pattern a trial lacks gets the identity).

    A monotone-dropout pattern observes visits 1..j, and the Cholesky factor of a leading block is
    the leading block of the factor: one factorization of the trial's longest such pattern gives
    every shorter one's inverse, Σ_{a<j} L⁻¹[a]'L⁻¹[a], and log-determinant; only the other
    patterns are factorised one by one (on the seed trials, 1 factorization per trial, not 7)."""
    m = layout.m
    n_trials, n_pat = st.count.shape
    present = st.count > 0
    plen = st.prefix
    a = np.zeros((n_trials, n_pat, m, m))
    logdet = np.zeros((n_trials, n_pat))
    ok = np.ones(n_trials, dtype=bool)
    eye = np.eye(m, dtype=bool)
    pre = np.flatnonzero(plen > 0)
    if pre.size:
        longest = np.max(np.where(present[:, pre], plen[pre], 0), axis=1)  # 0: the trial has none
        keep = np.arange(m) < longest[:, None]
        lead = np.where(keep[:, :, None] & keep[:, None, :], sigma, 0.0)
        chol, ok = _chol(np.where(eye & ~keep[:, :, None], 1.0, lead))
        linv = np.linalg.inv(chol)
        cum = np.cumsum(linv[:, :, :, None] * linv[:, :, None, :], axis=1)  # [j - 1]: Σ_{a<j} L⁻¹[a]'L⁻¹[a]
        a[:, pre] = np.where(st.both[pre], cum[:, plen[pre] - 1], 0.0)
        logdet[:, pre] = np.cumsum(2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)[:, plen[pre] - 1]
    other = np.flatnonzero(plen == 0)
    if other.size:
        both = st.both[other]
        padded = np.where(both, sigma[:, None], 0.0)
        padded = np.where(eye & ~st.mask[other][:, :, None], 1.0, padded)
        padded = np.where(present[:, other, None, None], padded, np.eye(m))
        chol, ok_other = _chol(padded)
        ok &= ok_other
        linv = np.linalg.inv(chol)
        a[:, other] = np.where(both, np.swapaxes(linv, 2, 3) @ linv, 0.0)
        logdet[:, other] = 2.0 * np.log(np.diagonal(chol, axis1=2, axis2=3)).sum(axis=2)
    return a, logdet, ok


def evaluate(layout: MappedLayout, st: MappedStats, sigma: np.ndarray) -> MappedPoint:
    """-2 l_REML at Σ (R, m, m) and its gradient in φ; ``ok`` False where Σ or X'V⁻¹X is not PD."""
    m, k, d = layout.m, layout.k, layout.d
    n_trials = sigma.shape[0]
    a, logdet_p, ok = _pattern_inverses(layout, st, sigma)
    logdet = np.sum(st.count * logdet_p, axis=1)
    jmap = layout.jmap
    info = jmap.T @ _full(layout, st.zz, a) @ jmap
    info = 0.5 * (info + np.swapaxes(info, 1, 2))
    xty = np.swapaxes((a @ st.yz).sum(axis=1), 1, 2).reshape(n_trials, d * m) @ jmap
    cinfo, ok_i = _chol(info)
    ok &= ok_i
    info[~ok_i] = np.eye(k)
    phi = np.linalg.inv(info)
    phi = 0.5 * (phi + np.swapaxes(phi, 1, 2))
    beta = (phi @ xty[:, :, None])[:, :, 0]
    rss = np.einsum("rpab,rpab->r", a, st.yy) - np.einsum("rk,rk->r", beta, xty)
    value = logdet + rss + 2.0 * np.log(np.diagonal(cinfo, axis1=1, axis2=2)).sum(axis=1) + (st.n_obs - k) * _LOG_2PI
    s = _residual_products(layout, st, beta)
    psi = jmap @ phi @ jmap.T
    blocks = psi.reshape(n_trials, d, m, d, m).transpose(0, 1, 3, 2, 4).reshape(n_trials, d * d, m * m)
    xphix = (st.zz @ blocks).reshape(n_trials, -1, m, m)  # Σ_s X_s Φ X_s'
    u = a @ s @ a
    c = a @ xphix @ a
    per = a * st.count[:, :, None, None] - u - c
    grad = per.sum(axis=1).reshape(n_trials, m * m) @ layout.basis_flat.T
    resid_z = st.yz - _by_visit(layout, beta)[:, None] @ st.zz.reshape(n_trials, -1, d, d)
    return MappedPoint(ok, np.where(ok, value, np.inf), grad, a, phi, beta, u, c, resid_z, psi)


def kron_trace(layout: Layout, a: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """(R, q, q): Σ_p tr(E_i A_p E_j M_p) for the basis matrices E of Σ (batched ``newton.kron_trace``)."""
    m = layout.m
    n_trials, n_pat = a.shape[:2]
    kt = np.swapaxes(a.reshape(n_trials, n_pat, m * m), 1, 2) @ mats.reshape(n_trials, n_pat, m * m)
    kt = kt.reshape(n_trials, m, m, m, m).transpose(0, 4, 1, 2, 3).reshape(n_trials, m * m, m * m)
    return layout.basis_flat @ kt @ layout.basis_flat.T


def sandwich_apply(layout: MappedLayout, a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(R, q, k): J' vec Σ_p A_p E_j A_p V_p for (R, P, m, d) matrices V_p, without the sandwiches:
    A E_j A V = A[:, r] (AV)[c, :] + A[:, c] (AV)[r, :] for E_j = e_r e_c' + e_c e_r'."""
    m, d, q = layout.m, layout.d, layout.q
    n_trials, n_pat = a.shape[:2]
    av = (a @ v).reshape(n_trials, n_pat, m * d)
    t = (np.swapaxes(a.reshape(n_trials, n_pat, m * m), 1, 2) @ av).reshape(n_trials, m, m, m, d)
    rows, cols = layout.rows, layout.cols
    off = rows != cols
    out = t[:, :, rows, cols, :]  # (R, m, q, d): t[a, x, y, c] = Σ_p A_p[a, x] (A_p V_p)[y, c]
    out[:, :, off] += t[:, :, cols[off], rows[off], :]
    return out.transpose(0, 2, 3, 1).reshape(n_trials, q, d * m) @ layout.jmap


def average_information(layout: MappedLayout, pt: MappedPoint) -> np.ndarray:
    """y'PV_iPV_jPy (R, q, q), the average information."""
    h = sandwich_apply(layout, pt.a, pt.resid_z)  # h_j = X'V⁻¹ E_j P y, R_p = Σ_s r_s z_s'
    ai = kron_trace(layout, pt.a, pt.u) - h @ pt.phi @ np.swapaxes(h, 1, 2)
    return 0.5 * (ai + np.swapaxes(ai, 1, 2))


def observed_hessian(layout: MappedLayout, st: MappedStats, pt: MappedPoint, ai: np.ndarray) -> np.ndarray:
    """Observed Hessian (R, q, q) of -2 l_REML in φ, from the average information ``ai``."""
    tr_pvpv = (
        kron_trace(layout, pt.a, pt.a * st.count[:, :, None, None])
        - 2.0 * kron_trace(layout, pt.a, pt.c)
        + _trace_pp(layout, st, pt)
    )
    hess = -tr_pvpv + 2.0 * ai
    return 0.5 * (hess + np.swapaxes(hess, 1, 2))


def _trace_pp(layout: MappedLayout, st: MappedStats, pt: MappedPoint) -> np.ndarray:
    """:func:`_trace_pp_block` ``_HESSIAN_CHUNK`` trials at a time. Its temporaries are ~1 MB a
    trial; glibc handed a larger call's back to the system after each call and they were
    page-faulted in again (20 seed trials: 300 minor faults a trial with 8 at a time, a third of
    the fit's CPU time as system time; none with 4)."""
    n_trials = pt.a.shape[0]
    if n_trials <= _HESSIAN_CHUNK:
        return _trace_pp_block(layout, st, pt)
    parts = []
    for first in range(0, n_trials, _HESSIAN_CHUNK):
        idx = np.arange(first, min(first + _HESSIAN_CHUNK, n_trials))
        parts.append(_trace_pp_block(layout, st.take(idx), pt.take(idx)))
    return np.concatenate(parts)


_HESSIAN_CHUNK = 4


def _trace_pp_block(layout: MappedLayout, st: MappedStats, pt: MappedPoint) -> np.ndarray:
    """(R, q, q): tr(Φ P̃_i Φ P̃_j) with P̃_j = X'V⁻¹E_jV⁻¹X = T_rc + T_cr (T_rr alone when r = c) for
    E_j = e_r e_c' + e_c e_r', T_vw = Σ_p G_{p,v}' ZZ_p G_{p,w}, G_{p,v} (d, k) = row v of A_p mapped
    by J. With Φ = CC' the trace is ⟨C'P̃_iC, C'P̃_jC⟩: C goes into G, and every T_vw is one product."""
    m, d, k, q = layout.m, layout.d, layout.k, layout.q
    n_trials, n_pat = pt.a.shape[:2]
    chol, ok = _chol(pt.phi)  # Φ is positive definite where the point is; else C = I and Φ below
    g = ((pt.a @ layout.jrows).reshape(n_trials, -1, k) @ chol).reshape(n_trials, n_pat, m, d, k)
    h = st.zz.reshape(n_trials, n_pat, 1, d, d) @ g
    gt = g.transpose(0, 1, 3, 2, 4).reshape(n_trials, n_pat * d, m * k)
    ht = h.transpose(0, 1, 3, 2, 4).reshape(n_trials, n_pat * d, m * k)
    t = (np.swapaxes(gt, 1, 2) @ ht).reshape(n_trials, m, k, m, k)  # C' T_vw C
    rows, cols = layout.rows, layout.cols
    s = (t[:, rows, :, cols, :] + t[:, cols, :, rows, :]) * np.where(rows != cols, 1.0, 0.5)[:, None, None, None]
    s = np.swapaxes(s, 0, 1)  # (R, q, k, k): C'P̃_jC
    if not ok.all():
        s[~ok] = pt.phi[~ok, None] @ s[~ok]  # Φ P̃_j: tr(Φ P̃_i Φ P̃_j) = Σ (ΦP̃_i)[x, y] (ΦP̃_j)[y, x]
        out = s.reshape(n_trials, q, k * k) @ np.swapaxes(np.swapaxes(s, 2, 3).reshape(n_trials, q, k * k), 1, 2)
        return np.asarray(out)
    flat = s.reshape(n_trials, q, k * k)
    return np.asarray(flat @ np.swapaxes(flat, 1, 2))

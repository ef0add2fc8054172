"""REML derivatives for a design that is a fixed linear map of a few numbers per subject.

In the primary MMRM of a simulated trial every subject's design rows are X_s = (z_s' ⊗ I_m) J:
z_s = (1, arm, baseline, stratum dummies) has d entries and J (d·m × k) is the same for every
subject and every trial. So every sum over subjects that :mod:`newton` takes of X_s ⊗ X_s
(P·m·m × k·k numbers per trial) is J' (Σ_s z_s z_s' ⊗ ...) J, and only the d × d sums ZZ_p of
each missingness pattern are needed: O(P·d²·m²) work per step instead of O(P·m²·k²), with the
same mathematics (tests compare both with the regular engine). Sums over the "full" coefficient
space (d·m, index c·m + a: covariate c at visit a) are mapped to the k coefficients by J.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alstrial.stats.mmrm.likelihood import criterion, gls_solution, inverse_cholesky
from alstrial.stats.mmrm.newton import Layout, kron_trace, sandwich_basis


class MappedLayout(Layout):
    """m visits, k coefficients and the map J (d·m, k) from the full covariate-by-visit space."""

    def __init__(self, maps: np.ndarray) -> None:
        m, k, d = maps.shape  # X_s[a] = maps[a] @ z_s
        super().__init__(m, k)
        self.d = d
        self.jmap = np.ascontiguousarray(maps.transpose(2, 0, 1).reshape(d * m, k))


@dataclass(frozen=True)
class MappedStats:
    """Per missingness pattern sums of one trial (missing visits zeroed in y)."""

    mask: np.ndarray  # (P, m) bool
    count: np.ndarray  # (P,) subjects
    zz: np.ndarray  # (P, d·d) Σ_s z_s z_s'
    yz: np.ndarray  # (P, m, d) Σ_s y_s z_s'
    yy: np.ndarray  # (P, m, m) Σ_s y_s y_s'
    n_obs: int

    @property
    def both(self) -> np.ndarray:
        """(P, m, m) visit pairs observed together in each pattern."""
        return self.mask[:, :, None] & self.mask[:, None, :]


def mapped_stats(y: np.ndarray, z: np.ndarray, mask: np.ndarray) -> MappedStats:
    """Sums by pattern of a trial's subjects: y (n, m) with zeros where ``mask`` is False, z (n, d)."""
    n, m = y.shape
    d = z.shape[1]
    codes = mask @ (1 << np.arange(m))
    uniq, pattern, count = np.unique(codes, return_inverse=True, return_counts=True)
    n_pat = uniq.size
    onehot = np.zeros((n_pat, n))
    onehot[pattern.ravel(), np.arange(n)] = 1.0
    zz = onehot @ (z[:, :, None] * z[:, None, :]).reshape(n, d * d)
    yz = (onehot @ (y[:, :, None] * z[:, None, :]).reshape(n, m * d)).reshape(n_pat, m, d)
    yy = (onehot @ (y[:, :, None] * y[:, None, :]).reshape(n, m * m)).reshape(n_pat, m, m)
    pmask = ((uniq[:, None] >> np.arange(m)) & 1).astype(bool)
    return MappedStats(pmask, count.astype(float), zz, yz, yy, int(mask.sum()))


def _full(layout: MappedLayout, zz: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """(d·m, d·m): Σ_p ZZ_p ⊗ M_p for (P, m, m) matrices M_p (rows and columns ordered c·m + a)."""
    d, m = layout.d, layout.m
    out = (zz.T @ mats.reshape(-1, m * m)).reshape(d, d, m, m)
    return out.transpose(0, 2, 1, 3).reshape(d * m, d * m)


def _per_pattern(layout: MappedLayout, zz: np.ndarray, full: np.ndarray) -> np.ndarray:
    """(P, m, m): Σ_{c,e} ZZ_p[c, e] F[(c, a), (e, b)], i.e. Σ_s X_s G X_s' for F = J G J'."""
    d, m = layout.d, layout.m
    blocks = full.reshape(d, m, d, m).transpose(0, 2, 1, 3).reshape(d * d, m * m)
    return (zz @ blocks).reshape(-1, m, m)


def _by_visit(layout: MappedLayout, vec: np.ndarray) -> np.ndarray:
    """(m, d) view of a full-space vector J v: entry [a, c] is covariate c's weight at visit a."""
    return (layout.jmap @ vec).reshape(layout.d, layout.m).T


def ols_start(layout: MappedLayout, st: MappedStats) -> tuple[np.ndarray, np.ndarray] | None:
    """Cross-products and pair counts of the OLS residuals (observed visits), the regular engine's
    moment start; None when the design's columns are aliased (the regular engine refuses it)."""
    both = st.both.astype(float)
    eye = np.where(st.mask[:, :, None], np.eye(layout.m)[None], 0.0)
    info = layout.jmap.T @ _full(layout, st.zz, eye) @ layout.jmap
    if not full_rank(info):
        return None
    xty = layout.jmap.T @ np.einsum("pa,pac->ca", st.mask.astype(float), st.yz).ravel()
    beta = np.linalg.solve(info, xty)
    cross = (_residual_products(layout, st, beta) * both).sum(axis=0)
    counts = np.einsum("p,pab->ab", st.count, both)
    return cross, counts


def full_rank(info: np.ndarray, tol: float = 1e-7) -> bool:
    """X'X has no aliased column: the regular engine's test (Gram-Schmidt on unit-length columns,
    a residual norm below 1e-7 is aliased) read off the Cholesky factor of the scaled X'X."""
    scale = np.sqrt(np.diagonal(info))
    if not np.all(scale > 0):
        return False
    try:
        chol = np.linalg.cholesky(info / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diagonal(chol) >= tol))


def _residual_products(layout: MappedLayout, st: MappedStats, beta: np.ndarray) -> np.ndarray:
    """(P, m, m): Σ_s r_s r_s' with r_s = y_s − X_s β (not yet restricted to observed visits)."""
    mean = _by_visit(layout, beta)  # subject s's mean is mean @ z_s
    ym = st.yz @ mean.T
    zz = st.zz.reshape(-1, layout.d, layout.d)
    return st.yy - ym - np.transpose(ym, (0, 2, 1)) + mean @ zz @ mean.T


@dataclass
class MappedPoint:
    """The restricted likelihood and its pieces at one Σ."""

    value: float
    grad: np.ndarray  # (q,) d(-2l)/dφ
    a: np.ndarray  # (P, m, m) Σ_p⁻¹, zero outside the pattern's visits
    phi: np.ndarray  # (k, k) (X'V⁻¹X)⁻¹
    beta: np.ndarray
    u: np.ndarray  # (P, m, m) A S A, S = Σ_s r_s r_s'
    c: np.ndarray  # (P, m, m) A (Σ_s X_s Φ X_s') A
    resid_z: np.ndarray  # (P, m, d) Σ_s r_s z_s'
    psi: np.ndarray  # (d·m, d·m) J Φ J'


def evaluate(layout: MappedLayout, st: MappedStats, sigma: np.ndarray) -> MappedPoint | None:
    """-2 l_REML at Σ and its gradient in φ; None when Σ or X'V⁻¹X is not positive definite."""
    m, k, d = layout.m, layout.k, layout.d
    both = st.both
    padded = np.where(both, sigma[None], 0.0)
    padded = np.where(np.eye(m, dtype=bool)[None] & ~st.mask[:, :, None], 1.0, padded)
    factored = inverse_cholesky(padded)
    if factored is None:
        return None
    diag, linv = factored
    a = np.where(both, np.transpose(linv, (0, 2, 1)) @ linv, 0.0)
    logdet = float(st.count @ (2.0 * np.log(diag).sum(axis=1)))
    jmap = layout.jmap
    info = jmap.T @ _full(layout, st.zz, a) @ jmap
    info = 0.5 * (info + info.T)
    xty = jmap.T @ (a @ st.yz).sum(axis=0).T.ravel()
    solved = gls_solution(info, xty)
    if solved is None:
        return None
    cinfo, phi, beta = solved
    rss = float(a.reshape(-1) @ st.yy.reshape(-1)) - float(beta @ xty)
    value = criterion(logdet, rss, cinfo, st.n_obs, k, reml=True)
    s = _residual_products(layout, st, beta)
    psi = jmap @ phi @ jmap.T
    u = a @ s @ a
    c = a @ _per_pattern(layout, st.zz, psi) @ a
    per = a * st.count[:, None, None] - u - c
    grad = layout.basis_flat @ per.sum(axis=0).ravel()
    resid_z = st.yz - _by_visit(layout, beta) @ st.zz.reshape(-1, d, d)
    return MappedPoint(value, grad, a, phi, beta, u, c, resid_z, psi)


def average_information(layout: MappedLayout, pt: MappedPoint) -> tuple[np.ndarray, np.ndarray]:
    """y'PV_iPV_jPy and the sandwiches A_p E_j A_p (q, P, m, m) it was built from."""
    m, d, q = layout.m, layout.d, layout.q
    n_pat = pt.a.shape[0]
    f = sandwich_basis(layout, pt.a).reshape(q, n_pat, m, m)
    # h_j = X'V⁻¹ E_j P y = J' Σ_p vec(A_p E_j A_p R_p), R_p = Σ_s r_s z_s'
    hz = f.transpose(0, 2, 1, 3).reshape(q, m, n_pat * m) @ pt.resid_z.reshape(n_pat * m, d)
    h = hz.transpose(0, 2, 1).reshape(q, d * m) @ layout.jmap
    ai = kron_trace(layout, pt.a, pt.u) - h @ pt.phi @ h.T
    return 0.5 * (ai + ai.T), f


def observed_hessian(
    layout: MappedLayout, st: MappedStats, pt: MappedPoint, ai: np.ndarray, f: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Observed Hessian of -2 l_REML in φ, and Q_j = Σ_p ZZ_p ⊗ A_p E_j A_p (q, d·m, d·m), so that
    X'V⁻¹E_jV⁻¹X = J' Q_j J."""
    m, d, q = layout.m, layout.d, layout.q
    n_pat = pt.a.shape[0]
    qz = (st.zz.T @ f.reshape(q, n_pat, m * m)).reshape(q, d, d, m, m)
    qz = qz.transpose(0, 1, 3, 2, 4).reshape(q, d * m, d * m)
    rpsi = pt.psi @ qz  # tr(Φ P̃_i Φ P̃_j) = tr(Ψ Q_i Ψ Q_j), Ψ = J Φ J'
    tr_pp = rpsi.reshape(q, -1) @ np.transpose(rpsi, (0, 2, 1)).reshape(q, -1).T
    tr_pvpv = kron_trace(layout, pt.a, pt.a * st.count[:, None, None]) - 2.0 * kron_trace(layout, pt.a, pt.c) + tr_pp
    hess = -tr_pvpv + 2.0 * ai
    return 0.5 * (hess + hess.T), qz


def contrast(
    layout: MappedLayout, st: MappedStats, pt: MappedPoint, hess: np.ndarray, qz: np.ndarray, row: np.ndarray, kr: bool
) -> tuple[float, float, float]:
    """Estimate, SE (Kenward-Roger adjusted when ``kr``) and Satterthwaite df of l'β, from the
    observed Hessian ``hess`` at the optimum (W = Cov(φ̂) = 2 H⁻¹) and its Q matrices."""
    w = 2.0 * np.linalg.inv(hess)
    w = 0.5 * (w + w.T)
    est = float(row @ pt.beta)
    zvec = pt.phi @ row
    var = float(row @ zvec)
    jz = layout.jmap @ zvec
    pz = (qz @ jz) @ layout.jmap  # (q, k): P̃_j Φ l
    g = pz @ zvec
    denom = float(g @ w @ g)
    df = 2.0 * var * var / denom if denom > 0 and var > 0 else float("inf")
    if kr:
        zm = jz.reshape(layout.d, layout.m).T  # X_s Φ l = zm @ z_s
        xzzx = zm @ st.zz.reshape(-1, layout.d, layout.d) @ zm.T
        zqz = kron_trace(layout, pt.a, pt.a @ xzzx @ pt.a)
        zppz = pz @ pt.phi @ pz.T
        var = var + 2.0 * float(np.sum(w * (zqz - zppz)))
    return est, float(np.sqrt(max(var, 0.0))), df

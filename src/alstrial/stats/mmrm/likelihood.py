"""The (restricted) log-likelihood with β profiled out, and its gradient w.r.t. each Σ_g.

For subject i with observed visits o(i): y_i ~ N(X_i β, W_i^{-1/2} Σ[o,o] W_i^{-1/2}). The
weights are absorbed by scaling y and X by √w (see :mod:`arrays`), which leaves ``-Σ log w`` in
log|V|. A missing visit is padded with an identity block, which contributes nothing to
determinants or quadratic forms, so all subjects share one batched computation.

-2 l_REML(Σ) = Σ_i log|Σ_i| + r'V⁻¹r + log|X'V⁻¹X| + (N − p) log 2π   (SAS's constant)
-2 l_ML(Σ)   = Σ_i log|Σ_i| + r'V⁻¹r + N log 2π
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alstrial.stats.mmrm.arrays import RepeatedArrays

_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Evaluation:
    """Everything one likelihood evaluation produces; reused by inference at the optimum."""

    value: float  # -2 log-likelihood
    beta: np.ndarray
    cov_beta: np.ndarray  # (X'V⁻¹X)⁻¹
    linv: np.ndarray  # (P, m, m) inverse Cholesky factor of each padded pattern covariance
    grad_sigma: np.ndarray | None  # (G, m, m) d(-2l)/dΣ_g


def padded_pattern_covariances(arrays: RepeatedArrays, sigmas: np.ndarray) -> np.ndarray:
    """Σ_g restricted to each pattern's visits, identity on the missing ones: (P, m, m)."""
    pm = arrays.pattern_mask
    both = pm[:, :, None] & pm[:, None, :]
    padded = np.where(both, sigmas[arrays.pattern_group], 0.0)
    eye = np.eye(arrays.n_visits, dtype=bool)[None]
    return np.where(eye & ~pm[:, :, None], 1.0, padded)


@dataclass(frozen=True)
class PatternStats:
    """Per-pattern sufficient statistics: with few missingness patterns (monotone dropout) every
    evaluation costs O(patterns · m²k²), independent of the number of subjects."""

    xx: np.ndarray  # (P·m·m, k·k): Σ_i X_i[a,:] ⊗ X_i[b,:]
    xy: np.ndarray  # (P·m·m, k): Σ_i X_i[a,:] y_i[b]
    yy: np.ndarray  # (P, m, m): Σ_i y_i y_i'


def pattern_stats(arrays: RepeatedArrays) -> PatternStats | None:
    """Aggregate subjects by pattern when that is cheaper than working subject by subject."""
    n, m, k = arrays.x.shape
    n_pat = len(arrays.pattern_count)
    if n_pat * k > n:
        return None
    xx = np.zeros((n_pat, m, m, k, k))
    xy = np.zeros((n_pat, m, m, k))
    yy = np.zeros((n_pat, m, m))
    for p in range(n_pat):
        sel = arrays.pattern == p
        xp, yp = arrays.x[sel], arrays.y[sel]
        flat = xp.reshape(len(xp), m * k)
        xx[p] = (flat.T @ flat).reshape(m, k, m, k).transpose(0, 2, 1, 3)
        xy[p] = np.einsum("nak,nb->abk", xp, yp)
        yy[p] = yp.T @ yp
    return PatternStats(xx.reshape(n_pat * m * m, k * k), xy.reshape(n_pat * m * m, k), yy)


def inverse_cholesky(spad: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(diagonal of L, L⁻¹) of each padded pattern covariance; None if one is not positive definite."""
    try:
        chol = np.linalg.cholesky(spad)
    except np.linalg.LinAlgError:
        return None
    diag = np.diagonal(chol, axis1=1, axis2=2)
    if not np.all(np.isfinite(diag)) or np.any(diag <= 0):
        return None
    return diag, np.linalg.inv(chol)


def evaluate(
    arrays: RepeatedArrays,
    sigmas: np.ndarray,
    *,
    reml: bool,
    gradient: bool,
    stats: PatternStats | None = None,
) -> Evaluation | None:
    """-2 log-likelihood at the given per-group covariance matrices; None if one is not PD."""
    factored = inverse_cholesky(padded_pattern_covariances(arrays, sigmas))
    if factored is None:
        return None
    diag, linv = factored
    logdet_pattern = 2.0 * np.log(diag).sum(axis=1)
    logdet = float(arrays.pattern_count @ logdet_pattern) - arrays.log_weight_sum
    if stats is not None:
        return _evaluate_aggregated(arrays, stats, linv, logdet, reml, gradient)
    li = linv[arrays.pattern]
    xt = li @ arrays.x  # whitened design (n, m, k)
    yt = np.einsum("nab,nb->na", li, arrays.y)
    n, m, k = xt.shape
    xf = xt.reshape(n * m, k)
    info = xf.T @ xf
    xty = xf.T @ yt.ravel()
    solved = gls_solution(info, xty)
    if solved is None:
        return None
    cinfo, cov_beta, beta = solved
    rt = yt - xt @ beta
    rss = float((rt * rt).sum())
    value = criterion(logdet, rss, cinfo, arrays.n_obs, k, reml)
    grad = None
    if gradient:
        grad = _gradient(arrays, linv, li, xt, rt, cov_beta, reml)
    return Evaluation(value=value, beta=beta, cov_beta=cov_beta, linv=linv, grad_sigma=grad)


def gls_solution(info: np.ndarray, xty: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Cholesky of X'V⁻¹X, the covariance of β̂ and β̂ itself; None when X'V⁻¹X is not positive definite."""
    try:
        cinfo = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None
    cov_beta = np.linalg.inv(info)
    cov_beta = 0.5 * (cov_beta + cov_beta.T)
    return cinfo, cov_beta, cov_beta @ xty


def criterion(logdet: float, rss: float, cinfo: np.ndarray, n_obs: int, k: int, reml: bool) -> float:
    """-2 log-likelihood (ML) or -2 restricted log-likelihood (REML, adds log|X'V⁻¹X|)."""
    if reml:
        return logdet + rss + 2.0 * float(np.log(np.diagonal(cinfo)).sum()) + (n_obs - k) * _LOG_2PI
    return logdet + rss + n_obs * _LOG_2PI


def _evaluate_aggregated(
    arrays: RepeatedArrays,
    stats: PatternStats,
    linv: np.ndarray,
    logdet: float,
    reml: bool,
    gradient: bool,
) -> Evaluation | None:
    n_pat, m, _ = linv.shape
    k = arrays.n_coef
    a = np.transpose(linv, (0, 2, 1)) @ linv  # padded inverses; X, y vanish on missing visits
    a_flat = a.reshape(-1)
    info = (a_flat @ stats.xx).reshape(k, k)
    info = 0.5 * (info + info.T)
    xty = a_flat @ stats.xy
    solved = gls_solution(info, xty)
    if solved is None:
        return None
    cinfo, cov_beta, beta = solved
    yay = float(a_flat @ stats.yy.reshape(-1))
    rss = yay - float(beta @ xty)
    value = criterion(logdet, rss, cinfo, arrays.n_obs, k, reml)
    grad = None
    if gradient:
        xyb = (stats.xy @ beta).reshape(n_pat, m, m)  # Σ_i (X_i β)_a y_ib
        xxbb = (stats.xx @ np.outer(beta, beta).ravel()).reshape(n_pat, m, m)
        s = stats.yy - xyb - np.transpose(xyb, (0, 2, 1)) + xxbb  # Σ_i r_i r_i'
        if reml:
            s = s + (stats.xx @ cov_beta.ravel()).reshape(n_pat, m, m)  # + Σ_i X_i Φ X_i'
        pm = arrays.pattern_mask
        per = np.where(pm[:, :, None] & pm[:, None, :], a, 0.0) * arrays.pattern_count[:, None, None]
        per = per - a @ s @ a
        out = np.zeros((arrays.n_groups, m, m))
        np.add.at(out, arrays.pattern_group, per)
        grad = 0.5 * (out + np.transpose(out, (0, 2, 1)))
    return Evaluation(value=value, beta=beta, cov_beta=cov_beta, linv=linv, grad_sigma=grad)


def _gradient(
    arrays: RepeatedArrays,
    linv: np.ndarray,
    li: np.ndarray,
    xt: np.ndarray,
    rt: np.ndarray,
    cov_beta: np.ndarray,
    reml: bool,
) -> np.ndarray:
    """d(-2l)/dΣ_g = Σ_i A_i − u_i u_i' − [B_i (X'V⁻¹X)⁻¹ B_i'], A_i = Σ_i⁻¹, u = A r, B = A X."""
    pm = arrays.pattern_mask
    a = np.transpose(linv, (0, 2, 1)) @ linv
    a = np.where(pm[:, :, None] & pm[:, None, :], a, 0.0) * arrays.pattern_count[:, None, None]
    u = np.einsum("nba,nb->na", li, rt)
    m = arrays.n_visits
    out = np.zeros((arrays.n_groups, m, m))
    np.add.at(out, arrays.pattern_group, a)
    if reml:
        b = np.transpose(li, (0, 2, 1)) @ xt
        bc = b @ cov_beta
    for g in range(arrays.n_groups):
        sel = arrays.group == g if arrays.n_groups > 1 else slice(None)
        ug = u[sel]
        out[g] -= ug.T @ ug
        if reml:
            out[g] -= np.einsum("nak,nbk->ab", bc[sel], b[sel])
    return 0.5 * (out + np.transpose(out, (0, 2, 1)))


def weighted_design(arrays: RepeatedArrays, linv: np.ndarray) -> np.ndarray:
    """B_i = Σ_i⁻¹ X_i for every subject, (n, m, k) (zero rows at missing visits)."""
    li = linv[arrays.pattern]
    a = np.transpose(li, (0, 2, 1)) @ li
    return a @ arrays.x


def residual_scores(arrays: RepeatedArrays, linv: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Per-subject score contributions X_i' Σ_i⁻¹ r_i, (n, k): the sandwich's meat."""
    li = linv[arrays.pattern]
    a = np.transpose(li, (0, 2, 1)) @ li
    r = arrays.y - arrays.x @ beta
    u = np.einsum("nab,nb->na", a, r)
    return np.einsum("nak,na->nk", arrays.x, u)

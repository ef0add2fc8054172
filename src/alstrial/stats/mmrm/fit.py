"""Fitting: starting values, optimisation over theta, and the inference pieces at the optimum."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from alstrial.stats.mmrm.arrays import RepeatedArrays
from alstrial.stats.mmrm.covariance import CovarianceStructure
from alstrial.stats.mmrm.ddf import Inference, kr_adjusted_cov
from alstrial.stats.mmrm.errors import MMRMConvergenceWarning, MMRMDataError, MMRMError
from alstrial.stats.mmrm.likelihood import (
    Evaluation,
    PatternStats,
    evaluate,
    pattern_stats,
    residual_scores,
    weighted_design,
)
from alstrial.stats.mmrm.newton import (
    Layout,
    PatternData,
    average_information,
    newton,
    observed_hessian,
    sigma_of,
)
from alstrial.stats.mmrm.optimize import OptimResult, minimize
from alstrial.stats.mmrm.prepare_core import PreparedArrays
from alstrial.stats.mmrm.spec import MMRMSpec


@dataclass(frozen=True)
class FitOutcome:
    """Raw numbers of a fit, before they are dressed as an :class:`MMRMResult`."""

    theta: np.ndarray  # (G, q_g)
    natural: np.ndarray  # (G, q_g)
    natural_cov: np.ndarray  # Cov(φ̂), (G q_g, G q_g)
    sigmas: np.ndarray  # (G, m, m)
    evaluation: Evaluation
    optim: OptimResult
    inference: Inference


def pairwise_covariance(resid: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance of residuals (n, m), correlations shrunk to a valid matrix."""
    obs = mask.astype(float)
    return covariance_from_products(resid.T @ resid, obs.T @ obs)


def covariance_from_products(cross: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`pairwise_covariance` from Σ r r' (zeros where not observed) and the pair counts; also
    for stacks (..., m, m) of them, one covariance per matrix (the batch fit's many trials)."""
    m = cross.shape[-1]
    diag = np.arange(m)
    s = cross / np.maximum(counts, 1.0)
    var = np.where(counts[..., diag, diag] > 0, s[..., diag, diag], np.nan)
    finite = np.isfinite(var)
    n_finite = finite.sum(axis=-1, keepdims=True)
    mean = np.where(finite, var, 0.0).sum(axis=-1, keepdims=True) / np.maximum(n_finite, 1)
    fallback = np.where(n_finite > 0, mean, 1.0)  # the mean of the variances that exist, else 1
    var = np.where(finite & (var > 0), var, fallback)
    s[..., diag, diag] = var
    sd = np.sqrt(var)
    outer = sd[..., :, None] * sd[..., None, :]
    corr = np.clip(s / outer, -0.9, 0.9)
    corr = np.where(counts > 2, corr, 0.0)
    corr[..., diag, diag] = 1.0
    vals, vecs = np.linalg.eigh(corr)
    corr = (vecs * np.maximum(vals, 0.05)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    d = np.sqrt(corr[..., diag, diag])
    corr = corr / (d[..., :, None] * d[..., None, :])
    return np.asarray(corr * outer)


def _moment_start(arrays: RepeatedArrays, structure: CovarianceStructure) -> np.ndarray:
    """OLS residuals → pairwise-complete covariance per group → theta (a cheap, sensible start)."""
    n, m, k = arrays.x.shape
    xf = arrays.x.reshape(n * m, k)
    beta, *_ = np.linalg.lstsq(xf, arrays.y.ravel(), rcond=None)
    resid = (arrays.y - arrays.x @ beta) * arrays.mask
    if np.abs(resid).max() <= 1e-10 * max(float(np.abs(arrays.y).max()), np.finfo(float).tiny):
        # the REML likelihood is unbounded as the covariance shrinks to 0: nothing to estimate
        raise MMRMDataError(
            "the fixed effects fit the response exactly (every residual is 0), so the covariance "
            "cannot be estimated; use more data or fewer fixed effects"
        )
    starts = []
    for g in range(arrays.n_groups):
        sel = arrays.group == g
        starts.append(structure.start(pairwise_covariance(resid[sel], arrays.mask[sel])))
    return np.array(starts)


def fit_arrays(spec: MMRMSpec, prepared: PreparedArrays, structure: CovarianceStructure) -> FitOutcome:
    arrays = prepared.arrays
    reml = spec.method == "reml"
    n_groups = arrays.n_groups
    q = structure.n_theta
    stats = pattern_stats(arrays)

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        theta = flat.reshape(n_groups, q)
        sigmas = np.array([structure.sigma(t) for t in theta])
        ev = evaluate(arrays, sigmas, reml=reml, gradient=True, stats=stats)
        if ev is None or ev.grad_sigma is None:
            return float("inf"), np.zeros_like(flat)
        grad = np.concatenate(
            [np.einsum("jab,ab->j", structure.d_sigma(t), gs) for t, gs in zip(theta, ev.grad_sigma, strict=True)]
        )
        return ev.value, grad

    start = _moment_start(arrays, structure).ravel()
    fast = _newton_fit(spec, arrays, structure, stats, start) if stats is not None else None
    if fast is not None:
        optim, natural_cov = fast
    else:
        with np.errstate(all="ignore"):
            optim = minimize(objective, start)
        natural_cov = _natural_covariance(structure, optim.theta.reshape(n_groups, q), optim)
    if not optim.converged:
        warnings.warn(
            f"MMRM did not converge (cov={spec.cov!r}, method={spec.method!r}): {optim.message}; "
            "estimates may be unreliable — check the model or simplify the covariance structure",
            MMRMConvergenceWarning,
            stacklevel=3,
        )
    theta = optim.theta.reshape(n_groups, q)
    sigmas = np.array([structure.sigma(t) for t in theta])
    ev = evaluate(arrays, sigmas, reml=reml, gradient=False)
    if ev is None:
        raise MMRMError("the fitted covariance matrix is not positive definite; the model cannot be fitted")
    natural = np.array([structure.natural(t) for t in theta])
    inference = _inference(spec, prepared, structure, natural, sigmas, ev, natural_cov)
    return FitOutcome(theta, natural, natural_cov, sigmas, ev, optim, inference)


def _newton_fit(
    spec: MMRMSpec, arrays: RepeatedArrays, structure: CovarianceStructure, stats: PatternStats, start: np.ndarray
) -> tuple[OptimResult, np.ndarray] | None:
    """Unstructured REML with one covariance group: analytic Newton (:mod:`newton`), several times
    faster than the general optimizer chain; None when it does not apply or does not converge."""
    if structure.name != "us" or arrays.n_groups != 1 or spec.method != "reml":
        return None
    layout = Layout(arrays.n_visits, arrays.n_coef)
    data = PatternData(
        mask=arrays.pattern_mask,
        count=arrays.pattern_count.astype(float),
        xx=stats.xx,
        xy=stats.xy,
        yy=stats.yy,
        n_obs=arrays.n_obs,
        log_weight_sum=arrays.log_weight_sum,
    )
    with np.errstate(all="ignore"):
        found = newton(layout, data, structure.sigma(start))
        if found is None:
            return None
        vec, point, iterations = found
        hess, _ = observed_hessian(layout, data, point, *average_information(layout, point))
        try:
            cov = 2.0 * np.linalg.inv(hess)
            step = np.linalg.solve(hess, point.grad)
        except np.linalg.LinAlgError:
            return None
    if not np.all(np.isfinite(cov)):
        return None
    theta = structure.start(sigma_of(layout, vec))
    crit = float(step @ point.grad) / max(abs(point.value), 1.0)
    optim = OptimResult(theta, point.value, point.grad, None, True, crit, "Newton", "converged", iterations)
    return optim, 0.5 * (cov + cov.T)


def _natural_covariance(structure: CovarianceStructure, theta: np.ndarray, optim: OptimResult) -> np.ndarray:
    """Cov(φ̂) = 2 H_φ⁻¹ with H_φ = J⁻ᵀ H_θ J⁻¹ (valid at a stationary point), J = ∂φ/∂θ."""
    n_groups, q = theta.shape
    size = n_groups * q
    if optim.hessian is None:
        return np.full((size, size), np.nan)
    jac = np.zeros((size, size))
    for g, t in enumerate(theta):
        h = 1e-6 * np.maximum(np.abs(t), 1.0)
        for j in range(q):
            e = np.zeros(q)
            e[j] = h[j]
            jac[g * q : (g + 1) * q, g * q + j] = (structure.natural(t + e) - structure.natural(t - e)) / (2 * h[j])
    try:
        jinv = np.linalg.inv(jac)
        h_phi = jinv.T @ optim.hessian @ jinv
        cov = 2.0 * np.linalg.inv(h_phi)
    except np.linalg.LinAlgError:
        return np.full((size, size), np.nan)
    return 0.5 * (cov + cov.T)


def _inference(
    spec: MMRMSpec,
    prepared: PreparedArrays,
    structure: CovarianceStructure,
    natural: np.ndarray,
    sigmas: np.ndarray,
    ev: Evaluation,
    natural_cov: np.ndarray,
) -> Inference:
    arrays = prepared.arrays
    k = arrays.n_coef
    n_obs, n_subj = arrays.n_obs, arrays.n_subjects
    residual_df = float(n_obs - k)
    between = prepared.between_columns
    n_between = int(between.sum())
    column_df = np.where(between, n_subj - n_between, n_obs - n_subj - (k - n_between)).astype(float)
    if spec.df == "residual":
        column_df = np.full(k, residual_df)
    if spec.vcov == "empirical":
        scores = residual_scores(arrays, ev.linv, ev.beta)
        meat = scores.T @ scores
        sandwich = ev.cov_beta @ meat @ ev.cov_beta
        return Inference(ev.beta, ev.cov_beta, spec.df, cov_beta=sandwich, residual_df=residual_df, column_df=column_df)
    if spec.df in ("residual", "between-within"):
        return Inference(ev.beta, ev.cov_beta, spec.df, residual_df=residual_df, column_df=column_df)
    b = weighted_design(arrays, ev.linv)  # (n, m, k)
    m = arrays.n_visits
    d_sigma = [structure.d_sigma_natural(phi) for phi in natural]
    q = natural.shape[1]
    size = arrays.n_groups * q
    p_mats = np.zeros((size, k, k))
    group_s = []
    for g in range(arrays.n_groups):
        bg = b[arrays.group == g].reshape(-1, m * k)
        s = (bg.T @ bg).reshape(m, k, m, k)
        group_s.append(s)
        p_mats[g * q : (g + 1) * q] = -np.einsum("jab,akbl->jkl", d_sigma[g], s)
    w = natural_cov
    cov_beta = ev.cov_beta
    if spec.df.startswith("kenward"):
        q_mats = np.zeros((size, size, k, k))
        r_mats = np.zeros((size, size, k, k)) if spec.df == "kenward-roger" else None
        pm = arrays.pattern_mask
        a_all = np.transpose(ev.linv, (0, 2, 1)) @ ev.linv
        a_all = np.where(pm[:, :, None] & pm[:, None, :], a_all, 0.0)
        for p in range(len(pm)):
            g = int(arrays.pattern_group[p])
            bp = b[arrays.pattern == p].reshape(-1, m * k)
            sp = (bp.T @ bp).reshape(m, k, m, k)
            e = np.einsum("iab,bc,jcd->ijad", d_sigma[g], a_all[p], d_sigma[g])
            sl = slice(g * q, (g + 1) * q)
            q_mats[sl, sl] += np.einsum("ijad,akdl->ijkl", e, sp)
        if r_mats is not None:
            for g in range(arrays.n_groups):
                d2 = structure.d2_sigma_natural(natural[g])
                sl = slice(g * q, (g + 1) * q)
                r_mats[sl, sl] = np.einsum("ijab,akbl->ijkl", d2, group_s[g])
        cov_beta = kr_adjusted_cov(ev.cov_beta, p_mats, q_mats, r_mats, w)
    return Inference(
        ev.beta,
        ev.cov_beta,
        spec.df,
        p_mats=p_mats,
        w=w,
        cov_beta=cov_beta,
        residual_df=residual_df,
        column_df=column_df,
    )

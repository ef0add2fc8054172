"""Multivariate-normal tools for imputation: EM with arbitrary missingness, conditional draws.

EM (Dempster, Laird & Rubin 1977) gives the ML mean and covariance when some visits are
missing, processing subjects by missingness pattern so each pattern costs one solve.
"""

from __future__ import annotations

import numpy as np

from alstrial.stats.endpoint_data import EndpointDataError


def _patterns(miss: np.ndarray) -> dict[bytes, np.ndarray]:
    keys = np.packbits(miss, axis=1)
    out: dict[bytes, list[int]] = {}
    for i, k in enumerate(keys):
        out.setdefault(k.tobytes(), []).append(i)
    return {k: np.asarray(v) for k, v in out.items()}


def mvn_em(x: np.ndarray, *, max_iter: int = 1000, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """ML estimates ``(mean, cov)`` of an n×p array with NaN for missing values.

    Every column needs at least two observed values; a row with nothing observed is ignored.
    """
    x = np.asarray(x, dtype=float)
    miss = np.isnan(x)
    x = x[~miss.all(axis=1)]
    miss = np.isnan(x)
    n, p = x.shape
    n_obs = (~miss).sum(axis=0)
    if (n_obs < 2).any():
        col = int(np.argmax(n_obs < 2))
        raise EndpointDataError(f"MVN EM: column {col} has fewer than 2 observed values ({int(n_obs[col])})")
    mu = np.nanmean(x, axis=0)
    sigma = np.diag(np.nanvar(x, axis=0) + 1e-12)
    groups = [(miss[idx[0]], idx) for idx in _patterns(miss).values()]
    for _ in range(max_iter):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for m, idx in groups:
            o = ~m
            xs = x[idx].copy()
            add = np.zeros((p, p))
            if m.any():
                s_oo = sigma[np.ix_(o, o)]
                s_mo = sigma[np.ix_(m, o)]
                coef = np.linalg.solve(s_oo, s_mo.T).T  # Σ_mo Σ_oo⁻¹
                xs[:, m] = mu[m] + (xs[:, o] - mu[o]) @ coef.T
                add[np.ix_(m, m)] = (sigma[np.ix_(m, m)] - coef @ s_mo.T) * len(idx)
            t1 += xs.sum(axis=0)
            t2 += xs.T @ xs + add
        new_mu = t1 / n
        new_sigma = t2 / n - np.outer(new_mu, new_mu)
        delta = max(np.max(np.abs(new_mu - mu)), np.max(np.abs(new_sigma - sigma)))
        mu, sigma = new_mu, (new_sigma + new_sigma.T) / 2
        if delta < tol * (1 + np.max(np.abs(sigma))):
            break
    return mu, sigma


def conditional_draw(
    x_obs: np.ndarray,
    obs: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw the missing part (``~obs``) of rows sharing one pattern from N(μ, Σ) given ``x_obs``.

    ``x_obs`` is k×|obs| (observed values of k subjects), ``mu``/``sigma`` the joint parameters
    (which may differ from the arm's own, e.g. jump to reference). Returns k×|~obs|.
    """
    m = ~obs
    k = x_obs.shape[0]
    s_mm = sigma[np.ix_(m, m)]
    if obs.any():
        s_oo = sigma[np.ix_(obs, obs)]
        s_mo = sigma[np.ix_(m, obs)]
        coef = np.linalg.solve(s_oo, s_mo.T).T
        mean = mu[m] + (x_obs - mu[obs]) @ coef.T
        cov = s_mm - coef @ s_mo.T
    else:
        mean = np.broadcast_to(mu[m], (k, int(m.sum())))
        cov = s_mm
    cov = (cov + cov.T) / 2
    w, v = np.linalg.eigh(cov)
    root = v * np.sqrt(np.clip(w, 0, None))
    return mean + rng.standard_normal((k, int(m.sum()))) @ root.T

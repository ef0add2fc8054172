"""Covariance structures of the within-subject errors.

Each structure has two parameterisations:

* ``theta`` — unconstrained, used by the optimizer (log variances, log-Cholesky, atanh/partial
  autocorrelations), so every theta gives a positive-definite matrix;
* ``natural`` — SAS PROC MIXED's parameters (variances, covariances, correlations). Inference
  that is not invariant to the parameterisation (Kenward-Roger's second-derivative term) uses
  these, which is what makes our KR numbers equal SAS's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

CovType = Literal["us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh"]
COV_TYPES: tuple[str, ...] = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh")

_FD_STEP = 1e-5


def _clip_corr(r: np.ndarray | float, bound: float = 0.95) -> np.ndarray:
    return np.clip(r, -bound, bound)


def _corr_of(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(np.maximum(np.diag(s), 1e-12))
    return sd**2, s / np.outer(sd, sd)


def _lag_means(corr: np.ndarray) -> np.ndarray:
    m = corr.shape[0]
    return np.array([np.mean(np.diag(corr, k)) for k in range(1, m)])


def _durbin_levinson(pacf: np.ndarray) -> np.ndarray:
    """Autocorrelations r_1..r_p from partial autocorrelations in (-1, 1): always a valid Toeplitz."""
    p = len(pacf)
    r = np.zeros(p + 1)
    r[0] = 1.0
    phi = np.zeros(0)
    for k in range(1, p + 1):
        a = pacf[k - 1]
        r[k] = a * (1.0 - phi @ r[1:k]) + phi @ r[k - 1 : 0 : -1] if k > 1 else a
        phi = np.concatenate([phi - a * phi[::-1], [a]])
    return r[1:]


def _pacf_from_acf(r: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_durbin_levinson` (clipped, for starting values)."""
    p = len(r)
    full = np.concatenate([[1.0], r])
    out = np.zeros(p)
    phi = np.zeros(0)
    for k in range(1, p + 1):
        num = full[k] - (phi @ full[k - 1 : 0 : -1] if k > 1 else 0.0)
        den = 1.0 - (phi @ full[1:k] if k > 1 else 0.0)
        a = float(_clip_corr(num / den if den > 1e-8 else 0.0))
        out[k - 1] = a
        phi = np.concatenate([phi - a * phi[::-1], [a]])
    return out


def _toeplitz(first_row: np.ndarray) -> np.ndarray:
    m = len(first_row)
    idx = np.abs(np.arange(m)[:, None] - np.arange(m)[None, :])
    return first_row[idx]


class CovarianceStructure(ABC):
    """A family of m×m covariance matrices, with derivatives in both parameterisations."""

    name: str = ""
    linear_natural: bool = False  # True if Σ is linear in the natural parameters (d²Σ = 0)

    def __init__(self, n_visits: int) -> None:
        self.m = n_visits

    @property
    @abstractmethod
    def n_theta(self) -> int: ...

    @abstractmethod
    def natural_names(self) -> list[str]: ...

    @abstractmethod
    def natural(self, theta: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def start(self, moment: np.ndarray) -> np.ndarray:
        """Starting theta from a moment estimate of the covariance matrix."""

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        return self.sigma_from_natural(self.natural(theta))

    def d_sigma(self, theta: np.ndarray) -> np.ndarray:
        """dΣ/dθ as (q, m, m); central differences unless a subclass knows better."""
        return self._fd_first(self.sigma, theta)

    def d_sigma_natural(self, phi: np.ndarray) -> np.ndarray:
        return self._fd_first(self.sigma_from_natural, phi)

    def d2_sigma_natural(self, phi: np.ndarray) -> np.ndarray:
        """d²Σ/dφ_i dφ_j as (q, q, m, m); exactly zero for structures linear in φ."""
        q = len(phi)
        out = np.zeros((q, q, self.m, self.m))
        if self.linear_natural:
            return out
        h = 1e-4 * np.maximum(np.abs(phi), 1e-2)
        for i in range(q):
            for j in range(i, q):
                ei = np.zeros(q)
                ej = np.zeros(q)
                ei[i] = h[i]
                ej[j] = h[j]
                f = self.sigma_from_natural
                val = (f(phi + ei + ej) - f(phi + ei - ej) - f(phi - ei + ej) + f(phi - ei - ej)) / (4 * h[i] * h[j])
                out[i, j] = out[j, i] = val
        return out

    def _fd_first(self, f: object, x: np.ndarray) -> np.ndarray:
        fn = f  # callable(np.ndarray) -> np.ndarray
        q = len(x)
        out = np.zeros((q, self.m, self.m))
        h = _FD_STEP * np.maximum(np.abs(x), 1.0)
        for i in range(q):
            e = np.zeros(q)
            e[i] = h[i]
            out[i] = (fn(x + e) - fn(x - e)) / (2 * h[i])  # type: ignore[operator]
        return out


class Unstructured(CovarianceStructure):
    """``us``: every variance and covariance free; theta is the log-Cholesky factor (row-wise)."""

    name = "us"
    linear_natural = True

    def __init__(self, n_visits: int) -> None:
        super().__init__(n_visits)
        self.rows, self.cols = np.tril_indices(n_visits)  # row-wise: (1,1), (2,1), (2,2), ...

    @property
    def n_theta(self) -> int:
        return self.m * (self.m + 1) // 2

    def natural_names(self) -> list[str]:
        return [f"UN({i + 1},{j + 1})" for i, j in zip(self.rows, self.cols, strict=True)]

    def _chol(self, theta: np.ndarray) -> np.ndarray:
        lower = np.zeros((self.m, self.m))
        lower[self.rows, self.cols] = theta
        d = np.arange(self.m)
        lower[d, d] = np.exp(lower[d, d])
        return lower

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        lower = self._chol(theta)
        return lower @ lower.T

    def d_sigma(self, theta: np.ndarray) -> np.ndarray:
        lower = self._chol(theta)
        q = self.n_theta
        out = np.zeros((q, self.m, self.m))
        for k, (i, j) in enumerate(zip(self.rows, self.cols, strict=True)):
            scale = lower[i, j] if i == j else 1.0  # chain rule through exp on the diagonal
            # d(LL')/dL_ij = E_ij L' + L E_ji
            out[k, i, :] += scale * lower[:, j]
            out[k, :, i] += scale * lower[:, j]
        return out

    def natural(self, theta: np.ndarray) -> np.ndarray:
        return self.sigma(theta)[self.rows, self.cols]

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        s = np.zeros((self.m, self.m))
        s[self.rows, self.cols] = phi
        s[self.cols, self.rows] = phi
        return s

    def d_sigma_natural(self, phi: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_theta, self.m, self.m))
        k = np.arange(self.n_theta)
        out[k, self.rows, self.cols] = 1.0
        out[k, self.cols, self.rows] = 1.0
        return out

    def start(self, moment: np.ndarray) -> np.ndarray:
        lower = np.linalg.cholesky(moment)
        d = np.arange(self.m)
        lower[d, d] = np.log(lower[d, d])
        return lower[self.rows, self.cols]


def _bounded(t: np.ndarray | float, lo: float, hi: float) -> np.ndarray:
    return lo + (hi - lo) / (1.0 + np.exp(-np.asarray(t, dtype=float)))


def _unbounded(x: float, lo: float, hi: float) -> float:
    u = (x - lo) / (hi - lo)
    u = min(max(u, 1e-4), 1 - 1e-4)
    return float(np.log(u / (1 - u)))


class CompoundSymmetry(CovarianceStructure):
    """``cs``: common variance and correlation; natural = SAS (CS covariance, Residual)."""

    name = "cs"
    linear_natural = True

    @property
    def n_theta(self) -> int:
        return 2

    def _lo(self) -> float:
        return -1.0 / (self.m - 1) if self.m > 1 else -0.99

    def natural_names(self) -> list[str]:
        return ["CS", "Residual"]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        v = np.exp(theta[0])
        rho = float(_bounded(theta[1], self._lo(), 1.0))
        return np.array([v * rho, v * (1 - rho)])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        return phi[0] * np.ones((self.m, self.m)) + phi[1] * np.eye(self.m)

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        rho = float(np.mean(corr[np.triu_indices(self.m, 1)])) if self.m > 1 else 0.0
        return np.array([np.log(np.mean(var)), _unbounded(rho, self._lo(), 1.0)])


class HeterogeneousCS(CovarianceStructure):
    """``csh``: a variance per visit and one common correlation."""

    name = "csh"

    @property
    def n_theta(self) -> int:
        return self.m + 1

    def _lo(self) -> float:
        return -1.0 / (self.m - 1) if self.m > 1 else -0.99

    def natural_names(self) -> list[str]:
        return [f"Var({k + 1})" for k in range(self.m)] + ["CSH"]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        return np.concatenate([np.exp(theta[: self.m]), [_bounded(theta[self.m], self._lo(), 1.0)]])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        sd = np.sqrt(phi[: self.m])
        corr = (1 - phi[self.m]) * np.eye(self.m) + phi[self.m]
        return corr * np.outer(sd, sd)

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        rho = float(np.mean(corr[np.triu_indices(self.m, 1)])) if self.m > 1 else 0.0
        return np.concatenate([np.log(var), [_unbounded(rho, self._lo(), 1.0)]])


class AR1(CovarianceStructure):
    """``ar1``: Σ_jk = σ² ρ^|j-k|; natural = (σ², ρ) as in SAS (Residual, AR(1))."""

    name = "ar1"

    @property
    def n_theta(self) -> int:
        return 2

    def natural_names(self) -> list[str]:
        return ["Residual", "AR(1)"]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        return np.array([np.exp(theta[0]), np.tanh(theta[1])])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        lag = np.abs(np.arange(self.m)[:, None] - np.arange(self.m)[None, :])
        return phi[0] * phi[1] ** lag

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        rho = _lag_means(corr)[0] if self.m > 1 else 0.0
        return np.array([np.log(np.mean(var)), np.arctanh(_clip_corr(rho))])


class HeterogeneousAR1(CovarianceStructure):
    """``ar1h``: a variance per visit and AR(1) correlation."""

    name = "ar1h"

    @property
    def n_theta(self) -> int:
        return self.m + 1

    def natural_names(self) -> list[str]:
        return [f"Var({k + 1})" for k in range(self.m)] + ["ARH(1)"]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        return np.concatenate([np.exp(theta[: self.m]), [np.tanh(theta[self.m])]])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        sd = np.sqrt(phi[: self.m])
        lag = np.abs(np.arange(self.m)[:, None] - np.arange(self.m)[None, :])
        return phi[self.m] ** lag * np.outer(sd, sd)

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        rho = _lag_means(corr)[0] if self.m > 1 else 0.0
        return np.concatenate([np.log(var), [np.arctanh(_clip_corr(rho))]])


class Toeplitz(CovarianceStructure):
    """``toep``: covariance depends on the lag only; theta uses partial autocorrelations."""

    name = "toep"
    linear_natural = True

    @property
    def n_theta(self) -> int:
        return self.m

    def natural_names(self) -> list[str]:
        return ["Residual"] + [f"TOEP({k + 1})" for k in range(1, self.m)]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        v = np.exp(theta[0])
        return np.concatenate([[v], v * _durbin_levinson(np.tanh(theta[1:]))])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        return _toeplitz(np.asarray(phi, dtype=float))

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        pacf = _pacf_from_acf(_lag_means(corr))
        return np.concatenate([[np.log(np.mean(var))], np.arctanh(pacf)])


class HeterogeneousToeplitz(CovarianceStructure):
    """``toeph``: a variance per visit and a correlation per lag."""

    name = "toeph"

    @property
    def n_theta(self) -> int:
        return 2 * self.m - 1

    def natural_names(self) -> list[str]:
        return [f"Var({k + 1})" for k in range(self.m)] + [f"TOEPH({k})" for k in range(1, self.m)]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        return np.concatenate([np.exp(theta[: self.m]), _durbin_levinson(np.tanh(theta[self.m :]))])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        sd = np.sqrt(phi[: self.m])
        corr = _toeplitz(np.concatenate([[1.0], phi[self.m :]]))
        return corr * np.outer(sd, sd)

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        return np.concatenate([np.log(var), np.arctanh(_pacf_from_acf(_lag_means(corr)))])


class AnteDependence(CovarianceStructure):
    """``adh``: first-order ante-dependence, corr(j, k) = ∏ ρ_l for l in [j, k)."""

    name = "adh"

    @property
    def n_theta(self) -> int:
        return 2 * self.m - 1

    def natural_names(self) -> list[str]:
        return [f"Var({k + 1})" for k in range(self.m)] + [f"Rho({k})" for k in range(1, self.m)]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        return np.concatenate([np.exp(theta[: self.m]), np.tanh(theta[self.m :])])

    def sigma_from_natural(self, phi: np.ndarray) -> np.ndarray:
        sd = np.sqrt(phi[: self.m])
        rho = phi[self.m :]
        corr = np.eye(self.m)
        for j in range(self.m):
            acc = 1.0
            for k in range(j + 1, self.m):
                acc *= rho[k - 1]
                corr[j, k] = corr[k, j] = acc
        return corr * np.outer(sd, sd)

    def start(self, moment: np.ndarray) -> np.ndarray:
        var, corr = _corr_of(moment)
        rho = np.array([corr[k, k + 1] for k in range(self.m - 1)])
        return np.concatenate([np.log(var), np.arctanh(_clip_corr(rho))])


_REGISTRY: dict[str, type[CovarianceStructure]] = {
    cls.name: cls
    for cls in (
        Unstructured,
        CompoundSymmetry,
        HeterogeneousCS,
        AR1,
        HeterogeneousAR1,
        Toeplitz,
        HeterogeneousToeplitz,
        AnteDependence,
    )
}


def make_structure(cov: str, n_visits: int) -> CovarianceStructure:
    """Instantiate a structure by its short name (``us``, ``cs``, ``csh``, ``ar1``, ...)."""
    try:
        return _REGISTRY[cov](n_visits)
    except KeyError:
        allowed = ", ".join(repr(c) for c in COV_TYPES)
        raise ValueError(f"invalid value for cov, expected one of {allowed} (not {cov!r})") from None

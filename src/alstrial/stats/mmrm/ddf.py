"""Covariance of β̂ and denominator degrees of freedom: Satterthwaite, Kenward-Roger, residual.

Notation (Kenward & Roger 1997; mmrm's "Kenward-Roger" vignette): Φ = (X'V⁻¹X)⁻¹,
P_j = ∂(X'V⁻¹X)/∂φ_j = −Σ_i B_i' ∂Σ/∂φ_j B_i with B_i = Σ_i⁻¹X_i, W = Cov(φ̂) = inverse observed
information of the restricted likelihood in SAS's natural parameters φ. Satterthwaite's df for
a contrast l is 2(l'Φl)² / (g'Wg) with g_j = ∂(l'Φl)/∂φ_j = −l'Φ P_j Φ l. Multi-row contrasts use
SAS's spectral decomposition; Kenward-Roger uses the adjusted Φ_A and KR's E/V moment match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class DfResult:
    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray


@dataclass(frozen=True)
class FTestResult:
    f: float
    num_df: int
    den_df: float
    p_value: float
    scale: float = 1.0  # Kenward-Roger's λ (1 otherwise)


class Inference:
    """Degrees of freedom and test statistics for linear functions of β̂."""

    def __init__(
        self,
        beta: np.ndarray,
        cov_beta_model: np.ndarray,
        method: str,
        *,
        p_mats: np.ndarray | None = None,
        w: np.ndarray | None = None,
        cov_beta: np.ndarray | None = None,
        residual_df: float = np.inf,
        column_df: np.ndarray | None = None,
    ) -> None:
        self.beta = beta
        self.phi = cov_beta_model  # Φ, the model-based covariance (drives Satterthwaite/KR df)
        self.cov_beta = cov_beta if cov_beta is not None else cov_beta_model  # reported covariance
        self.method = method
        self.p_mats = p_mats
        self.w = w
        self.residual_df = residual_df
        self.column_df = column_df

    # --- one-row contrasts -------------------------------------------------------------
    def contrast_rows(self, lmat: np.ndarray) -> DfResult:
        lmat = np.atleast_2d(lmat)
        est = lmat @ self.beta
        var = np.einsum("rk,kl,rl->r", lmat, self.cov_beta, lmat)
        se = np.sqrt(np.maximum(var, 0.0))
        df = np.array([self._df_row(row) for row in lmat])
        return DfResult(est, se, df)

    def _df_row(self, row: np.ndarray) -> float:
        if self.method in ("satterthwaite", "kenward-roger", "kenward-roger-linear"):
            return self._satterthwaite(row)
        if self.method == "between-within" and self.column_df is not None:
            used = np.abs(row) > 1e-12
            return float(np.min(self.column_df[used])) if used.any() else self.residual_df
        return self.residual_df

    def _satterthwaite(self, row: np.ndarray) -> float:
        assert self.p_mats is not None and self.w is not None
        v = float(row @ self.phi @ row)
        z = self.phi @ row
        g = -np.einsum("k,jkl,l->j", z, self.p_mats, z)
        denom = float(g @ self.w @ g)
        if denom <= 0 or v <= 0:
            return float("inf")
        return 2.0 * v * v / denom

    # --- multi-row tests ----------------------------------------------------------------
    def f_test(self, lmat: np.ndarray) -> FTestResult:
        lmat = _full_row_rank(np.atleast_2d(lmat))
        c = lmat.shape[0]
        est = lmat @ self.beta
        if self.method.startswith("kenward"):
            return self._kr_f(lmat)
        vl = lmat @ self.cov_beta @ lmat.T
        f = float(est @ np.linalg.solve(vl, est)) / c
        if self.method == "satterthwaite":
            den = self._satterthwaite_multi(lmat)
        else:
            den = float(min(self._df_row(r) for r in lmat))
        return FTestResult(f, c, den, float(special.fdtrc(c, den, f)))

    def _satterthwaite_multi(self, lmat: np.ndarray) -> float:
        """SAS: eigen-decompose LΦL', Satterthwaite per eigen-contrast, then match E[F]."""
        c = lmat.shape[0]
        if c == 1:
            return self._satterthwaite(lmat[0])
        _vals, vecs = np.linalg.eigh(lmat @ self.phi @ lmat.T)
        rows = vecs.T @ lmat
        dfs = np.array([self._satterthwaite(r) for r in rows])
        e = float(np.sum(dfs[dfs > 2] / (dfs[dfs > 2] - 2.0)))
        if e <= c:
            return 0.0
        return 2.0 * e / (e - c)

    def _kr_f(self, lmat: np.ndarray) -> FTestResult:
        assert self.p_mats is not None and self.w is not None
        c = lmat.shape[0]
        phi = self.phi
        theta = lmat.T @ np.linalg.solve(lmat @ phi @ lmat.T, lmat)
        # ΘΦP_jΦ for every parameter j
        tp = np.einsum("ab,bc,jcd,de->jae", theta, phi, self.p_mats, phi)
        traces = np.einsum("jaa->j", tp)
        a1 = float(traces @ self.w @ traces)
        prod = np.einsum("iab,jba->ij", tp, tp)
        a2 = float(np.sum(self.w * prod))
        b = (a1 + 6 * a2) / (2 * c)
        g = ((c + 1) * a1 - (c + 4) * a2) / ((c + 2) * a2)
        denom = 3 * c + 2 * (1 - g)
        c1, c2, c3 = g / denom, (c - g) / denom, (c + 2 - g) / denom
        e_star = 1.0 / (1.0 - a2 / c)
        v_star = 2.0 / c * (1 + c1 * b) / ((1 - c2 * b) ** 2 * (1 - c3 * b))
        rho = v_star / (2 * e_star**2)
        m = 4.0 + (c + 2) / (c * rho - 1)
        lam = m / (e_star * (m - 2))
        est = lmat @ self.beta
        f_raw = float(est @ np.linalg.solve(lmat @ self.cov_beta @ lmat.T, est)) / c
        f = lam * f_raw
        return FTestResult(f, c, m, float(special.fdtrc(c, m, f)), lam)


def _full_row_rank(lmat: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Drop linearly dependent rows (keeps the test's numerator df equal to its rank)."""
    _q, r = np.linalg.qr(lmat.T)
    keep = np.abs(np.diag(r)) > tol * max(1.0, float(np.abs(r).max()))
    if keep.all():
        return lmat
    _u, s, vt = np.linalg.svd(lmat, full_matrices=False)
    rank = int((s > tol * s.max()).sum())
    return vt[:rank] * s[:rank, None]


def kr_adjusted_cov(
    phi: np.ndarray, p_mats: np.ndarray, q_mats: np.ndarray, r_mats: np.ndarray | None, w: np.ndarray
) -> np.ndarray:
    """Φ_A = Φ + 2Φ[Σ_ij W_ij (Q_ij − P_iΦP_j − R_ij/4)]Φ (R omitted for the linear variant)."""
    pphi = np.einsum("ikl,lm,jmn->ijkn", p_mats, phi, p_mats)
    inner = q_mats - pphi
    if r_mats is not None:
        inner = inner - 0.25 * r_mats
    total = np.einsum("ij,ijkl->kl", w, inner)
    adj = phi + 2.0 * phi @ total @ phi
    return 0.5 * (adj + adj.T)

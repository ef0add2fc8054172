"""Covariance structures (``stats/mmrm/covariance.py``) against their definitions.

The expected matrices are written out here from SAS PROC MIXED's definitions of each ``TYPE=``
(SAS/STAT User's Guide, "Covariance Structure Examples"): with σ_i the SD at visit i,
UN free; CS σ₁ + σ² I; CSH σ_iσ_j ρ; AR(1) σ² ρ^|i−j|; ARH(1) σ_iσ_j ρ^|i−j|; TOEP σ_|i−j|;
TOEPH σ_iσ_j ρ_|i−j|; ANTE(1)/ADH σ_iσ_j ∏_{k=i}^{j−1} ρ_k. Parameter names are SAS's.
Derivatives are checked against central differences taken here with a different step, and, for AR(1),
against the closed-form second derivatives."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alstrial.stats.mmrm.covariance import COV_TYPES, make_structure

M = 4
SD = np.array([2.0, 3.0, 1.5, 4.0])  # one SD per visit, all different
RHO = np.array([0.6, -0.3, 0.45])  # step correlations (ADH); RHO[0] is the CSH / AR(1) correlation
LAG_RHO = np.array([0.6, 0.3, 0.1])  # lag correlations (TOEPH): a positive-definite Toeplitz sequence


def _expected(cov: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(natural parameters, Σ by the definition, SAS names) for a 4-visit example."""
    i, j = np.meshgrid(np.arange(M), np.arange(M), indexing="ij")
    lag = np.abs(i - j)
    outer = np.outer(SD, SD)
    var = [f"Var({k + 1})" for k in range(M)]
    if cov == "us":
        a = np.array([[4.0, 1.0, 0.5, 0.2], [1.0, 9.0, 2.0, 1.0], [0.5, 2.0, 2.25, 0.3], [0.2, 1.0, 0.3, 16.0]])
        rows, cols = np.tril_indices(M)
        return a[rows, cols], a, [f"UN({r + 1},{c + 1})" for r, c in zip(rows, cols, strict=True)]
    if cov == "cs":
        return np.array([1.5, 2.5]), 1.5 + 2.5 * np.eye(M), ["CS", "Residual"]
    if cov == "csh":
        sigma = np.where(lag == 0, 1.0, RHO[0]) * outer
        return np.concatenate([SD**2, [RHO[0]]]), sigma, [*var, "CSH"]
    if cov == "ar1":
        return np.array([5.0, RHO[0]]), 5.0 * RHO[0] ** lag, ["Residual", "AR(1)"]
    if cov == "ar1h":
        return np.concatenate([SD**2, [RHO[0]]]), RHO[0] ** lag * outer, [*var, "ARH(1)"]
    if cov == "toep":
        first = np.array([5.0, 2.0, -1.0, 0.5])
        return first, first[lag], ["Residual", "TOEP(2)", "TOEP(3)", "TOEP(4)"]
    if cov == "toeph":
        corr = np.concatenate([[1.0], LAG_RHO])[lag]
        return np.concatenate([SD**2, LAG_RHO]), corr * outer, [*var, "TOEPH(1)", "TOEPH(2)", "TOEPH(3)"]
    assert cov == "adh"
    corr = np.ones((M, M))
    for a, b in itertools.product(range(M), repeat=2):
        lo, hi = min(a, b), max(a, b)
        corr[a, b] = np.prod(RHO[lo:hi])
    return np.concatenate([SD**2, RHO]), corr * outer, [*var, "Rho(1)", "Rho(2)", "Rho(3)"]


def _central(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = []
    for k in range(len(x)):
        e = np.zeros(len(x))
        e[k] = h * max(1.0, abs(x[k]))
        out.append((f(x + e) - f(x - e)) / (2 * e[k]))
    return np.array(out)


@pytest.mark.parametrize("cov", COV_TYPES)
def test_sigma_names_and_parameterisations_match_the_definition(cov: str) -> None:
    phi, sigma, names = _expected(cov)
    s = make_structure(cov, M)
    assert s.natural_names() == names
    np.testing.assert_allclose(s.sigma_from_natural(phi), sigma, rtol=1e-12, atol=1e-12)
    # start() on a matrix of the structure recovers its parameters (moment estimate is exact there) and
    # natural(θ) maps them back; sigma(θ) is the same matrix
    theta = s.start(sigma)
    assert len(theta) == s.n_theta == len(phi)
    np.testing.assert_allclose(s.natural(theta), phi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s.sigma(theta), sigma, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cov", COV_TYPES)
def test_first_derivatives_match_central_differences(cov: str) -> None:
    """Finite-difference error here: truncation O(h²)·|Σ'''| plus round-off ε|Σ|/h, both below 1e-7 of
    max|Σ| for h = 1e-6 (relative); the tolerance is 1e-6 of max|dΣ|."""
    phi, sigma, _ = _expected(cov)
    s = make_structure(cov, M)
    theta = s.start(sigma)
    for got, want in (
        (s.d_sigma(theta), _central(s.sigma, theta)),
        (s.d_sigma_natural(phi), _central(s.sigma_from_natural, phi)),
    ):
        assert got.shape == (len(theta), M, M)
        np.testing.assert_allclose(got, want, atol=1e-6 * np.abs(want).max())


def test_ar1_second_derivatives_are_the_closed_form() -> None:
    """Σ_ij = v ρ^k (k = |i − j|): ∂²/∂v² = 0, ∂²/∂v∂ρ = k ρ^(k−1), ∂²/∂ρ² = v k(k−1) ρ^(k−2).
    The code's step is 1e-4·max(|φ|, 0.01): error O(h²) ≈ 1e-9 relative, round-off ε/h² ≈ 1e-8."""
    v, rho = 5.0, 0.6
    k = np.abs(np.arange(M)[:, None] - np.arange(M)[None, :])
    d2 = make_structure("ar1", M).d2_sigma_natural(np.array([v, rho]))
    np.testing.assert_allclose(d2[0, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(d2[0, 1], k * rho ** np.maximum(k - 1, 0), atol=1e-6)
    np.testing.assert_allclose(d2[1, 0], d2[0, 1], atol=0)
    np.testing.assert_allclose(d2[1, 1], v * k * (k - 1) * rho ** np.maximum(k - 2, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cov", ["us", "cs", "toep"])
def test_structures_linear_in_their_parameters_have_no_second_derivative(cov: str) -> None:
    phi, _, _ = _expected(cov)
    assert not make_structure(cov, M).d2_sigma_natural(phi).any()


@pytest.mark.parametrize("cov", ["cs", "csh"])
def test_compound_symmetry_correlation_is_bounded_below_by_minus_one_over_m_minus_1(cov: str) -> None:
    """Σ stays positive definite only for ρ > −1/(m − 1) (−1/3 for 4 visits); θ → −∞ reaches the bound."""
    s = make_structure(cov, M)
    theta = np.zeros(s.n_theta)
    theta[-1] = -60.0
    nat = s.natural(theta)
    rho = nat[0] / (nat[0] + nat[1]) if cov == "cs" else nat[-1]
    assert rho == pytest.approx(-1 / 3, abs=1e-12)


@pytest.mark.parametrize("cov", ["ar1", "ar1h", "cs", "csh", "toep", "toeph", "adh"])
def test_two_visits_start_from_the_observed_correlation(cov: str) -> None:
    """With two visits the moment correlation 0.5 is the only lag-1 correlation; start() keeps it."""
    sigma = np.array([[4.0, 3.0], [3.0, 9.0]])  # correlation 3 / (2·3) = 0.5
    s = make_structure(cov, 2)
    nat = s.natural(s.start(sigma))
    rho = {"cs": nat[0] / (nat[0] + nat[1]) if cov == "cs" else None, "toep": nat[1] / nat[0]}.get(cov, nat[-1])
    assert rho == pytest.approx(0.5, rel=1e-9)


def test_an_unknown_structure_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError) as err:
        make_structure("vc", 3)
    assert str(err.value) == (
        "invalid value for cov, expected one of 'us', 'cs', 'csh', 'ar1', 'ar1h', 'toep', 'toeph', 'adh' (not 'vc')"
    )


@pytest.mark.parametrize("cov", ["ar1", "ar1h", "adh", "toep", "toeph"])
def test_starting_correlations_are_clipped_to_0_95(cov: str) -> None:
    """A moment correlation of 0.99 starts at 0.95, away from the ±1 boundary where atanh is infinite."""
    sigma = np.array([[1.0, 0.99], [0.99, 1.0]])
    s = make_structure(cov, 2)
    nat = s.natural(s.start(sigma))
    assert (nat[1] / nat[0] if cov == "toep" else nat[-1]) == pytest.approx(0.95, rel=1e-12)


@pytest.mark.parametrize(("cov", "expected"), [("ar1", [4.0, 0.0]), ("cs", [0.0, 4.0]), ("csh", [4.0, 0.0])])
def test_one_visit_starts_with_no_correlation(cov: str, expected: list[float]) -> None:
    """With one visit there is no correlation to estimate: the start is the variance and ρ = 0
    (CS natural parameters: ρσ² = 0 and (1 − ρ)σ² = 4)."""
    s = make_structure(cov, 1)
    np.testing.assert_allclose(s.natural(s.start(np.array([[4.0]]))), expected, atol=1e-12)

"""Reference-based imputation parameters (Carpenter, Roger & Kenward 2013, J Biopharm Stat 23:1352).

Three strategies, as rbmi (R) defines them; ``on_treatment`` marks the visits up to a
participant's last observed one (baseline included), after which the strategy applies:

- jump to reference (J2R): after dropout the mean is the reference arm's;
- copy reference (CR): the whole distribution, before and after dropout, is the reference arm's;
- copy increments in reference (CIR): after dropout the mean follows the reference arm's
  *changes* from the last on-treatment visit, starting from the participant's own arm's mean there.

J2R and CIR share the covariance construction below; CR takes the reference covariance.

Jump to reference (J2R): after dropout, an active-arm participant's *mean* is the reference
arm's, while the covariance keeps the participant's observed (pre-dropout) correlation with
their own arm and the reference arm's conditional structure after it; the imputation is then
conditional on that participant's observed data. rbmi (R) builds the same joint parameters.
"""

from __future__ import annotations

import numpy as np


def jump_to_reference_params(
    mu_own: np.ndarray,
    sigma_own: np.ndarray,
    mu_ref: np.ndarray,
    sigma_ref: np.ndarray,
    on_treatment: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint (μ, Σ) for a participant whose visits ``on_treatment`` (bool, True up to dropout) are MAR.

    μ = own arm's mean before dropout, reference mean after. Σ: with A = pre-dropout block,
    B = post, R = reference and T = own covariance,
    Σ_AA = T_AA, Σ_BA = R_BA R_AA⁻¹ T_AA, Σ_BB = R_BB − R_BA R_AA⁻¹ (R_AA − T_AA) R_AA⁻¹ R_AB.
    """
    a = np.asarray(on_treatment, dtype=bool)
    if a.all():
        return mu_own, sigma_own
    if not a.any():
        return mu_ref, sigma_ref
    b = ~a
    mu = np.where(a, mu_own, mu_ref)
    t_aa = sigma_own[np.ix_(a, a)]
    r_aa_inv = np.linalg.inv(sigma_ref[np.ix_(a, a)])
    r_ba = sigma_ref[np.ix_(b, a)]
    s_ba = r_ba @ r_aa_inv @ t_aa
    s_bb = sigma_ref[np.ix_(b, b)] - r_ba @ r_aa_inv @ (sigma_ref[np.ix_(a, a)] - t_aa) @ r_aa_inv @ r_ba.T
    sigma = np.empty_like(sigma_own)
    sigma[np.ix_(a, a)] = t_aa
    sigma[np.ix_(b, a)] = s_ba
    sigma[np.ix_(a, b)] = s_ba.T
    sigma[np.ix_(b, b)] = s_bb
    return mu, sigma


def copy_reference_params(
    mu_own: np.ndarray,
    sigma_own: np.ndarray,
    mu_ref: np.ndarray,
    sigma_ref: np.ndarray,
    on_treatment: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """CR: a participant with any visit after dropout is imputed from the reference arm's (μ, Σ)."""
    if np.asarray(on_treatment, dtype=bool).all():
        return mu_own, sigma_own
    return mu_ref, sigma_ref


def copy_increments_params(
    mu_own: np.ndarray,
    sigma_own: np.ndarray,
    mu_ref: np.ndarray,
    sigma_ref: np.ndarray,
    on_treatment: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """CIR: μ after dropout = own μ at the last on-treatment visit + the reference arm's increments."""
    a = np.asarray(on_treatment, dtype=bool)
    if a.all():
        return mu_own, sigma_own
    if not a.any():
        return mu_ref, sigma_ref
    _, sigma = jump_to_reference_params(mu_own, sigma_own, mu_ref, sigma_ref, a)
    last = int(np.flatnonzero(a)[-1])
    mu = np.where(a, mu_own, mu_own[last] + (mu_ref - mu_ref[last]))
    return mu, sigma

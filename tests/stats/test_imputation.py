"""MI machinery: Rubin's rules by hand, EM against a closed form, J2R parameters, and simulated
trials whose true effect is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.imputation import (
    analyse_imputed,
    ancova_analysis,
    impute_mvn,
    rubin_combine,
    tipping_point,
)
from alstrial.stats.imputation.mvn_em import conditional_draw, mvn_em
from alstrial.stats.imputation.reference_based import (
    copy_increments_params,
    copy_reference_params,
    jump_to_reference_params,
)
from alstrial.stats.imputation.rubin import barnard_rubin_df

VISITS = [f"M{v}" for v in range(1, 7)]


def test_rubin_rules_by_hand() -> None:
    q = [1.0, 1.2, 0.8, 1.1, 0.9]
    u = [0.04, 0.05, 0.045, 0.05, 0.04]
    res = rubin_combine(q, u, df_complete=100)
    b = np.var(q, ddof=1)  # 0.025
    t = 0.045 + 1.2 * b
    lam = 1.2 * b / t
    df_old = 4 / lam**2
    df_obs = 101 / 103 * 100 * (1 - lam)
    assert res.estimate == pytest.approx(1.0)
    assert res.between_variance == pytest.approx(0.025)
    assert res.total_variance == pytest.approx(t)
    assert res.df == pytest.approx(1 / (1 / df_old + 1 / df_obs))
    assert res.df < 100
    assert barnard_rubin_df(5, b, t, np.inf) == pytest.approx(df_old)  # Rubin (1987) when df_com = ∞
    with pytest.raises(EndpointDataError, match="at least 2 imputations"):
        rubin_combine([1.0], [0.1])


def test_em_on_monotone_bivariate_matches_closed_form() -> None:
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([10, 5], [[4, 3], [3, 9]], 500)
    x[300:, 1] = np.nan
    mu, sigma = mvn_em(x, tol=1e-12)
    # Anderson (1957): factor into x1 (all rows) and x2 | x1 (complete rows).
    cc = x[:300]
    beta = np.cov(cc.T, ddof=0)[0, 1] / np.var(cc[:, 0])
    alpha = cc[:, 1].mean() - beta * cc[:, 0].mean()
    resid_var = np.var(cc[:, 1] - alpha - beta * cc[:, 0])
    mu1, var1 = x[:, 0].mean(), x[:, 0].var()
    assert mu[0] == pytest.approx(mu1)
    assert mu[1] == pytest.approx(alpha + beta * mu1, rel=1e-7)
    assert sigma[0, 1] == pytest.approx(beta * var1, rel=1e-6)
    assert sigma[1, 1] == pytest.approx(resid_var + beta**2 * var1, rel=1e-6)


def test_conditional_draw_moments() -> None:
    mu = np.array([0.0, 1.0, 2.0])
    sigma = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 1.5]])
    obs = np.array([True, False, False])
    draws = conditional_draw(np.full((40000, 1), 2.0), obs, mu, sigma, np.random.default_rng(1))
    expected_mean = mu[1:] + sigma[1:, :1] @ np.array([2.0])
    expected_cov = sigma[1:, 1:] - sigma[1:, :1] @ sigma[:1, 1:]
    np.testing.assert_allclose(draws.mean(axis=0), expected_mean, atol=0.03)
    np.testing.assert_allclose(np.cov(draws.T), expected_cov, atol=0.05)


def test_jump_to_reference_conditional_is_reference_conditional() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=(4, 4))
    own, ref = a @ a.T + np.eye(4), b @ b.T + np.eye(4)
    mu_own, mu_ref = np.array([30.0, 29.0, 28.5, 28.0]), np.array([30.0, 28.0, 26.0, 24.0])
    on = np.array([True, True, False, False])
    mu, sigma = jump_to_reference_params(mu_own, own, mu_ref, ref, on)
    np.testing.assert_allclose(mu, [30.0, 29.0, 26.0, 24.0])
    np.testing.assert_allclose(sigma[:2, :2], own[:2, :2])
    # Given the pre-dropout data, post-dropout values follow the reference arm's regression
    # and residual covariance (Carpenter et al. 2013).
    coef = sigma[2:, :2] @ np.linalg.inv(sigma[:2, :2])
    np.testing.assert_allclose(coef, ref[2:, :2] @ np.linalg.inv(ref[:2, :2]), atol=1e-10)
    cond = sigma[2:, 2:] - coef @ sigma[:2, 2:]
    np.testing.assert_allclose(cond, ref[2:, 2:] - ref[2:, :2] @ np.linalg.inv(ref[:2, :2]) @ ref[:2, 2:], atol=1e-10)
    same_mu, same_sigma = jump_to_reference_params(mu_own, own, mu_ref, ref, np.ones(4, bool))
    assert same_mu is mu_own and same_sigma is own


def _trial(n: int, seed: int, effect_per_month: float, mar_dropout: bool = True) -> pd.DataFrame:
    """ALSFRS-R-like trial: baseline + 6 monthly visits, active arm declines slower.
    Dropout depends on the last observed score (MAR). True effect at M6 = 6 × effect_per_month."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["PBO", "MSC"], n // 2)
    base = rng.normal(35, 5, n)
    months = np.arange(1, 7)
    cov = 9 * (0.6 + 0.4 * np.eye(6))
    y = base[:, None] - months + (arm == "MSC")[:, None] * months * effect_per_month
    y = y + rng.multivariate_normal(np.zeros(6), cov, n)
    if mar_dropout:
        for i in range(n):
            for v in range(1, 6):
                if y[i, v - 1] < 31 and rng.random() < 0.35:
                    y[i, v:] = np.nan
                    break
    wide = pd.DataFrame(y, columns=VISITS)
    wide.insert(0, "BASE", base)
    wide.insert(0, "ARM", arm)
    return wide


ANALYSIS = ancova_analysis(arm="ARM", baseline="BASE", visit="M6", reference="PBO")


def _sequential_regressions(x: np.ndarray) -> list[np.ndarray]:
    """ML fit of an MVN to monotone data without EM: each column regressed by OLS on the earlier
    ones, over the rows that observe it (factored likelihood; Little & Rubin 2002, §7.4)."""
    fits = []
    for j in range(1, x.shape[1]):
        rows = ~np.isnan(x[:, j])
        design = np.column_stack([np.ones(rows.sum()), x[rows, :j]])
        fits.append(np.linalg.lstsq(design, x[rows, j], rcond=None)[0])
    return fits


def _predict_forward(x: np.ndarray, fits: list[np.ndarray]) -> np.ndarray:
    """Fill each missing visit with its conditional mean given everything before it (exact for an MVN)."""
    x = x.copy()
    for j in range(1, x.shape[1]):
        miss = np.isnan(x[:, j])
        x[miss, j] = fits[j - 1][0] + x[np.ix_(miss, range(j))] @ fits[j - 1][1:]
    return x


def _monotone_reference(wide: pd.DataFrame, *, j2r: bool = False) -> float:
    """The M6 ANCOVA effect with every missing value set to its ML conditional mean: the limit of the
    MI point estimate as m → ∞ (the analysis is linear in the imputed values), up to the O(1/n)
    difference between the bootstrap mean of the parameters and their ML values.

    J2R (Carpenter, Roger & Kenward 2013): after dropout the active arm follows the reference arm's
    regression on the history centred at the *active* arm's means, i.e. E_ref[y_m | y_o − μ_own + μ_ref]."""
    x = wide[["BASE", *VISITS]].to_numpy(float)
    arm = wide["ARM"].to_numpy()
    fits = {a: _sequential_regressions(x[arm == a]) for a in ("PBO", "MSC")}
    filled = x.copy()
    for a in ("PBO", "MSC"):
        filled[arm == a] = _predict_forward(x[arm == a], fits[a])
    if j2r:
        active = x[arm == "MSC"]
        shift = filled[arm == "PBO"].mean(axis=0) - filled[arm == "MSC"].mean(axis=0)  # ML means: μ_ref − μ_own
        filled[arm == "MSC"] = _predict_forward(active + shift, fits["PBO"]) - np.where(np.isnan(active), 0.0, shift)
    design = np.column_stack([np.ones(len(x)), filled[:, 0], (arm == "MSC").astype(float)])
    return float(np.linalg.lstsq(design, filled[:, -1] - filled[:, 0], rcond=None)[0][2])


def _mc_tolerance(between_variance: float, m: int) -> float:
    """99.9 % bound on the Monte Carlo error of a pooled MI estimate: t(0.9995, m − 1) × √(B / m),
    B the between-imputation variance (Rubin 1987; White, Royston & Wood 2011, §7)."""
    return float(stats.t.ppf(0.9995, m - 1) * np.sqrt(between_variance / m))


def test_no_missing_data_reproduces_the_complete_data_analysis() -> None:
    wide = _trial(100, 1, 0.5, mar_dropout=False)
    imp = impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=3, seed=1, reference="PBO")
    res = analyse_imputed(imp, ANALYSIS).pooled
    direct = ANALYSIS(wide)
    assert res.estimate == pytest.approx(direct.estimate)
    assert res.between_variance == pytest.approx(0.0, abs=1e-20)
    assert res.std_error == pytest.approx(np.sqrt(direct.variance))


def test_mar_recovers_the_true_effect_and_is_reproducible() -> None:
    wide = _trial(300, 4, 0.5)
    assert wide["M6"].isna().mean() > 0.15
    imp = impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=20, seed=7, reference="PBO")
    assert not imp.dataset(0)[VISITS].isna().any().any()
    observed = ~imp.missing
    np.testing.assert_array_equal(
        imp.dataset(5)[["BASE", *VISITS]].to_numpy()[observed], wide[["BASE", *VISITS]].to_numpy()[observed]
    )
    res = analyse_imputed(imp, ANALYSIS).pooled
    assert res.ci_lower < 3.0 < res.ci_upper
    # The pooled estimate equals the MAR maximum-likelihood answer up to Monte Carlo error.
    assert abs(res.estimate - _monotone_reference(wide)) <= _mc_tolerance(res.between_variance, 20)
    again = impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=20, seed=7, reference="PBO")
    np.testing.assert_array_equal(np.nan_to_num(again.draws), np.nan_to_num(imp.draws))


def test_jump_to_reference_shrinks_the_effect_toward_the_dropout_share() -> None:
    wide = _trial(400, 5, 0.5)
    mar = analyse_imputed(
        impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=20, seed=2, reference="PBO"), ANALYSIS
    ).pooled
    j2r_imp = impute_mvn(
        wide, arm="ARM", baseline="BASE", visits=VISITS, m=20, seed=2, method="jump_to_reference", reference="PBO"
    )
    j2r = analyse_imputed(j2r_imp, ANALYSIS).pooled
    assert 0 < j2r.estimate < mar.estimate
    # Both equal their maximum-likelihood answers, computed without EM, up to Monte Carlo error.
    assert abs(mar.estimate - _monotone_reference(wide)) <= _mc_tolerance(mar.between_variance, 20)
    assert abs(j2r.estimate - _monotone_reference(wide, j2r=True)) <= _mc_tolerance(j2r.between_variance, 20)


def test_tipping_point_shifts_linearly_and_finds_the_tip() -> None:
    wide = _trial(300, 6, 0.5)
    imp = impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=10, seed=3, reference="PBO")
    tip = tipping_point(imp, ANALYSIS, np.arange(0.0, -21.0, -2.0))
    est = tip.table["estimate"].to_numpy()
    np.testing.assert_allclose(np.diff(est), np.diff(est)[0], rtol=1e-8)  # linear in delta
    assert np.diff(est)[0] < 0
    assert tip.tipping_delta is not None and tip.tipping_delta < 0
    i = int(np.flatnonzero(tip.table["delta"].to_numpy() == tip.tipping_delta)[0])
    assert tip.table["significant"].iloc[i - 1] and not tip.table["significant"].iloc[i]
    assert tip.tipping_delta <= tip.tipping_delta_interpolated <= tip.table["delta"].iloc[i - 1]
    with pytest.raises(EndpointDataError, match="expects MAR imputations"):
        tipping_point(
            impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=2, seed=1, method="jump_to_reference"),
            ANALYSIS,
            [0.0],
        )


def test_input_errors() -> None:
    wide = _trial(40, 1, 0.5)
    with pytest.raises(EndpointDataError, match="column 'BASE' has a missing value"):
        impute_mvn(wide.assign(BASE=np.nan), arm="ARM", baseline="BASE", visits=VISITS)
    with pytest.raises(EndpointDataError, match="not 'j2r'"):
        impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, method="j2r")  # type: ignore[arg-type]


def test_copy_reference_and_copy_increments_parameters() -> None:
    mu_own, mu_ref = np.array([30.0, 29.0, 28.0, 27.0]), np.array([30.0, 28.0, 26.0, 24.0])
    own = 4 * (0.5 + 0.5 * np.eye(4))
    ref = 5 * (0.7 + 0.3 * np.eye(4))
    on = np.array([True, True, False, False])
    cr_mu, cr_sigma = copy_reference_params(mu_own, own, mu_ref, ref, on)
    np.testing.assert_array_equal(cr_mu, mu_ref)  # the whole distribution is the reference arm's
    np.testing.assert_array_equal(cr_sigma, ref)
    cir_mu, cir_sigma = copy_increments_params(mu_own, own, mu_ref, ref, on)
    # own mean at the last on-treatment visit (29) plus the reference arm's changes from there (−2, −4)
    np.testing.assert_allclose(cir_mu, [30.0, 29.0, 27.0, 25.0])
    _, j2r_sigma = jump_to_reference_params(mu_own, own, mu_ref, ref, on)
    np.testing.assert_allclose(cir_sigma, j2r_sigma)  # CIR and J2R share the covariance (rbmi)
    for f in (copy_reference_params, copy_increments_params):
        same_mu, same_sigma = f(mu_own, own, mu_ref, ref, np.ones(4, bool))
        assert same_mu is mu_own and same_sigma is own


def test_reference_based_methods_order_as_expected_for_an_accruing_benefit() -> None:
    """Benefit grows with time: J2R loses it all at dropout, CIR keeps what was accrued, MAR keeps growing it."""
    wide = _trial(400, 5, 0.5)

    def pooled(method: str) -> float:
        imp = impute_mvn(wide, arm="ARM", baseline="BASE", visits=VISITS, m=20, seed=2, method=method, reference="PBO")  # type: ignore[arg-type]
        return float(analyse_imputed(imp, ANALYSIS).pooled.estimate)

    mar, j2r = pooled("mar"), pooled("jump_to_reference")
    cr, cir = pooled("copy_reference"), pooled("copy_increments_in_reference")
    assert j2r < cir < mar
    assert j2r < cr < mar


def test_a_bootstrap_resample_with_a_singular_covariance_is_drawn_again() -> None:
    """A small arm's resample repeats rows; with three or fewer distinct rows of three visits its ML
    covariance is singular and the conditional draws could not use it. Such resamples are drawn
    again, like those with too few values at a visit; an arm that can never give a usable resample
    is refused with a clear message."""
    from alstrial.stats.imputation.mi_mar import _fit_arm

    x = np.array([[30.0, 28, 27], [35, 34, 31], [40, 37, 36], [28, 27, 24], [44, 43, 41], [33, 30, 30]])
    for seed in range(20):
        _, sigma = _fit_arm(x, np.random.default_rng(seed), bootstrap=True)
        np.linalg.cholesky(sigma)  # positive definite, for every seed
    with pytest.raises(EndpointDataError, match="no usable bootstrap resample of the arm in 50 draws"):
        _fit_arm(x[:1], np.random.default_rng(0), bootstrap=True)  # one participant: never two values

"""MMRM against SAS PROC MIXED / openpharma mmrm reference numbers (validation/reference/, with sources).

Sources: SAS listings published with openpharma/mmrm (design/SAS/sas_log_reml.txt for §1,
design/SAS/sas_*_{reml,ml}.txt for §2, design/ddfm_covtype/ for §3) and nlme 3.1-162 fits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alstrial.stats.mmrm import MMRMResult, fit_mmrm

DATA = Path(__file__).parents[1] / "data" / "fev_data.csv"


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def main_fit(fev: pd.DataFrame) -> MMRMResult:
    return fit_mmrm(
        fev,
        response="FEV1",
        subject="USUBJID",
        visit="AVISIT",
        fixed="RACE + SEX + ARMCD*AVISIT",
        cov="us",
        ref={"SEX": "Male"},
    )


REFERENCE = Path(__file__).parents[2] / "validation" / "reference"
#: our term names for the rows of validation/reference/mmrm_sas.csv
TERMS = {
    "(Intercept)": "(Intercept)",
    "RACE Black or African American": "RACEBlack or African American",
    "RACE White": "RACEWhite",
    "SEX Female": "SEXFemale",
    "ARMCD TRT": "ARMCDTRT",
    "AVISIT VIS2": "AVISITVIS2",
    "AVISIT VIS3": "AVISITVIS3",
    "AVISIT VIS4": "AVISITVIS4",
    "TRT:VIS2": "ARMCDTRT:AVISITVIS2",
    "TRT:VIS3": "ARMCDTRT:AVISITVIS3",
    "TRT:VIS4": "ARMCDTRT:AVISITVIS4",
}
_SAS = pd.read_csv(REFERENCE / "mmrm_sas.csv").set_index("term")
# SAS sas_log_reml.txt: estimate, SE, Satterthwaite df (rounded by SAS)
SAS_MAIN = {TERMS[t]: (r.sas_estimate, r.sas_se, r.sas_df) for t, r in _SAS.iterrows()}


def test_main_model_coefficients_match_sas(main_fit: MMRMResult) -> None:
    s = main_fit.summary
    assert list(s.columns) == ["estimate", "std_error", "df", "statistic", "p_value", "ci_lower", "ci_upper"]
    assert list(s.index) == list(SAS_MAIN)
    for term, (est, se, df) in SAS_MAIN.items():
        assert s.loc[term, "estimate"] == pytest.approx(est, abs=1e-3), term
        assert s.loc[term, "std_error"] == pytest.approx(se, abs=1e-3), term
        assert abs(s.loc[term, "df"] - df) <= 1.0, term


def test_main_model_matches_mmrm_full_precision(main_fit: MMRMResult) -> None:
    # validation/reference/mmrm_sas.csv, mmrm columns (full precision; surface is flat → abs 1e-3, df ±0.1)
    s = main_fit.summary
    for term, row in _SAS.iterrows():
        ours = s.loc[TERMS[term]]
        assert ours["estimate"] == pytest.approx(row.mmrm_estimate, abs=1e-3), term
        if not np.isnan(row.mmrm_se):
            assert ours["std_error"] == pytest.approx(row.mmrm_se, abs=1e-3), term
        assert ours["df"] == pytest.approx(row.mmrm_df, abs=0.1), term


def test_main_model_likelihood_and_criteria(main_fit: MMRMResult) -> None:
    # §1: tightly converged -2 REML logLik 3386.44987 (nlme 3386.449871384); SAS AIC/BIC convention
    assert main_fit.converged
    assert main_fit.minus2_log_likelihood == pytest.approx(3386.44987, abs=1e-5)
    assert main_fit.minus2_log_likelihood <= 3386.449871384 + 1e-6
    assert main_fit.aic == pytest.approx(3406.44988, abs=1e-4)
    assert main_fit.bic == pytest.approx(3439.28191, abs=1e-4)
    assert main_fit.log_likelihood == pytest.approx(-1693.22494, abs=1e-4)
    assert main_fit.n_subjects == 197
    assert main_fit.n_observations == 537


def test_main_model_covariance_matrix(main_fit: MMRMResult) -> None:
    nlme = np.array(
        [
            [40.555481, 14.395945, 4.976187, 13.378871],
            [14.395945, 26.571488, 2.783393, 7.476525],
            [4.976187, 2.783393, 14.897445, 0.903732],
            [13.378871, 7.476525, 0.903732, 95.556639],
        ]
    )
    cov = main_fit.covariance
    assert list(cov.index) == ["VIS1", "VIS2", "VIS3", "VIS4"]
    np.testing.assert_allclose(cov.to_numpy(), nlme, atol=5e-3)


def test_main_model_lsmeans(main_fit: MMRMResult) -> None:
    # §1 LS means table: (PBO est, SE, df), (TRT est, SE, df), (diff est, SE, df, CI)
    ref = {
        "VIS1": ((33.3318, 0.7554, 148), (37.1063, 0.7626, 143), (3.7745, 1.0741, 146, 1.6517, 5.8974)),
        "VIS2": ((38.1715, 0.6117, 147), (41.9037, 0.6023, 144), (3.7322, 0.8588, 145, 2.0348, 5.4296)),
        "VIS3": ((43.6740, 0.4617, 130), (46.7546, 0.5086, 130), (3.0806, 0.6896, 131, 1.7164, 4.4448)),
        "VIS4": ((48.3855, 1.1886, 134), (52.7841, 1.1877, 133), (4.3985, 1.6805, 133, 1.0746, 7.7225)),
    }
    ls = main_fit.lsmeans("ARMCD", by="AVISIT")
    for visit, (pbo, trt, diff) in ref.items():
        for arm, (est, se, df) in (("PBO", pbo), ("TRT", trt)):
            row = ls.table.loc[(visit, arm)]
            assert row["estimate"] == pytest.approx(est, abs=1e-3)
            assert row["std_error"] == pytest.approx(se, abs=1e-3)
            assert abs(row["df"] - df) <= 1.0
        d = ls.differences.loc[(visit, "TRT - PBO")]
        assert d["estimate"] == pytest.approx(diff[0], abs=1e-3)
        assert d["std_error"] == pytest.approx(diff[1], abs=1e-3)
        assert abs(d["df"] - diff[2]) <= 1.0
        assert d["ci_lower"] == pytest.approx(diff[3], abs=2e-3)
        assert d["ci_upper"] == pytest.approx(diff[4], abs=2e-3)


def test_type3_f_for_race(main_fit: MMRMResult) -> None:
    # §1: type III F for RACE = 36.92 on 2 numerator df, denominator df ≈ 166
    test = main_fit.f_test("RACE")
    assert test.num_df == 2
    assert test.f == pytest.approx(36.92, abs=0.01)
    assert abs(test.den_df - 166) <= 1.0


# §2: intercept-only models (SAS sas_{us,ar1,cs}_{reml,ml}.txt). The US surface is flat and our
# optimum is slightly lower than SAS's, so the intercept compares at 1e-4 *relative*.
SAS_INTERCEPT_ONLY = [
    ("us", "reml", 3700.94648570, 42.8338, 0.3509),
    ("us", "ml", 3700.68707570, 42.8367, 0.3499),
    ("ar1", "reml", 3875.49945459, 42.3255, 0.5013),
    ("ar1", "ml", 3875.95352406, 42.3252, 0.5000),
    ("cs", "reml", 3917.98183508, 42.2896, 0.4285),
    ("cs", "ml", 3918.12214544, 42.2897, 0.4273),
]


@pytest.mark.parametrize(("cov", "method", "m2ll", "intercept", "se"), SAS_INTERCEPT_ONLY)
def test_intercept_only_models(
    fev: pd.DataFrame, cov: str, method: str, m2ll: float, intercept: float, se: float
) -> None:
    fit = fit_mmrm(fev, response="FEV1", subject="USUBJID", visit="AVISIT", fixed="1", cov=cov, method=method)  # type: ignore[arg-type]
    assert fit.converged
    assert fit.minus2_log_likelihood == pytest.approx(m2ll, rel=1e-8)
    assert fit.summary.loc["(Intercept)", "estimate"] == pytest.approx(intercept, rel=1e-4)
    assert fit.summary.loc["(Intercept)", "std_error"] == pytest.approx(se, abs=1e-4)


def test_intercept_only_covariance_parameters(fev: pd.DataFrame) -> None:
    kw = {"response": "FEV1", "subject": "USUBJID", "visit": "AVISIT", "fixed": "1"}
    us_reml = fit_mmrm(fev, cov="us", **kw).covariance.to_numpy()
    lower = [us_reml[1, 0], us_reml[2, 0], us_reml[3, 0], us_reml[2, 1], us_reml[3, 1], us_reml[3, 2]]
    np.testing.assert_allclose(lower, [49.8999, 2.7459, -40.4566, 4.9722, -8.5335, 23.0555], rtol=2e-3, atol=0.02)
    us_ml = fit_mmrm(fev, cov="us", method="ml", **kw).covariance.to_numpy()
    np.testing.assert_allclose(np.diag(us_ml), [113.55, 43.9179, 27.1302, 158.01], rtol=2e-3)
    lower = [us_ml[1, 0], us_ml[2, 0], us_ml[3, 0], us_ml[2, 1], us_ml[3, 1], us_ml[3, 2]]
    np.testing.assert_allclose(lower, [49.8121, 2.6246, -40.5833, 4.8398, -8.6607, 22.9163], rtol=2e-3, atol=0.02)
    for method, var, rho in (("reml", 88.9866, 0.4272), ("ml", 88.7088, 0.4249)):
        params = fit_mmrm(fev, cov="ar1", method=method, **kw).cov_parameters["estimate"]  # type: ignore[arg-type]
        assert params["Residual"] == pytest.approx(var, rel=1e-4)
        assert params["AR(1)"] == pytest.approx(rho, abs=1e-4)
    for method, total, rho in (("reml", 86.8968, 0.06783), ("ml", 86.7143, 0.06596)):
        sigma = fit_mmrm(fev, cov="cs", method=method, **kw).covariance.to_numpy()  # type: ignore[arg-type]
        assert sigma[0, 0] == pytest.approx(total, rel=1e-4)
        assert sigma[0, 1] / sigma[0, 0] == pytest.approx(rho, abs=2e-4)


# §3: SAS ddfm=kr and kr(linear) for FEV1 ~ ARMCD (design/ddfm_covtype/)
SAS_KR = [
    ("us", 0.66124382, 160.733266, 0.66124382, 160.733266),
    ("ar1", 0.95865440, 188.469349, 0.96058142, 188.469349),
    ("cs", 0.7965, 177.038486, 0.79646961, 177.038486),
]


@pytest.mark.parametrize(("cov", "kr_se", "kr_df", "lin_se", "lin_df"), SAS_KR)
def test_kenward_roger_matches_sas(
    fev: pd.DataFrame, cov: str, kr_se: float, kr_df: float, lin_se: float, lin_df: float
) -> None:
    kw = {"response": "FEV1", "subject": "USUBJID", "visit": "AVISIT", "fixed": "ARMCD", "cov": cov}
    kr = fit_mmrm(fev, df="kenward-roger", **kw).summary.loc["ARMCDTRT"]  # type: ignore[arg-type]
    lin = fit_mmrm(fev, df="kenward-roger-linear", **kw).summary.loc["ARMCDTRT"]  # type: ignore[arg-type]
    # AR(1)/CS optima are sharp: SAS agrees to ~1e-6; the US surface is flat (SAS stops ~1e-4 away)
    rel = 1e-4 if cov == "us" else 1e-5
    assert kr["std_error"] == pytest.approx(kr_se, rel=max(rel, 1e-4 if cov == "cs" else 0))
    assert lin["std_error"] == pytest.approx(lin_se, rel=rel)
    assert kr["df"] == pytest.approx(kr_df, rel=1e-3 if cov == "us" else 1e-5)
    assert lin["df"] == pytest.approx(lin_df, rel=1e-3 if cov == "us" else 1e-5)
    if cov == "ar1":  # nonlinear in SAS's (σ², ρ): the second-derivative term matters
        assert kr["std_error"] < lin["std_error"]


@pytest.mark.parametrize(("cov", "kr_se", "kr_df", "lin_se", "lin_df"), SAS_KR)
def test_kenward_roger_f_test_of_one_row_is_the_squared_t(
    fev: pd.DataFrame, cov: str, kr_se: float, kr_df: float, lin_se: float, lin_df: float
) -> None:
    """Kenward & Roger (1997): for one contrast row the scaled F is t² (λ = 1) on the same df, here
    the SAS ddfm=kr df of §3. The F path (``_kr_f``) and the t path share no code after the fit, so
    they agree to round-off (1e-9 relative; observed ~1e-14)."""
    kw = {"response": "FEV1", "subject": "USUBJID", "visit": "AVISIT", "fixed": "ARMCD", "cov": cov}
    for method, se, df in (("kenward-roger", kr_se, kr_df), ("kenward-roger-linear", lin_se, lin_df)):
        fit = fit_mmrm(fev, df=method, **kw)  # type: ignore[arg-type]
        t = fit.summary.loc["ARMCDTRT"]
        test = fit.f_test({"ARMCDTRT": 1.0})
        assert test.num_df == 1
        assert test.f == pytest.approx(t["statistic"] ** 2, rel=1e-9)
        assert test.den_df == pytest.approx(t["df"], rel=1e-9)
        assert test.den_df == pytest.approx(df, rel=1e-3 if cov == "us" else 1e-5)
        assert test.f == pytest.approx((t["estimate"] / se) ** 2, rel=1e-3)


def _hotelling_case(n1: int, n2: int, visits: int, seed: int) -> pd.DataFrame:
    """Complete, balanced-in-time data: two arms, ``visits`` visits, correlated normal errors."""
    rng = np.random.default_rng(seed)
    chol = np.tril(np.full((visits, visits), 0.4)) + np.eye(visits) * 0.6
    rows = []
    for i in range(n1 + n2):
        arm = "PBO" if i < n1 else "TRT"
        y = 3 * chol @ rng.standard_normal(visits) + np.arange(visits) + (0.8 if arm == "TRT" else 0.0)
        rows += [{"id": f"P{i:03d}", "arm": arm, "visit": f"V{v + 1}", "y": y[v]} for v in range(visits)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("n1", "n2", "visits", "seed"), [(15, 15, 4, 2026), (11, 19, 3, 7)])
def test_kenward_roger_f_reproduces_hotelling_t2_exactly(n1: int, n2: int, visits: int, seed: int) -> None:
    """Kenward & Roger (1997, §5): with complete data and an unstructured covariance their scaled F for
    the arm effect at every visit is Hotelling's two-sample T² test, F = (N − p − 1)/(p(N − 2)) T² on
    (p, N − p − 1) df. T² is computed here from the per-visit means and the pooled covariance (numpy
    only). At the REML optimum Σ̂ is that pooled covariance, so the two agree to the optimizer's
    precision: 1e-6 relative (observed ~1e-15); a wrong KR coefficient moves F or m by far more."""
    data = _hotelling_case(n1, n2, visits, seed)
    y = data.pivot(index="id", columns="visit", values="y").to_numpy()
    arm = np.array([0] * n1 + [1] * n2)
    n, p = n1 + n2, visits
    diff = y[arm == 1].mean(axis=0) - y[arm == 0].mean(axis=0)
    pooled = ((n1 - 1) * np.cov(y[arm == 0].T) + (n2 - 1) * np.cov(y[arm == 1].T)) / (n - 2)
    t2 = n1 * n2 / n * diff @ np.linalg.solve(pooled, diff)
    fit = fit_mmrm(data, response="y", subject="id", visit="visit", fixed="arm*visit", cov="us", df="kenward-roger")
    names = list(fit.summary.index)
    rows = np.zeros((p, len(names)))
    for k in range(p):
        rows[k, names.index("armTRT")] = 1.0
        if k:
            rows[k, names.index(f"armTRT:visitV{k + 1}")] = 1.0
    test = fit.f_test(rows)
    assert test.num_df == p
    assert test.den_df == pytest.approx(n - p - 1, rel=1e-6)
    assert test.f == pytest.approx((n - p - 1) / (p * (n - 2)) * t2, rel=1e-6)
    assert test.p_value == pytest.approx(stats.f.sf((n - p - 1) / (p * (n - 2)) * t2, p, n - p - 1), rel=1e-5)

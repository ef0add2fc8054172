"""MMRM features beyond the SAS reference tables: structures, groups, weights, sandwich, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alstrial.stats.mmrm import (
    COV_TYPES,
    MMRM,
    MMRMConvergenceWarning,
    MMRMDataError,
    MMRMSpec,
    MMRMSpecError,
    RankDeficientDesign,
    fit_mmrm,
)
from alstrial.stats.mmrm.formula import parse_formula

DATA = Path(__file__).parents[1] / "data" / "fev_data.csv"
KW = {"response": "FEV1", "subject": "USUBJID", "visit": "AVISIT"}


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    return pd.read_csv(DATA)


def naive_minus2ll(fev: pd.DataFrame, fit, weights: str | None = None, reml: bool = True) -> float:
    """Brute-force -2 log-likelihood, one subject at a time (independent of the engine's batching)."""
    from alstrial.stats.mmrm.prepare import prepare

    prep = prepare(fit.spec, fev)
    frame = prep.frame
    x_all = prep.x
    y_all = frame["FEV1"].to_numpy()
    w_all = frame[weights].to_numpy() if weights else np.ones(len(frame))
    visits = list(fit.visits)
    beta = fit.summary["estimate"].to_numpy()
    total = 0.0
    info = np.zeros((x_all.shape[1],) * 2)
    groups = frame[fit.spec.group].astype(str).to_numpy() if fit.spec.group else None
    for subj in frame["USUBJID"].unique():
        rows = np.flatnonzero(frame["USUBJID"].to_numpy() == subj)
        idx = [visits.index(v) for v in frame["AVISIT"].to_numpy()[rows]]
        sigma = fit.covariances[groups[rows[0]]] if groups is not None else fit.covariance
        s = sigma.to_numpy()[np.ix_(idx, idx)]
        d = np.diag(1 / np.sqrt(w_all[rows]))
        v = d @ s @ d
        r = y_all[rows] - x_all[rows] @ beta
        vinv = np.linalg.inv(v)
        total += np.linalg.slogdet(v)[1] + r @ vinv @ r
        info += x_all[rows].T @ vinv @ x_all[rows]
    n, p = len(frame), x_all.shape[1]
    if reml:
        return total + np.linalg.slogdet(info)[1] + (n - p) * np.log(2 * np.pi)
    return total + n * np.log(2 * np.pi)


def test_formula_expansion_follows_r() -> None:
    f = parse_formula("RACE + SEX + ARMCD*AVISIT")
    assert [t.label for t in f.terms] == ["RACE", "SEX", "ARMCD", "AVISIT", "ARMCD:AVISIT"]
    f = parse_formula("a*b*c - a:b:c + 0")
    assert not f.intercept
    assert [t.label for t in f.terms] == ["a", "b", "c", "a:b", "a:c", "b:c"]
    with pytest.raises(MMRMSpecError, match="cannot parse"):
        parse_formula("a + b$")


def test_natural_visit_order_and_reference_override(fev: pd.DataFrame) -> None:
    data = fev.assign(AVISIT=fev["AVISIT"].map({"VIS1": "V2", "VIS2": "V10", "VIS3": "V3", "VIS4": "V1"}))
    fit = fit_mmrm(data, **KW, fixed="RACE + AVISIT", cov="cs", ref={"RACE": "White"})
    assert fit.visits == ("V1", "V2", "V3", "V10")
    assert "RACEAsian" in fit.summary.index and "RACEWhite" not in fit.summary.index


@pytest.mark.parametrize("cov", COV_TYPES)
def test_every_structure_fits_positive_definite(fev: pd.DataFrame, cov: str) -> None:
    fit = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov=cov)  # type: ignore[arg-type]
    assert fit.converged
    sigma = fit.covariance.to_numpy()
    np.testing.assert_allclose(sigma, sigma.T)
    assert np.linalg.eigvalsh(sigma).min() > 0
    assert fit.minus2_log_likelihood == pytest.approx(naive_minus2ll(fev, fit), rel=1e-10)
    # nested in US: no structure beats the unstructured likelihood
    us = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us")
    assert us.minus2_log_likelihood <= fit.minus2_log_likelihood + 1e-6


def test_structure_shapes(fev: pd.DataFrame) -> None:
    ar1 = fit_mmrm(fev, **KW, cov="ar1").covariance.to_numpy()
    rho = ar1[0, 1] / ar1[0, 0]
    assert ar1[0, 2] / ar1[0, 0] == pytest.approx(rho**2)
    toep = fit_mmrm(fev, **KW, cov="toep").covariance.to_numpy()
    assert toep[0, 1] == pytest.approx(toep[2, 3]) and toep[0, 0] == pytest.approx(toep[3, 3])
    adh = fit_mmrm(fev, **KW, cov="adh").covariance.to_numpy()
    corr = adh / np.sqrt(np.outer(np.diag(adh), np.diag(adh)))
    assert corr[0, 2] == pytest.approx(corr[0, 1] * corr[1, 2])


def test_ml_versus_reml(fev: pd.DataFrame) -> None:
    reml = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us")
    ml = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us", method="ml")
    assert ml.minus2_log_likelihood == pytest.approx(naive_minus2ll(fev, ml, reml=False), rel=1e-10)
    # ML variances are biased down relative to REML
    assert np.all(np.diag(ml.covariance) < np.diag(reml.covariance))
    # SAS convention: ML criteria count fixed effects too (8 + 10 parameters)
    assert ml.aic == pytest.approx(ml.minus2_log_likelihood + 2 * 18)
    assert reml.bic == pytest.approx(reml.minus2_log_likelihood + 10 * np.log(197))


def test_group_specific_covariance(fev: pd.DataFrame) -> None:
    fit = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us", group="ARMCD")
    assert set(fit.covariances) == {"PBO", "TRT"}
    assert fit.n_cov_parameters == 20
    assert fit.aic == pytest.approx(fit.minus2_log_likelihood + 40)
    assert not np.allclose(fit.covariances["PBO"], fit.covariances["TRT"], rtol=0.05)
    assert fit.minus2_log_likelihood == pytest.approx(naive_minus2ll(fev, fit), rel=1e-10)
    single = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us")
    assert fit.minus2_log_likelihood < single.minus2_log_likelihood


def test_weights_enter_as_sas_weight_statement(fev: pd.DataFrame) -> None:
    fit = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us", weights="WEIGHT")
    assert fit.minus2_log_likelihood == pytest.approx(naive_minus2ll(fev, fit, weights="WEIGHT"), rel=1e-10)
    # constant weights c make Σ = c·Var(y) (Σ_i = W^-1/2 Σ W^-1/2) and leave β unchanged
    base = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us")
    scaled = fit_mmrm(fev.assign(W2=4.0), **KW, fixed="ARMCD*AVISIT", cov="us", weights="W2")
    np.testing.assert_allclose(scaled.summary["estimate"], base.summary["estimate"], atol=1e-6)
    np.testing.assert_allclose(scaled.covariance.to_numpy() / 4.0, base.covariance.to_numpy(), rtol=1e-5)
    # the likelihood of the data is unchanged (log|Σ_i| = log|Σ| − Σ log w)
    assert scaled.minus2_log_likelihood == pytest.approx(base.minus2_log_likelihood, abs=1e-6)
    assert not np.allclose(fit.summary["estimate"], base.summary["estimate"], atol=1e-3)


def test_empirical_sandwich_matches_brute_force(fev: pd.DataFrame) -> None:
    from alstrial.stats.mmrm.prepare import prepare

    fit = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us", vcov="empirical", df="residual")
    prep = prepare(fit.spec, fev)
    frame, x = prep.frame, prep.x
    y = frame["FEV1"].to_numpy()
    beta = fit.summary["estimate"].to_numpy()
    visits = list(fit.visits)
    bread = np.zeros((x.shape[1],) * 2)
    meat = np.zeros_like(bread)
    for subj in frame["USUBJID"].unique():
        rows = np.flatnonzero(frame["USUBJID"].to_numpy() == subj)
        idx = [visits.index(v) for v in frame["AVISIT"].to_numpy()[rows]]
        vinv = np.linalg.inv(fit.covariance.to_numpy()[np.ix_(idx, idx)])
        bread += x[rows].T @ vinv @ x[rows]
        score = x[rows].T @ vinv @ (y[rows] - x[rows] @ beta)
        meat += np.outer(score, score)
    binv = np.linalg.inv(bread)
    expected = np.sqrt(np.diag(binv @ meat @ binv))
    np.testing.assert_allclose(fit.summary["std_error"], expected, rtol=1e-8)
    assert (fit.summary["df"] == 537 - 8).all()


def test_between_within_df(fev: pd.DataFrame) -> None:
    fit = fit_mmrm(fev, **KW, fixed="RACE + ARMCD*AVISIT", cov="us", df="between-within")
    s = fit.summary["df"]
    # between-subject columns: intercept, 2 RACE, ARMCD → 197 − 4; within: 537 − 197 − 6
    assert s["RACEWhite"] == 193 and s["ARMCDTRT"] == 193
    assert s["AVISITVIS2"] == 537 - 197 - 6
    # a joint test takes the smallest df of its columns: RACE's two columns are both between-subject
    race = fit.f_test("RACE")
    wald = fit_mmrm(fev, **KW, fixed="RACE + ARMCD*AVISIT", cov="us").f_test("RACE")  # same Wald F
    assert (race.num_df, race.den_df) == (2, 193)
    assert race.f == pytest.approx(wald.f, rel=1e-9)
    assert race.p_value == pytest.approx(stats.f.sf(race.f, 2, 193), rel=1e-9)
    # a rank-deficient contrast (a row repeated) is tested on its rank: the same test as the single row
    names = list(fit.summary.index)
    row = np.zeros(len(names))
    row[names.index("ARMCDTRT")] = 1.0
    single, doubled = fit.f_test(row[None, :]), fit.f_test(np.vstack([row, 2 * row]))
    assert (doubled.num_df, doubled.den_df) == (1, 193)
    assert doubled.f == pytest.approx(single.f, rel=1e-9)
    # a contrast of nothing uses no column: the residual df, 537 observations − 10 coefficients
    zero = fit.contrast(np.zeros(len(names))).iloc[0]
    assert (zero["estimate"], zero["std_error"], zero["df"]) == (0.0, 0.0, 537 - 10)


def test_a_contrast_of_nothing_has_infinite_satterthwaite_df(fev: pd.DataFrame) -> None:
    """Satterthwaite's df is 2v²/Var(v) with v = 0 here: no information, reported as ∞, not an error."""
    fit = fit_mmrm(fev, **KW, fixed="ARMCD", cov="us")
    zero = fit.contrast(np.zeros(len(fit.summary.index))).iloc[0]
    assert zero["df"] == np.inf


def test_contrast_and_joint_f_test(fev: pd.DataFrame) -> None:
    fit = fit_mmrm(fev, **KW, fixed="ARMCD*AVISIT", cov="us")
    c = fit.contrast({"ARMCDTRT": 1.0, "ARMCDTRT:AVISITVIS4": 1.0}, names=["TRT effect at VIS4"])
    ls = fit.lsmeans("ARMCD", by="AVISIT").differences.loc[("VIS4", "TRT - PBO")]
    assert c.loc["TRT effect at VIS4", "estimate"] == pytest.approx(ls["estimate"])
    assert c.loc["TRT effect at VIS4", "std_error"] == pytest.approx(ls["std_error"])
    one = fit.f_test({"ARMCDTRT": 1.0})
    t = fit.summary.loc["ARMCDTRT"]
    assert one.f == pytest.approx(t["statistic"] ** 2)
    assert one.den_df == pytest.approx(t["df"])
    assert fit.type3().loc["ARMCD:AVISIT", "num_df"] == 3


def test_proportional_lsmeans_weights(fev: pd.DataFrame) -> None:
    fit = fit_mmrm(fev, **KW, fixed="RACE + ARMCD*AVISIT", cov="us")
    equal = fit.lsmeans("ARMCD", by="AVISIT").table["estimate"]
    prop = fit.lsmeans("ARMCD", by="AVISIT", weights="proportional").table["estimate"]
    assert not np.allclose(equal, prop)
    # differences between arms do not depend on how RACE is averaged (no interaction)
    d1 = fit.lsmeans("ARMCD", by="AVISIT").differences["estimate"]
    d2 = fit.lsmeans("ARMCD", by="AVISIT", weights="proportional").differences["estimate"]
    np.testing.assert_allclose(d1, d2)


def test_non_convergence_warns_and_flags(fev: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    import alstrial.stats.mmrm.optimize as opt

    monkeypatch.setattr(opt, "CONVERGENCE_TOL", -1.0)  # no fit can satisfy it
    with pytest.warns(MMRMConvergenceWarning, match="did not converge"):
        fit = fit_mmrm(fev, **KW, cov="ar1")
    assert fit.converged is False
    assert fit.to_dict()["converged"] is False


def test_result_presentation(fev: pd.DataFrame) -> None:
    fit = fit_mmrm(fev, **KW, fixed="ARMCD", cov="cs")
    text = str(fit)
    assert "Mixed model for repeated measures" in text and "ARMCDTRT" in text and "-2 log-likelihood" in text
    d = fit.to_dict()
    assert d["n_subjects"] == 197 and d["spec"]["cov"] == "cs"
    assert [c["term"] for c in d["coefficients"]] == ["(Intercept)", "ARMCDTRT"]
    assert "alstrial_version" in d


# --- errors ----------------------------------------------------------------------------------
def test_unknown_column(fev: pd.DataFrame) -> None:
    with pytest.raises(MMRMDataError, match=r"unknown column\(s\) \['AGE'\]"):
        fit_mmrm(fev, **KW, fixed="AGE + ARMCD")


def test_non_numeric_response(fev: pd.DataFrame) -> None:
    with pytest.raises(MMRMDataError, match="response column 'RACE' must be numeric"):
        fit_mmrm(fev, response="RACE", subject="USUBJID", visit="AVISIT")


def test_visit_without_observations(fev: pd.DataFrame) -> None:
    data = fev.copy()
    data.loc[data["AVISIT"] == "VIS3", "FEV1"] = np.nan
    with pytest.raises(MMRMDataError, match=r"visit level\(s\) \['VIS3'\].*no observed 'FEV1'"):
        fit_mmrm(data, **KW)


def test_rank_deficient_design_names_aliased_terms(fev: pd.DataFrame) -> None:
    data = fev.assign(ARM2=fev["ARMCD"])
    with pytest.raises(RankDeficientDesign, match="ARM2TRT") as info:
        fit_mmrm(data, **KW, fixed="ARMCD + ARM2")
    assert info.value.aliased == ["ARM2TRT"]


def test_too_few_subjects(fev: pd.DataFrame) -> None:
    few = fev[fev["USUBJID"].isin(["PT102", "PT106", "PT108"])]  # 3 complete subjects, 11 fixed effects
    with pytest.raises(MMRMDataError, match="too little data"):
        fit_mmrm(few, **KW, fixed="RACE + SEX + ARMCD*AVISIT")


def test_spec_validation() -> None:
    with pytest.raises(MMRMSpecError, match=r"invalid value for cov, expected one of 'us'.*\(not 'un'\)"):
        MMRMSpec(**KW, cov="un")  # type: ignore[arg-type]
    with pytest.raises(MMRMSpecError, match="requires method='reml'"):
        MMRMSpec(**KW, method="ml", df="kenward-roger")
    with pytest.raises(MMRMSpecError, match="invalid reference level"):
        MMRM(MMRMSpec(**KW, fixed="RACE", ref={"RACE": "Martian"})).fit(pd.read_csv(DATA))


def test_duplicate_visit_rows(fev: pd.DataFrame) -> None:
    data = pd.concat([fev, fev.iloc[[1]]])
    with pytest.raises(MMRMDataError, match="more than one row at visit"):
        fit_mmrm(data, **KW)

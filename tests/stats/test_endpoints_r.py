"""Responder, random-slope and biomarker engines against R fits stored by validation/endpoints/endpoints.R.

Data (seeded, written by validation/endpoints/make_data.py): responder_data.csv, slope_data.csv
(189 subjects, 13 monthly visits with jittered days, ~29% dropout), slope_small.csv (40 subjects),
biomarker_data.csv (LLOQ 5, values below it as numbers or '<LLOQ' text, some missing).
Raw R 4.2.2 / nlme 3.1-162 outputs: validation/endpoints/outputs/{responder_glm,slope_lme,biomarker_lm}.csv.

Tolerances, and the agreement actually seen when they were set:
- responder ``glm(binomial)`` (R run with epsilon 1e-14): 1e-6 absolute; seen ~1e-12.
- biomarker ``lm``: 1e-6 absolute on log-scale coefficients, ratios and CIs; seen ~1e-15.
- random slope ``lme(REML)`` (R nlminb, tolerance 1e-10): fixed effects and SEs 1e-6 absolute
  (seen 5e-10 and 2e-8), G 1e-5 absolute (seen 4e-7 on the intercept variance ~16: the REML surface
  is flat there, a 1e-7 change in G moves the log-likelihood by < 1e-12), residual variance and REML
  log-likelihood 1e-6 (seen 1e-8 and 1e-12). The SE agreement relies on the model-based fixed-effect
  covariance in slope_model.py (statsmodels' own ``bse_fe`` differs from lme by ~1e-3 relative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.biomarkers import LloqRule, biomarker_ancova
from alstrial.stats.responder import MissingRule, responder_analysis
from alstrial.stats.slope_model import SlopeModelResult, random_slope_model

HERE = Path(__file__).resolve().parents[2] / "validation" / "endpoints"
R_OUT = HERE / "outputs"
TOL = 1e-6
COVARIATES = ["baseline_alsfrs", "onset_months", "onset_site", "riluzole", "pre_slope"]


@pytest.mark.parametrize(
    ("model", "covariates", "missing"),
    [
        ("unadjusted", [], "exclude"),
        ("adjusted", COVARIATES, "exclude"),
        ("adjusted_nonresponder", COVARIATES, "nonresponder"),
    ],
)
def test_responder_matches_glm(model: str, covariates: list[str], missing: MissingRule) -> None:
    ref = pd.read_csv(R_OUT / "responder_glm.csv")
    ref = ref[ref["model"] == model]
    data = pd.read_csv(HERE / "responder_data.csv")
    res = responder_analysis(
        data,
        arm="arm",
        pre_slope="pre_slope",
        post_slope="post_slope",
        covariates=covariates,
        reference="PBO",
        missing=missing,
    )
    assert res.n == ref["n"].iloc[0]
    assert res.proportions["responders"].sum() == ref["responders"].iloc[0]
    s = res.summary
    # R: (Intercept), armMSC, baseline_alsfrs, onset_months, onset_sitelimb, riluzoleyes, pre_slope
    assert [t.replace("[", "").replace("]", "") for t in s["term"][1:]] == list(ref["term"][1:])
    np.testing.assert_allclose(s["estimate"], ref["estimate"], atol=TOL)
    np.testing.assert_allclose(s["std_error"], ref["std_error"], atol=TOL)
    np.testing.assert_allclose(s["statistic"], ref["z"], atol=TOL)
    np.testing.assert_allclose(s["p_value"], ref["p"], atol=TOL)
    # Wald CI on the odds-ratio scale: exp(confint.default(fit))
    np.testing.assert_allclose(s["ci_lower"], ref["or_lower"], atol=TOL)
    np.testing.assert_allclose(s["ci_upper"], ref["or_upper"], atol=TOL)
    arm = ref[ref["term"] == "armMSC"].iloc[0]
    assert (res.odds_ratio, res.ci_lower, res.ci_upper) == pytest.approx(
        (arm["odds_ratio"], arm["or_lower"], arm["or_upper"]), abs=TOL
    )


@pytest.fixture(scope="module", params=["slope_data", "slope_small"])
def slope_fit(request: pytest.FixtureRequest) -> tuple[str, SlopeModelResult]:
    data = pd.read_csv(HERE / f"{request.param}.csv")
    fit = random_slope_model(data, subject="subject", time="month", score="score", arm="arm", reference="PBO")
    return request.param, fit


def test_random_slope_fixed_effects_match_lme(slope_fit: tuple[str, SlopeModelResult]) -> None:
    name, fit = slope_fit
    ref = pd.read_csv(R_OUT / "slope_lme.csv")
    ref = ref[ref["dataset"] == name]
    fixed = ref[ref["kind"] == "fixed"]
    assert fit.converged, fit.notes
    n = ref[ref["kind"] == "n"].set_index("term")["estimate"]
    assert (fit.n_subjects, fit.n_obs) == (n["subjects"], n["obs"])
    # (Intercept), month, armMSC, month:armMSC — same order as ours
    np.testing.assert_allclose(fit.summary["estimate"], fixed["estimate"], atol=TOL)
    np.testing.assert_allclose(fit.summary["std_error"], fixed["std_error"], atol=TOL)
    assert fit.slope_difference == pytest.approx(fixed["estimate"].iloc[3], abs=TOL)
    assert fit.std_error == pytest.approx(fixed["std_error"].iloc[3], abs=TOL)


def test_random_slope_variance_components_match_lme(slope_fit: tuple[str, SlopeModelResult]) -> None:
    name, fit = slope_fit
    table = pd.read_csv(R_OUT / "slope_lme.csv")
    table = table[table["dataset"] == name]
    ref = {(k, t): float(v) for k, t, v in zip(table["kind"], table["term"], table["estimate"], strict=True)}
    g = fit.random_effects_cov.to_numpy()  # rows/columns: intercept, time
    r_g = np.array([ref["G", "intercept,intercept"], ref["G", "intercept,month"], ref["G", "month,month"]])
    np.testing.assert_allclose(np.array([g[0, 0], g[0, 1], g[1, 1]]), r_g, atol=1e-5)
    assert g[0, 1] == g[1, 0]
    assert fit.residual_variance == pytest.approx(ref["residual_variance", "sigma2"], abs=TOL)
    assert fit.reml_log_likelihood == pytest.approx(ref["reml_loglik", "logLik"], abs=TOL)


@pytest.mark.parametrize(
    ("rule", "model", "covariates"),
    [
        ("half", "log(base) + arm", []),
        ("sqrt2", "log(base) + arm", []),
        ("exclude", "log(base) + arm", []),
        ("half", "log(base) + arm + site", ["site"]),
    ],
)
def test_biomarker_gmr_matches_lm(rule: LloqRule, model: str, covariates: list[str]) -> None:
    ref = pd.read_csv(R_OUT / "biomarker_lm.csv")
    ref = ref[(ref["rule"] == rule) & (ref["model"] == model)]
    data = pd.read_csv(HERE / "biomarker_data.csv", dtype={"nfl_base": str, "nfl_post": str})
    res = biomarker_ancova(
        data,
        arm="arm",
        baseline="nfl_base",
        post="nfl_post",
        covariates=covariates,
        lloq=5.0,
        lloq_rule=rule,
        reference="PBO",
    )
    assert res.n == ref["n"].iloc[0] and res.df_resid == ref["df_resid"].iloc[0]
    np.testing.assert_allclose(res.summary["estimate"], ref["estimate"], atol=TOL)
    np.testing.assert_allclose(res.summary["std_error"], ref["std_error"], atol=TOL)
    np.testing.assert_allclose(res.summary["p_value"], ref["p"], atol=TOL)
    arm = ref[ref["term"] == "armMSC"].iloc[0]
    # GMR and its t-based CI: exp(coef), exp(confint(fit))
    assert res.ratio == pytest.approx(arm["ratio"], abs=TOL)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((arm["ratio_lower"], arm["ratio_upper"]), abs=TOL)
    assert res.p_value == pytest.approx(arm["p"], abs=TOL)

"""The responder arm x subgroup interaction against statsmodels' formula logit fitted independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.responder_interaction import responder_interaction


def _trial(seed: int, n: int = 400) -> pd.DataFrame:
    """Slope changes whose response odds ratio is larger in the "hi" level, with a covariate."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2, "MSC", "PBO")
    level = np.where((np.arange(n) // 2) % 2, "hi", "lo")
    base = rng.normal(36, 5, n)
    shift = (arm == "MSC") * np.where(level == "hi", 1.0, 0.2)
    slope_change = rng.normal(0.6 + shift - 0.03 * (base - 36), 1.0)
    return pd.DataFrame({"ARM": arm, "SG": level, "BASEALS": base, "SLOPECHG": slope_change})


@pytest.mark.parametrize("seed", [4, 5])
def test_the_interaction_is_the_arm_by_subgroup_term_of_one_logistic_model(seed: int) -> None:
    data = _trial(seed)
    res = responder_interaction(
        data, arm="ARM", subgroup="SG", slope_change="SLOPECHG", covariates=["BASEALS"], reference="PBO"
    )
    data["R"] = (data["SLOPECHG"] >= 1.25).astype(int)  # the responder rule, written out
    ref = smf.logit("R ~ C(ARM, Treatment('PBO')) * C(SG, Treatment('hi')) + BASEALS", data=data).fit(disp=0, tol=1e-12)
    term = "C(ARM, Treatment('PBO'))[T.MSC]:C(SG, Treatment('hi'))[T.lo]"  # log OR(lo) − log OR(hi)
    assert res.levels == ("hi", "lo")
    assert res.log_ratio == pytest.approx(ref.params[term], rel=1e-6)
    assert res.std_error == pytest.approx(ref.bse[term], rel=1e-5)
    assert res.p_value == pytest.approx(ref.pvalues[term], rel=1e-4)
    or_hi = np.exp(ref.params["C(ARM, Treatment('PBO'))[T.MSC]"])
    assert res.odds_ratios.loc["hi", "odds_ratio"] == pytest.approx(or_hi, rel=1e-6)
    assert res.odds_ratios.loc["lo", "odds_ratio"] == pytest.approx(or_hi * np.exp(ref.params[term]), rel=1e-6)
    # the second level's CI uses the covariance of b1 and b3 (statsmodels' covariance matrix)
    cov = ref.cov_params()
    b1 = "C(ARM, Treatment('PBO'))[T.MSC]"
    var_lo = cov.loc[b1, b1] + cov.loc[term, term] + 2 * cov.loc[b1, term]
    assert res.odds_ratios.loc["lo", "std_error"] == pytest.approx(np.sqrt(var_lo), rel=1e-5)
    assert res.ci_lower < res.ratio < res.ci_upper and "OR(lo) / OR(hi)" in str(res)


def test_the_interaction_refuses_a_subgroup_without_two_levels() -> None:
    data = _trial(6, n=60)
    with pytest.raises(EndpointDataError, match="'SG' must have exactly two levels"):
        responder_interaction(data.assign(SG="all"), arm="ARM", subgroup="SG", slope_change="SLOPECHG")
    with pytest.raises(EndpointDataError, match="SEX"):
        responder_interaction(data, arm="ARM", subgroup="SEX", slope_change="SLOPECHG")

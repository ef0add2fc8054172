"""Change-from-baseline primary endpoint (src/alstrial/stats/endpoints_change.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alstrial.stats.endpoints_change import change_from_baseline_mmrm
from alstrial.stats.mmrm import MMRMDataError, fit_mmrm

DATA = Path(__file__).parents[1] / "data" / "fev_data.csv"


@pytest.fixture(scope="module")
def chg() -> pd.DataFrame:
    fev = pd.read_csv(DATA)
    return fev.assign(CHG=fev["FEV1"] - fev["FEV1_BL"])


def test_endpoint_equals_the_direct_mmrm_lsmeans(chg: pd.DataFrame) -> None:
    res = change_from_baseline_mmrm(
        chg, subject="USUBJID", arm="ARMCD", visit="AVISIT", change="CHG", baseline="FEV1_BL", strata=["SEX"]
    )
    direct = fit_mmrm(
        chg,
        response="CHG",
        subject="USUBJID",
        visit="AVISIT",
        fixed="ARMCD*AVISIT + FEV1_BL*AVISIT + SEX",
        df="kenward-roger",
    )
    diff = direct.lsmeans("ARMCD", by="AVISIT").differences.loc[("VIS4", "TRT - PBO")]
    assert res.primary_visit == "VIS4" and (res.reference_arm, res.treatment_arm) == ("PBO", "TRT")
    assert res.difference == pytest.approx(diff["estimate"])
    assert res.std_error == pytest.approx(diff["std_error"])
    assert res.ci_lower == pytest.approx(diff["ci_lower"]) and res.ci_upper == pytest.approx(diff["ci_upper"])
    assert res.p_value == pytest.approx(diff["p_value"])
    assert list(res.lsmeans.index) == ["PBO", "TRT"]
    assert res.lsmeans.loc["TRT", "estimate"] - res.lsmeans.loc["PBO", "estimate"] == pytest.approx(res.difference)
    assert "TRT − PBO" in str(res)
    assert res.to_dict()["primary_visit"] == "VIS4"


def test_endpoint_primary_visit_and_errors(chg: pd.DataFrame) -> None:
    kw = {"subject": "USUBJID", "arm": "ARMCD", "visit": "AVISIT", "change": "CHG", "baseline": "FEV1_BL"}
    res = change_from_baseline_mmrm(chg, primary_visit="VIS2", df="satterthwaite", **kw)
    assert res.primary_visit == "VIS2"
    with pytest.raises(MMRMDataError, match="primary visit 'VIS9'"):
        change_from_baseline_mmrm(chg, primary_visit="VIS9", **kw)
    with pytest.raises(MMRMDataError, match="exactly two arms"):
        change_from_baseline_mmrm(chg.assign(ARMCD="X"), **kw)
    with pytest.raises(MMRMDataError, match="unknown column"):
        change_from_baseline_mmrm(chg, **{**kw, "baseline": "BASE"})


def _complete_trial(seed: int, n: int = 120) -> pd.DataFrame:
    """Complete data, three visits, correlated errors; the treatment effect is larger in level "hi"."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cov = np.array([[4.0, 2.4, 2.0], [2.4, 6.0, 3.6], [2.0, 3.6, 9.0]])
    rows = []
    for i in range(n):
        arm = "MSC" if i % 2 else "PBO"
        level = "hi" if (i // 2) % 2 else "lo"
        base = rng.normal(36, 5)
        eps = rng.multivariate_normal(np.zeros(3), cov)
        for j, visit in enumerate(("W4", "W12", "W24")):
            effect = (1.5 if level == "hi" else 0.3) * (j + 1) * (arm == "MSC")
            rows.append(
                {
                    "USUBJID": f"S{i:03d}",
                    "ARM": arm,
                    "SG": level,
                    "AVISIT": visit,
                    "BASE": base,
                    "CHG": -1.0 * (j + 1) - 0.05 * (base - 36) + effect + eps[j],
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_subgroup_interaction_equals_per_visit_least_squares_on_complete_data(seed: int) -> None:
    """With complete data and every fixed effect crossed with visit, the unstructured GLS estimate at a
    visit is that visit's OLS fit (identical regressors in every equation: Zellner 1962), and REML's
    variance for the visit is RSS / (n − p); so the interaction at W24 equals the ARM × SG coefficient
    of ``CHG ~ ARM*SG + BASE`` at W24 by statsmodels, with its standard error and its p value on
    n − p degrees of freedom."""
    import statsmodels.formula.api as smf

    from alstrial.stats.endpoints_change import subgroup_interaction_mmrm

    data = _complete_trial(seed)
    res = subgroup_interaction_mmrm(data, subgroup="SG", primary_visit="W24", reference_arm="PBO")
    w24 = data[data["AVISIT"] == "W24"]
    ols = smf.ols("CHG ~ C(ARM, Treatment('PBO')) * C(SG, Treatment('hi')) + BASE", data=w24).fit()
    term = "C(ARM, Treatment('PBO'))[T.MSC]:C(SG, Treatment('hi'))[T.lo]"  # effect(lo) − effect(hi)
    assert res.levels == ("hi", "lo")
    assert res.estimate == pytest.approx(ols.params[term], rel=1e-6)
    assert res.std_error == pytest.approx(ols.bse[term], rel=1e-5)
    assert res.df == pytest.approx(ols.df_resid, rel=1e-3)
    assert res.p_value == pytest.approx(ols.pvalues[term], rel=1e-3)
    # each level's effect is its own treatment difference at the visit
    effect_hi = ols.params["C(ARM, Treatment('PBO'))[T.MSC]"]
    assert res.effects.loc["hi", "estimate"] == pytest.approx(effect_hi, rel=1e-6)
    assert res.effects.loc["lo", "estimate"] == pytest.approx(effect_hi + ols.params[term], rel=1e-6)
    assert "interaction (lo) − (hi)" in str(res)


def test_subgroup_interaction_refuses_a_subgroup_without_two_levels() -> None:
    from alstrial.stats.endpoints_change import subgroup_interaction_mmrm

    data = _complete_trial(3, n=40)
    with pytest.raises(MMRMDataError, match="'SG' must have exactly two levels for the interaction"):
        subgroup_interaction_mmrm(data.assign(SG="all"), subgroup="SG")
    with pytest.raises(MMRMDataError, match=r"unknown column\(s\) \['SEX'\]"):
        subgroup_interaction_mmrm(data, subgroup="SEX")


def test_subgroup_interaction_adjusts_for_the_randomization_stratum() -> None:
    """A stratum that shifts the change and is unevenly spread over arm x level confounds the
    interaction: without it the estimate is far from the truth, with it (as the primary model adjusts)
    the truth is within 3 standard errors. True interaction at W24: (0.3 - 1.5) * 3 = -3.6 (lo - hi)."""
    import numpy as np

    from alstrial.stats.endpoints_change import subgroup_interaction_mmrm

    data = _complete_trial(4, n=1200)
    rng = np.random.default_rng(0)
    ids = data.drop_duplicates("USUBJID").set_index("USUBJID")
    # stratum B more likely among treated participants of level 'lo' only
    p_b = np.where((ids["ARM"] == "MSC") & (ids["SG"] == "lo"), 0.8, 0.2)
    stratum = pd.Series(np.where(rng.random(len(ids)) < p_b, "B", "A"), index=ids.index)
    data = data.assign(ST=data["USUBJID"].map(stratum))
    data["CHG"] = data["CHG"] - 6.0 * (data["ST"] == "B")
    plain = subgroup_interaction_mmrm(data, subgroup="SG", primary_visit="W24", reference_arm="PBO")
    adjusted = subgroup_interaction_mmrm(data, subgroup="SG", primary_visit="W24", reference_arm="PBO", strata=["ST"])
    assert abs(adjusted.estimate - (-3.6)) < 3 * adjusted.std_error
    assert abs(plain.estimate - (-3.6)) > 5 * plain.std_error
    assert any("ST" in str(name) for name in adjusted.fit.summary.index)


def test_subgroup_interaction_refuses_a_stratum_that_is_the_subgroup_itself() -> None:
    from alstrial.stats.endpoints_change import subgroup_interaction_mmrm

    data = _complete_trial(5, n=40)
    with pytest.raises(MMRMDataError, match=r"stratum column\(s\) \['BAND'\] take one value within each level of 'SG'"):
        subgroup_interaction_mmrm(data.assign(BAND=data["SG"] + "-band"), subgroup="SG", strata=["BAND"])

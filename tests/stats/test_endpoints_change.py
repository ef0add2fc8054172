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

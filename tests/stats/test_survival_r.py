"""Survival engine against R survival 3.5-3 (R 4.2.2) fits stored by validation/survival/survival.R.

Raw R outputs (CSV written by R, 15 significant digits) in validation/survival/outputs/:
``km.csv`` (``summary(survfit(..., conf.type = "log"), censored = TRUE)``), ``km_medians.csv``
(``summary(fit)$table``: median and its 0.95 CI), ``logrank.csv`` (``survdiff``, plain and with
``strata()``), ``cox.csv`` (``coxph``, efron and breslow ties, ``robust = FALSE``, eps 1e-12).
Data: tests/data/lung.csv and tests/data/ovarian.csv. Tolerance 1e-6 absolute throughout (the
agreement seen is ~1e-12 or better; 1e-6 leaves room for BLAS/optimizer differences only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.survival import Ties, logrank, survival_analysis

ROOT = Path(__file__).resolve().parents[2]
R_OUT = ROOT / "validation" / "survival" / "outputs"
DATA = ROOT / "tests" / "data"
TOL = 1e-6
COLUMNS = {"lung": ("time", "status"), "ovarian": ("futime", "fustat")}


def _read(name: str) -> pd.DataFrame:
    # keep "" (no strata) as text, "NA" as missing; groups as text ("1", "2", "all")
    return pd.read_csv(R_OUT / name, keep_default_na=False, na_values=["NA"], dtype={"group": str, "strata": str})


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(DATA / f"{name}.csv") for name in COLUMNS}


def _label(group: object) -> str:
    return "all" if group == "all" else str(int(group))  # type: ignore[call-overload]


KM_CASES = [("lung", "all"), ("lung", "sex"), ("lung", "ph.ecog"), ("ovarian", "all"), ("ovarian", "rx")]


@pytest.mark.parametrize(("dataset", "by"), KM_CASES)
def test_kaplan_meier_tables_match_survfit(data: dict[str, pd.DataFrame], dataset: str, by: str) -> None:
    ref = _read("km.csv")
    ref = ref[(ref["dataset"] == dataset) & (ref["by"] == by)]
    time, event = COLUMNS[dataset]
    res = survival_analysis(data[dataset], time=time, event=event, group=None if by == "all" else by)
    assert sorted(_label(c.group) for c in res.km) == sorted(ref["group"].unique())
    for curve in res.km:
        r = ref[ref["group"] == _label(curve.group)]
        ours = curve.table
        assert len(ours) == len(r), f"{dataset}/{by}/{curve.group}: row count"
        np.testing.assert_array_equal(ours["time"], r["time"])
        np.testing.assert_array_equal(ours["at_risk"], r["n_risk"])
        np.testing.assert_array_equal(ours["events"], r["n_event"])
        np.testing.assert_array_equal(ours["censored"], r["n_censor"])
        for mine, theirs in [
            ("survival", "surv"),
            ("std_error", "std_err"),
            ("ci_lower", "lower"),
            ("ci_upper", "upper"),
        ]:
            # where S reaches 0 R reports NA for the SE and the CI; so must we
            np.testing.assert_allclose(ours[mine], r[theirs], atol=TOL, rtol=0, equal_nan=True, err_msg=mine)


@pytest.mark.parametrize(("dataset", "by"), KM_CASES)
def test_medians_and_their_ci_match_survfit(data: dict[str, pd.DataFrame], dataset: str, by: str) -> None:
    ref = _read("km_medians.csv")
    ref = ref[(ref["dataset"] == dataset) & (ref["by"] == by)].set_index("group")
    time, event = COLUMNS[dataset]
    res = survival_analysis(data[dataset], time=time, event=event, group=None if by == "all" else by)
    for curve in res.km:
        r = ref.loc[_label(curve.group)]
        assert (curve.n, curve.events) == (r["n"], r["events"])
        ours = [curve.median, curve.median_ci_lower, curve.median_ci_upper]
        # NA where the curve (or its CI bound) never reaches 0.5, e.g. ovarian rx=2 median / upper limits
        np.testing.assert_allclose(ours, r[["median", "lcl", "ucl"]].to_numpy(float), atol=TOL, equal_nan=True)


def test_lung_median_ci_is_the_printed_one() -> None:
    """The (285, 363) asserted in test_survival.py is R's printout, re-checked here from the stored file."""
    ref = _read("km_medians.csv")
    r = ref[(ref["dataset"] == "lung") & (ref["by"] == "all")].iloc[0]
    assert (r["median"], r["lcl"], r["ucl"]) == (310, 285, 363)


LR_CASES = [
    ("lung", "sex", ""),
    ("lung", "ph.ecog", ""),
    ("lung", "sex", "ph.ecog"),
    ("lung", "sex", "inst"),
    ("ovarian", "rx", ""),
    ("ovarian", "rx", "resid.ds"),
]


@pytest.mark.parametrize(("dataset", "by", "strata"), LR_CASES)
def test_logrank_matches_survdiff(data: dict[str, pd.DataFrame], dataset: str, by: str, strata: str) -> None:
    ref = _read("logrank.csv")
    ref = ref[(ref["dataset"] == dataset) & (ref["by"] == by) & (ref["strata"] == strata)]
    time, event = COLUMNS[dataset]
    res = survival_analysis(data[dataset], time=time, event=event, group=by, strata=strata or None)
    lr = res.logrank
    assert lr is not None
    assert lr.strata == (strata or None)
    assert lr.chisq == pytest.approx(ref["chisq"].iloc[0], abs=TOL)
    assert lr.p_value == pytest.approx(ref["p"].iloc[0], abs=TOL)
    assert lr.df == ref["df"].iloc[0]
    assert [_label(g) for g in lr.table["group"]] == list(ref["group"])
    np.testing.assert_array_equal(lr.table["n"], ref["n"])
    np.testing.assert_array_equal(lr.table["observed"], ref["observed"])
    np.testing.assert_allclose(lr.table["expected"], ref["expected"], atol=TOL)


def test_stratification_changes_the_logrank() -> None:
    """Guard against strata being ignored: stratified and plain χ² differ on lung (10.795 vs 10.327)."""
    ref = _read("logrank.csv")
    plain_chisq = ref[(ref["dataset"] == "lung") & (ref["by"] == "sex") & (ref["strata"] == "")]["chisq"].iloc[0]
    strat = ref[(ref["dataset"] == "lung") & (ref["by"] == "sex") & (ref["strata"] == "ph.ecog")]["chisq"].iloc[0]
    assert abs(plain_chisq - strat) > 0.1
    # one stratum per subject leaves no within-stratum comparison: χ² = 0
    t = np.array([1.0, 2.0, 3.0, 4.0])
    res = logrank(t, np.ones(4), np.array([0, 1, 0, 1]), np.arange(4))
    assert res.chisq == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(EndpointDataError, match="strata 'site' has a missing value"):
        logrank(t, np.ones(4), np.array([0, 1, 0, 1]), np.array([1.0, np.nan, 1.0, 2.0]), strata_name="site")


def test_stratified_result_says_so(data: dict[str, pd.DataFrame]) -> None:
    res = survival_analysis(data["lung"], time="time", event="status", group="sex", strata="ph.ecog")
    text = str(res)
    assert "log-rank stratified by ph.ecog" in text and "stratified by ph.ecog)" in text
    d = res.to_dict()
    assert d["strata"] == "ph.ecog" and d["logrank"]["strata"] == "ph.ecog"
    assert d["cox_model"]["strata"] == "ph.ecog" and res.n_dropped == 1


COX_CASES = [
    ("lung", "sex+age", None, ["sex", "age"], None),
    ("lung", "sex+age+ph.ecog", None, ["sex", "age", "ph.ecog"], None),
    ("lung", "sex+age|strata(ph.ecog)", None, ["sex", "age"], "ph.ecog"),
    ("ovarian", "rx+age", "rx", ["age"], None),
    ("ovarian", "rx+age+ecog.ps", "rx", ["age", "ecog.ps"], None),
]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize(("dataset", "model", "group", "covariates", "strata"), COX_CASES)
def test_cox_matches_coxph(
    data: dict[str, pd.DataFrame],
    dataset: str,
    model: str,
    group: str | None,
    covariates: list[str],
    strata: str | None,
    ties: Ties,
) -> None:
    ref = _read("cox.csv")
    ref = ref[(ref["dataset"] == dataset) & (ref["model"] == model) & (ref["ties"] == ties)]
    time, event = COLUMNS[dataset]
    res = survival_analysis(
        data[dataset],
        time=time,
        event=event,
        group=group,
        covariates=covariates,
        ties=ties,
        strata=strata,
    )
    cox = res.cox
    assert cox is not None
    assert (cox.n, cox.events) == (ref["n"].iloc[0], ref["nevent"].iloc[0])
    assert len(cox.summary) == len(ref)  # R's factor(rx)2 is our rx[2]; same order
    np.testing.assert_allclose(cox.summary["estimate"], ref["coef"], atol=TOL)
    np.testing.assert_allclose(cox.summary["std_error"], ref["se"], atol=TOL)
    assert cox.loglik_null == pytest.approx(ref["loglik_null"].iloc[0], abs=TOL)
    assert cox.loglik == pytest.approx(ref["loglik"].iloc[0], abs=TOL)
    np.testing.assert_allclose(cox.summary["hazard_ratio"], np.exp(ref["coef"]), rtol=TOL)

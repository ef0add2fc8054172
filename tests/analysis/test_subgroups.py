"""Prespecified subgroups: a subgroup-specific effect set in the simulator is found in that subgroup
only, and the treatment-by-subgroup interaction test picks it up."""

from __future__ import annotations

import pandas as pd
import pytest

from alstrial.analysis.plan import AnalysisPlan
from alstrial.analysis.subgroups import run_subgroups, subgroup_levels, threshold_subgroups
from alstrial.design.cohort_datasets import datasets_from_cohort
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol, Subgroup
from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort

HIGH_EFFECT = 1.2  # points/month slowing, only when baseline ALSFRS-R >= 35


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    full = load_protocol()
    protocol: Protocol = full.model_copy(
        update={
            "endpoints": [e for e in full.endpoints if e.method == "mmrm_change"],
            "subgroups": [s for s in full.subgroups if s.id in ("BASEALS35", "SEX")],
            "analysis": full.analysis.model_copy(update={"baseline_thresholds": []}),
        }
    )
    base = SimulationParams()
    params = base.model_copy(
        update={
            "treatment": base.treatment.model_copy(
                update={
                    "effect_slope_points_per_month": 0.0,
                    "effect_slope_high_points_per_month": HIGH_EFFECT,
                    "severity_threshold_total": 35,
                }
            ),
            "dropout": base.dropout.model_copy(update={"base_per_month": 0.0}),
        }
    )
    cohort = simulate_cohort(params, n=400, seed=21, arms=("PBO", "MSC"), control_arm="PBO")
    ds = datasets_from_cohort(cohort, protocol)
    sub = AnalysisPlan(protocol, imputations=2).subgroups(ds)
    assert sub is not None
    return sub


def test_the_effect_is_found_in_its_subgroup_only(result) -> None:
    rows = result.rows.set_index(["subgroup", "level"])
    high, low = rows.loc[("BASEALS35", "≥ 35")], rows.loc[("BASEALS35", "< 35")]
    assert high["error"] is None and low["error"] is None
    # ~1.2 points/month over 28 weeks ≈ 7.7 points, diluted by the decline's floor and noise
    assert high["estimate"] > 3 and high["ci_lower"] > 0 and high["p_value"] < 0.001
    assert low["ci_lower"] < 0 < low["ci_upper"]
    inter = result.interactions.set_index("subgroup")
    assert inter.loc["BASEALS35", "p_value"] < 0.001
    # tested in one MMRM with an arm x visit x subgroup term (t test with its df), not between two fits
    assert inter.loc["BASEALS35", "test"] == "one model" and inter.loc["BASEALS35", "df"] > 100
    assert inter.loc["BASEALS35", "estimate"] > 0  # effect(>= 35) - effect(< 35): levels sort "< 35" first
    assert inter.loc["SEX", "p_value"] > 0.01  # no effect modification by sex was simulated
    assert "exploratory" in str(result).lower()


def test_levels_and_thresholds() -> None:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["a", "b", "c", "d"],
            "BASEALS": [34.0, 35.0, None, 40.0],
            "RILUZFL": [True, False, True, False],
            "SEX": ["F", "M", "M", None],
        }
    )
    cut = Subgroup(id="B", label="Baseline", variable="baseline_alsfrs_r", cutpoint=35)
    assert subgroup_levels(adsl, cut).tolist()[:2] == ["< 35", "≥ 35"]
    assert pd.isna(subgroup_levels(adsl, cut)["c"])
    assert subgroup_levels(adsl, Subgroup(id="R", label="R", variable="riluzole")).tolist() == [
        "yes",
        "no",
        "yes",
        "no",
    ]
    assert [s.cutpoint for s in threshold_subgroups([26, 28])] == [26, 28]

    def analysis(ids: pd.Index) -> dict[str, object]:
        if "d" in ids:
            raise ValueError("too few")
        return {"n": len(ids), "estimate": 1.0, "std_error": 0.5, "ci_lower": 0.0, "ci_upper": 2.0, "p_value": 0.05}

    res = run_subgroups(adsl, [cut, Subgroup(id="S", label="Sex", variable="sex")], {"x": analysis})
    # a failing level is recorded with its error, and its interaction is then not tested
    base = res.rows[res.rows["subgroup"] == "B"].set_index("level")
    assert base.loc["≥ 35", "error"] == "ValueError: too few" and pd.isna(base.loc["≥ 35", "estimate"])
    inter = res.interactions.set_index("subgroup")
    assert inter.loc["B", "error"] == "a level could not be analysed"
    assert inter.loc["S", "p_value"] == pytest.approx(1.0) and inter.loc["S", "z"] == 0  # equal level estimates


def test_a_one_model_interaction_test_replaces_the_z_test_and_its_failure_is_recorded() -> None:
    adsl = pd.DataFrame({"USUBJID": list("abcd"), "SEX": ["F", "M", "F", "M"]})
    sex = Subgroup(id="S", label="Sex", variable="sex")

    def analysis(ids: pd.Index) -> dict[str, object]:
        return {"n": len(ids), "estimate": 1.0, "std_error": 0.5, "ci_lower": 0.0, "ci_upper": 2.0, "p_value": 0.05}

    seen: list[pd.Series] = []

    def one_model(levels: pd.Series) -> dict[str, object]:
        seen.append(levels)
        return {"estimate": 0.7, "std_error": 0.35, "statistic": 2.0, "df": 40.0, "p_value": 0.052}

    res = run_subgroups(adsl, [sex], {"x": analysis, "y": analysis}, interaction_tests={"x": one_model})
    inter = res.interactions.set_index("analysis")
    assert inter.loc["x", "test"] == "one model" and inter.loc["x", "p_value"] == 0.052 and inter.loc["x", "df"] == 40
    assert inter.loc["y", "test"] == "z-test" and inter.loc["y", "statistic"] == 0 and pd.isna(inter.loc["y", "df"])
    assert seen[0].to_dict() == {"a": "F", "b": "M", "c": "F", "d": "M"}  # every participant's level, one call

    def broken(levels: pd.Series) -> dict[str, object]:
        raise ValueError("singular")

    res = run_subgroups(adsl, [sex], {"x": analysis}, interaction_tests={"x": broken})
    row = res.interactions.iloc[0]
    assert row["error"] == "ValueError: singular" and row["p_value"] is None


def test_the_plan_tests_the_responder_interaction_in_one_logistic_model() -> None:
    full = load_protocol()
    protocol: Protocol = full.model_copy(
        update={
            "endpoints": [e for e in full.endpoints if e.method == "responder"],
            "subgroups": [s for s in full.subgroups if s.id in ("BASEALS35", "ONSET", "RILUZOLE")],
            "analysis": full.analysis.model_copy(update={"baseline_thresholds": []}),
        }
    )
    cohort = simulate_cohort(SimulationParams(), n=240, seed=8, arms=("PBO", "MSC"), control_arm="PBO")
    sub = AnalysisPlan(protocol, imputations=2).subgroups(datasets_from_cohort(cohort, protocol))
    assert sub is not None
    inter = sub.interactions.set_index("subgroup")
    for sg in ("BASEALS35", "ONSET", "RILUZOLE"):
        # onset region and riluzole are also covariates of the responder model: nested in their own
        # subgroup, they are dropped from that subgroup's interaction model instead of making it singular
        assert inter.loc[sg, "error"] is None, inter.loc[sg, "error"]
        assert inter.loc[sg, "test"] == "one model" and pd.isna(inter.loc[sg, "df"])
        assert 0 < inter.loc[sg, "p_value"] <= 1


def test_the_mmrm_subgroup_fits_adjust_for_the_stratum_wherever_it_varies(monkeypatch) -> None:
    """The primary model's stratum (ALSFRS-R band, < 35 / >= 35) is adjusted for in the interaction
    model and in each level's own fit, except where it cannot vary: the >= 35 subgroup is the stratum
    itself, and its levels are each one band."""
    import alstrial.analysis.plan as plan_module

    full = load_protocol()
    protocol: Protocol = full.model_copy(
        update={
            "endpoints": [e for e in full.endpoints if e.method == "mmrm_change"],
            "subgroups": [s for s in full.subgroups if s.id in ("BASEALS35", "SEX")],
            "analysis": full.analysis.model_copy(update={"baseline_thresholds": [30.0]}),
        }
    )
    interaction_strata: list[tuple[str, ...]] = []
    level_strata: list[tuple[str, ...]] = []
    real_interaction, real_change = plan_module.subgroup_interaction_mmrm, AnalysisPlan.mmrm_change

    def spy_interaction(*args, **kwargs):  # type: ignore[no-untyped-def]
        interaction_strata.append(tuple(kwargs["strata"]))
        return real_interaction(*args, **kwargs)

    def spy_change(self, endpoint, adqs, ds, *, strata=("ALSBAND",)):  # type: ignore[no-untyped-def]
        level_strata.append(tuple(strata))
        return real_change(self, endpoint, adqs, ds, strata=strata)

    monkeypatch.setattr(plan_module, "subgroup_interaction_mmrm", spy_interaction)
    monkeypatch.setattr(AnalysisPlan, "mmrm_change", spy_change)
    cohort = simulate_cohort(SimulationParams(), n=200, seed=3, arms=("PBO", "MSC"), control_arm="PBO")
    sub = AnalysisPlan(protocol, imputations=2).subgroups(datasets_from_cohort(cohort, protocol))
    assert sub is not None
    # subgroups in order: BASEALS35, SEX, baseline >= 30
    assert interaction_strata == [(), ("ALSBAND",), ("ALSBAND",)]
    # levels: < 35, >= 35 | F, M | < 30, >= 30 (all of < 30 is one band; >= 30 spans both)
    assert level_strata == [(), (), ("ALSBAND",), ("ALSBAND",), (), ("ALSBAND",)]
    assert sub.interactions["error"].isna().all(), sub.interactions["error"]

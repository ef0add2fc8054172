"""One pre-treatment slope: the protocol's rule, used by both analysis paths and the plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.analysis.plan import AnalysisPlan
from alstrial.analysis.slope_rule import slope_rule
from alstrial.design.cohort_datasets import datasets_from_cohort
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol
from alstrial.simulate.cohort import simulate_cohort
from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.responder_slopes import SlopeRule, pre_treatment_slopes

MONTH = 365.25 / 12


def _with_rule(protocol: Protocol, **parameters: str) -> Protocol:
    endpoints = [
        e.model_copy(update={"parameters": {**e.parameters, **parameters}}) if e.method == "responder" else e
        for e in protocol.endpoints
    ]
    return protocol.model_copy(update={"endpoints": endpoints})


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


@pytest.fixture(scope="module")
def cohort(protocol: Protocol):  # type: ignore[no-untyped-def]
    codes = [a.code for a in protocol.arms]
    return simulate_cohort(protocol.simulation, 60, seed=5, arms=codes, control_arm=codes[-1])


def test_default_rule_is_least_squares_and_excludes_missing_post(protocol: Protocol) -> None:
    rule = slope_rule(protocol)
    assert rule == SlopeRule("least_squares", "least_squares", "exclude")
    assert "least squares" in str(rule)


@pytest.mark.parametrize("method", ["least_squares", "two_point", "onset_dfs"])
def test_cohort_path_preslope_equals_the_plan_and_a_hand_computation(protocol: Protocol, cohort, method: str) -> None:  # type: ignore[no-untyped-def]
    proto = _with_rule(protocol, pre_slope_method=method)
    ds = datasets_from_cohort(cohort, proto)
    adsl = ds.adsl.set_index("USUBJID")["PRESLOPE"]
    plan = AnalysisPlan(proto).slopes(ds)["pre_slope"]
    pd.testing.assert_series_equal(adsl.reindex(plan.index), plan, check_names=False)
    p = cohort.participants.set_index("id")
    for pid, g in cohort.visits[cohort.visits["day"] <= 0].groupby("id"):
        if method == "least_squares":
            expect = np.polyfit(g["day"] / MONTH, g["total"], 1)[0]
        elif method == "two_point":
            expect = (g["total"].iloc[-1] - g["total"].iloc[0]) / ((g["day"].iloc[-1] - g["day"].iloc[0]) / MONTH)
        else:
            expect = -(48 - p.loc[pid, "baseline_total"]) / p.loc[pid, "months_since_onset"]
        assert adsl[pid] == pytest.approx(expect, abs=1e-9)


def test_simulator_reports_the_same_preslope_as_the_analysis(protocol: Protocol, cohort) -> None:  # type: ignore[no-untyped-def]
    ds = datasets_from_cohort(cohort, protocol)
    adsl = ds.adsl.set_index("USUBJID")["PRESLOPE"]
    sim = cohort.participants.set_index("id")["pre_slope"]
    np.testing.assert_allclose(sim.reindex(adsl.index).to_numpy(), adsl.to_numpy(), atol=1e-12)


def test_store_and_cohort_paths_give_the_same_slope_for_the_same_data() -> None:
    # the two paths hand the same long data (subject, day, total) to one function
    long = pd.DataFrame(
        {"id": ["a"] * 3 + ["b"] * 3, "day": [-90, -35, 0, -88, -36, 0], "total": [40, 36, 35, 30, 30, 27]}
    )
    for method in ("least_squares", "two_point"):
        rule = SlopeRule(pre_method=method)  # type: ignore[arg-type]
        a = pre_treatment_slopes(long, rule, subject="id", day="day", score="total")
        b = pre_treatment_slopes(
            long.rename(columns={"id": "participant_id", "day": "study_day"}),
            rule,
            subject="participant_id",
            day="study_day",
            score="total",
        )
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy())
    ls = pre_treatment_slopes(long, SlopeRule(), subject="id", day="day", score="total")
    assert ls["a"] == pytest.approx(np.polyfit(np.array([-90, -35, 0]) / MONTH, [40, 36, 35], 1)[0])


def test_missing_post_rule_reaches_the_responder_analysis(protocol: Protocol) -> None:
    assert slope_rule(_with_rule(protocol, missing_post_slope="nonresponder")).missing_post == "nonresponder"


@pytest.mark.parametrize(
    ("key", "value"),
    [("pre_slope_method", "cubic"), ("post_slope_method", "onset_dfs"), ("missing_post_slope", "impute")],
)
def test_bad_rule_is_a_clear_error(protocol: Protocol, key: str, value: str) -> None:
    with pytest.raises(EndpointDataError, match=f"invalid value for {key}.*{value}"):
        slope_rule(_with_rule(protocol, **{key: value}))
